"""The Redis replay store behind Sentinel, on real redis-server processes on 127.0.0.1.

- the ``redis+sentinel://`` URL: parsed strictly (a table and a property test), never
  echoing a password;
- every way of naming a Sentinel-managed master (URL, ``Sentinel.master_for`` sync and
  asyncio) behind the WSGI and ASGI adapters: deliveries claimed on the master,
  duplicates acknowledged; clients that can never work refused at start-up;
- ``problems()`` looks at the master and at every replica the Sentinels know;
- failover: the master is killed mid-run; requests get 503 (never the app) until the
  replica is promoted, then service resumes on the new master by itself;
- a read-only node (a failover without Sentinel) is a store error, not an old server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio.sentinel
import redis.sentinel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import free_port
from tests.stores.redis_topologies import (
    PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE,
    RedisProcess,
    SentinelTopology,
    close_client,
    close_store,
    sentinel_client,
    sentinel_topology,
    sentinel_url,
    wait_until,
)
from tests.stores.test_contract import (
    App,
    claim_burst,
    deliver,
    routes,
    wrap,
)
from webhook_guard import ConfigurationError, Guard, StoreError, WebhookGuardWarning
from webhook_guard.stores import Claim, store_from_url
from webhook_guard.stores.redis import RedisReplayStore, RedisTopology, _blocking_sentinel_pool

pytestmark = pytest.mark.anyio

#: Upper bound for a whole failover (kill → service resumed); it takes about 1-2 s here.
FAILOVER_DEADLINE = 20.0
#: Upper bound from the promotion (the replica reports role master) to the first 200: the
#: Sentinel announces the new master up to about 1 s later, the guard rests the store 1 s
#: after each failure, plus a reconnect (about 2 s here; the margin is for a busy machine).
RESUME_AFTER_PROMOTION = 5.0



# -- the URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "redis+sentinel://s1:26380,s2/mymaster",
            RedisTopology("sentinel", (("s1", 26380), ("s2", 26379)), "mymaster", 0, None, None),
            id="hosts-default-port-default-db",
        ),
        pytest.param(
            "redis+sentinel://:p%40ss%2Fw@10.0.0.1/cache/3",
            RedisTopology("sentinel", (("10.0.0.1", 26379),), "cache", 3, None, "p@ss/w"),
            id="password-percent-encoded-and-db",
        ),
        pytest.param(
            "redis+sentinel://guard:pw@[::1]:5000/m/",
            RedisTopology("sentinel", (("::1", 5000),), "m", 0, "guard", "pw"),
            id="acl-user-ipv6-trailing-slash",
        ),
        pytest.param(
            "REDIS+SENTINEL://h/my%20master?socket_timeout=0.25&sentinel_password=s%26p"
            "&sentinel_username=sen&socket_connect_timeout=2",
            RedisTopology(
                "sentinel",
                (("h", 26379),),
                "my master",
                0,
                None,
                None,
                (
                    ("sentinel_password", "s&p"),
                    ("sentinel_username", "sen"),
                    ("socket_connect_timeout", 2.0),
                    ("socket_timeout", 0.25),
                ),
            ),
            id="options",
        ),
    ],
)
def test_sentinel_url_parses(url: str, expected: RedisTopology) -> None:
    assert RedisTopology.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("redis+sentinel://h", id="no-service"),
        pytest.param("redis+sentinel://h/", id="empty-service"),
        pytest.param("redis+sentinel://h/m/x", id="db-not-a-number"),
        pytest.param("redis+sentinel://h/m/0/1", id="too-many-segments"),
        pytest.param("redis+sentinel://h:0/m", id="port-zero"),
        pytest.param("redis+sentinel://h:65536/m", id="port-too-large"),
        pytest.param("redis+sentinel://h:/m", id="port-empty"),
        pytest.param("redis+sentinel://h,,h2/m", id="empty-host"),
        pytest.param("redis+sentinel:///m", id="no-host"),
        pytest.param("redis+sentinel://h h/m", id="space-in-host"),
        pytest.param("redis+sentinel://[::1/m", id="unclosed-ipv6"),
        pytest.param("redis+sentinel://h/m?db=1", id="unknown-option"),
        pytest.param("redis+sentinel://h/m?socket_timeout=0", id="zero-timeout"),
        pytest.param("redis+sentinel://h/m?socket_timeout=inf", id="infinite-timeout"),
        pytest.param("redis+sentinel://h/m?socket_timeout=1&socket_timeout=2", id="twice"),
        pytest.param("redis+sentinel://h/m?socket_timeout", id="malformed-query"),
        pytest.param("redis+sentinel://h/m#frag", id="fragment"),
    ],
)
def test_bad_sentinel_url_is_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        store_from_url(url)
    assert info.value.code == "webhook_guard.E008"


def test_url_errors_and_repr_never_show_passwords() -> None:
    url = "redis+sentinel://:data-secret@h:1/m/0?sentinel_password=sentinel-secret&bad=1"
    with pytest.raises(ConfigurationError) as info:
        store_from_url(url)
    assert "secret" not in str(info.value)
    with pytest.raises(ConfigurationError) as unknown:
        store_from_url("memcached://user:data-secret@h:1")
    assert "secret" not in str(unknown.value)
    store = store_from_url(url.replace("&bad=1", ""))
    assert "secret" not in repr(store)
    assert repr(store) == "RedisReplayStore('redis+sentinel://h:1/m/0')"


hosts = st.lists(
    st.tuples(
        st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True),
        st.one_of(st.none(), st.integers(1, 65535)),
    ),
    min_size=1,
    max_size=4,
)
secret_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=hosts,
    service=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1),
    db=st.integers(0, 99999),
    username=secret_text,
    password=secret_text,
)
def test_sentinel_url_round_trip(
    nodes: list[tuple[str, int | None]], service: str, db: int, username: str, password: str
) -> None:
    from urllib.parse import quote

    netloc = ",".join(host if port is None else f"{host}:{port}" for host, port in nodes)
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}@"
    url = f"redis+sentinel://{userinfo}{netloc}/{quote(service, safe='')}/{db}"
    parsed = RedisTopology.parse(url)
    assert parsed.nodes == tuple((h, 26379 if p is None else p) for h, p in nodes)
    assert (parsed.service, parsed.db) == (service, db)
    assert (parsed.username, parsed.password) == (username or None, password or None)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["redis+sentinel://", "redis+cluster://"]))
def test_any_url_parses_or_is_configuration_error(rest: str, scheme: str) -> None:
    try:
        parsed = RedisTopology.parse(scheme + rest)
    except ConfigurationError as exc:
        code = exc.code
    else:
        code = None
        assert parsed.nodes
        assert all(0 < port < 65536 for _, port in parsed.nodes)
    assert code in (None, "webhook_guard.E008")


# -- clients that can never hold claims --------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "as_async"),
    [
        pytest.param(lambda: redis.sentinel.Sentinel([("127.0.0.1", 1)]), False, id="sentinel"),
        pytest.param(
            lambda: redis.asyncio.sentinel.Sentinel([("127.0.0.1", 1)]), True, id="async-sentinel"
        ),
        pytest.param(
            lambda: redis.sentinel.Sentinel([("127.0.0.1", 1)]).slave_for("m"),
            False,
            id="replica-client",
        ),
        pytest.param(lambda: redis.Redis(port=1), True, id="sync-client-as-async"),
        pytest.param(lambda: redis.asyncio.Redis(port=1), False, id="async-client-as-sync"),
        pytest.param(lambda: redis.ConnectionPool(port=1), False, id="a-pool"),
    ],
)
async def test_unusable_client_is_configuration_error(make: Any, as_async: bool) -> None:
    client = make()
    given = {"async_client" if as_async else "client": client}
    with pytest.raises(ConfigurationError) as info:
        RedisReplayStore(**given)
    assert info.value.code == "webhook_guard.E008"
    if isinstance(client, redis.asyncio.Redis):
        await client.aclose()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: redis.sentinel.Sentinel([("127.0.0.1", 1)]), id="sentinel"),
        pytest.param(lambda: redis.asyncio.sentinel.Sentinel([("127.0.0.1", 1)]), id="async"),
    ],
)
def test_guard_refuses_a_sentinel_manager(make: Any) -> None:
    with pytest.raises(ConfigurationError, match="master_for"):
        Guard(routes(), replay_store=make())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "asyncio"])
async def test_master_for_clients_are_recognised(asynchronous: bool) -> None:
    """``Guard`` tells a sync from an asyncio ``master_for`` client (no server needed)."""
    module = redis.asyncio.sentinel if asynchronous else redis.sentinel
    client = module.Sentinel([("127.0.0.1", free_port())]).master_for(SERVICE)
    guard = Guard(routes(), replay_store=client, check_store=False)
    store = guard.store
    assert isinstance(store, RedisReplayStore)
    assert (store._async_client if asynchronous else store._client) is client
    assert store.usable(asynchronous=asynchronous)
    assert not store.usable(asynchronous=not asynchronous)
    again = RedisReplayStore.from_client(client)
    assert again.usable(asynchronous=asynchronous)
    assert not again.usable(asynchronous=not asynchronous)
    await close_client(client)


# -- a healthy Sentinel setup -------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology() -> Iterator[SentinelTopology]:
    with sentinel_topology() as started:
        yield started


@pytest.fixture
def sentinel(topology: SentinelTopology) -> SentinelTopology:
    topology.flush()
    return topology


def stored(topology: SentinelTopology, port: int | None = None) -> dict[bytes, bytes]:
    client = topology.node(port or topology.master_port()).client()
    try:
        return {key: client.get(key) for key in client.keys("webhook_guard:*")}
    finally:
        client.close()


@pytest.mark.server
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("given", ["url", "master_for"])
async def test_guard_with_sentinel(sentinel: SentinelTopology, adapter: str, given: str) -> None:
    if given == "url":
        replay_store: Any = sentinel_url(sentinel)
    else:
        replay_store = sentinel_client(sentinel, asynchronous=adapter == "asgi")
    guard = Guard(routes(), replay_store=replay_store)
    app = App("none")
    wrapped = wrap(guard, adapter, app)
    try:
        bodies = [b'{"n":%d}' % i for i in range(5)]
        for body in bodies:
            response = await deliver(adapter, wrapped, body)
            assert response.json() == {"app": 200}
        for body in bodies:
            copy = await deliver(adapter, wrapped, body)
            assert copy.status == 200
            assert copy.json()["status"] == "duplicate"
        assert app.successes == len(bodies)
        on_master = stored(sentinel)
        assert len(on_master) == len(bodies)
        assert set(on_master.values()) == {b"done"}
        # replicated (asynchronously) to the replica that a failover would promote
        wait_until("replication", lambda: len(stored(sentinel, sentinel.replica.port)) == 5, 5)
    finally:
        assert isinstance(guard.store, RedisReplayStore)
        await close_store(guard.store)


@pytest.mark.server
async def test_url_skips_a_dead_sentinel(sentinel: SentinelTopology) -> None:
    hosts = f"127.0.0.1:{free_port()},127.0.0.1:{sentinel.sentinel.port}"
    store = RedisReplayStore(sentinel_url(sentinel, hosts=hosts))
    try:
        started = time.monotonic()
        store.ping()
        assert time.monotonic() - started < 1.0  # skipped at once, not retried with back-off
        assert store.claim("k", 60) is Claim.NEW
        assert await store.aclaim("k", 60) is Claim.IN_FLIGHT
    finally:
        await close_store(store)


@pytest.mark.server
@pytest.mark.parametrize(
    ("password", "sentinel_password"),
    [
        pytest.param("wrong", SENTINEL_PASSWORD, id="wrong-data-password"),
        pytest.param(PASSWORD, "wrong", id="wrong-sentinel-password"),
        pytest.param(PASSWORD, "", id="no-sentinel-password"),
    ],
)
async def test_bad_credentials_are_store_errors(
    sentinel: SentinelTopology, password: str, sentinel_password: str
) -> None:
    url = sentinel_url(sentinel, password=password, sentinel_password=sentinel_password)
    store = RedisReplayStore(url.replace("sentinel_password=&", ""))
    try:
        with pytest.raises(StoreError):
            store.ping()
        with pytest.raises(StoreError):
            store.claim("k", 60)
        with pytest.raises(StoreError):
            await store.aclaim("k", 60)
        with pytest.warns(WebhookGuardWarning, match="does not answer"):
            Guard(routes(), replay_store=store)
    finally:
        await close_store(store)


@pytest.mark.server
@pytest.mark.parametrize("node", ["master", "replica"])
async def test_problems_names_an_evicting_master_or_replica(
    sentinel: SentinelTopology, node: str
) -> None:
    evicting = sentinel.master if node == "master" else sentinel.replica
    store = RedisReplayStore(sentinel_url(sentinel))
    try:
        assert store.problems() == []
        evicting.command("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        [problem] = store.problems()
        assert "'allkeys-lru'" in problem
        assert (f"replica 127.0.0.1:{evicting.port}" in problem) == (node == "replica")
        client = sentinel_client(sentinel, asynchronous=False)
        with pytest.warns(WebhookGuardWarning, match="allkeys-lru"):
            Guard(routes(), replay_store=client)
        await close_client(client)
    finally:
        evicting.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        await close_store(store)


@pytest.mark.server
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_burst_above_pool_size_waits_for_a_connection(
    sentinel: SentinelTopology, mode: str
) -> None:
    """The Sentinel pool made from a URL queues a burst like the one-node pool does."""
    if _blocking_sentinel_pool(redis, asynchronous=mode == "async") is None:
        pytest.skip("this redis-py's pools do not combine: a burst above the pool gets 503")
    store = RedisReplayStore(sentinel_url(sentinel), max_connections=4, timeout=2.0)
    burst = 40
    try:
        if mode == "async":
            results = await asyncio.gather(
                *(store.aclaim("burst", 60) for _ in range(burst)), return_exceptions=True
            )
            pool = store.async_client().connection_pool
        else:
            results = claim_burst(store, "burst", burst, 60)
            pool = store.sync_client().connection_pool
        assert [r for r in results if not isinstance(r, Claim)] == []
        assert results.count(Claim.NEW) == 1
        assert results.count(Claim.IN_FLIGHT) == burst - 1
        if mode == "sync":
            assert len(pool._connections) <= 4
        else:
            assert len(pool._available_connections) + len(pool._in_use_connections) <= 4
    finally:
        await close_store(store)


# -- failover ------------------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_failover_refuses_then_resumes_on_the_new_master(adapter: str) -> None:
    """Kill the master mid-run: 503 (the app never reached) until the Sentinel promotes
    the replica, then 200 again from the same guards, with claims on the new master."""
    with sentinel_topology() as topology:
        guards = {
            "url": Guard(routes(), replay_store=sentinel_url(topology)),
            "master_for": Guard(
                routes(),
                replay_store=sentinel_client(topology, asynchronous=adapter == "asgi"),
            ),
        }
        apps = {name: App("none") for name in guards}
        wrapped = {name: wrap(guard, adapter, apps[name]) for name, guard in guards.items()}
        probe = RedisReplayStore(sentinel_url(topology))  # asked directly: the causes
        try:
            await _failover(adapter, topology, wrapped, apps, probe)
        finally:
            await close_store(probe)
            for guard in guards.values():
                assert isinstance(guard.store, RedisReplayStore)
                await close_store(guard.store)


async def _failover(
    adapter: str,
    topology: SentinelTopology,
    wrapped: dict[str, Any],
    apps: dict[str, App],
    probe: RedisReplayStore,
) -> None:
    before = {name: b'{"before":"%s"}' % name.encode() for name in wrapped}
    for name, body in before.items():
        assert (await deliver(adapter, wrapped[name], body)).json() == {"app": 200}
        assert (await deliver(adapter, wrapped[name], body)).json()["status"] == "duplicate"
    # make sure the replica has these claims, so they survive the failover below
    assert topology.master.command("WAIT", 1, 2000) == 1
    old_port = topology.master_port()

    killed = time.monotonic()
    topology.master.kill()
    refused = dict.fromkeys(wrapped, 0)
    resumed: dict[str, tuple[float, bytes]] = {}
    promoted: float | None = None  # the replica says it is the master
    announced: float | None = None  # the Sentinel names it (what clients ask)
    causes: set[str] = set()  # why the store refused, as the store reports it
    attempt = 0
    while len(resumed) < len(wrapped):
        now = time.monotonic()
        assert now - killed < FAILOVER_DEADLINE, f"no failover within {FAILOVER_DEADLINE} s"
        try:
            if adapter == "wsgi":
                probe.claim(f"probe-{attempt}", 60)
            else:
                await probe.aclaim(f"probe-{attempt}", 60)
        except StoreError as exc:
            causes.add(type(exc.__cause__).__name__)
        if promoted is None and topology.replica.info("replication")["role"] == "master":
            promoted = now
        if announced is None and topology.master_port() != old_port:
            announced = now
        for name in wrapped:
            if name in resumed:
                continue
            body = b'{"during":"%s-%d"}' % (name.encode(), attempt)
            calls = apps[name].calls
            response = await deliver(adapter, wrapped[name], body)
            if response.status == 503:
                assert response.json()["error"] == "store_unavailable"
                assert int(response.headers["retry-after"]) > 0
                assert apps[name].calls == calls  # refused before the app
                refused[name] += 1
            else:
                assert response.status == 200
                assert response.json() == {"app": 200}
                resumed[name] = (time.monotonic(), body)
        attempt += 1
        await asyncio.sleep(0.05)

    assert promoted is not None, "service resumed before the replica was promoted"
    assert announced is not None, "service resumed before the Sentinel named a new master"
    new_port = topology.master_port()
    assert new_port == topology.replica.port
    assert all(count > 0 for count in refused.values()), refused  # the 503 window existed
    for name, (at, body) in resumed.items():
        assert at - promoted < RESUME_AFTER_PROMOTION, (name, at - promoted)
        # the post-failover claim is on the new master, and its copy is a duplicate
        assert (await deliver(adapter, wrapped[name], body)).json()["status"] == "duplicate"
        # a claim the old master had replicated survived the failover
        copy = await deliver(adapter, wrapped[name], before[name])
        assert copy.json()["status"] == "duplicate"
        assert apps[name].successes == 2
    assert causes, "the store never refused"
    assert causes <= {"ConnectionError", "MasterNotFoundError", "TimeoutError"}, causes
    on_new_master = stored(topology, new_port)
    assert sorted(v for k, v in on_new_master.items() if b"probe" not in k) == [b"done"] * 4
    last = max(at for at, _ in resumed.values())
    print(
        f"\nSentinel failover ({adapter}) after the kill: replica promoted at "
        f"{promoted - killed:.2f} s, named by the Sentinel at {announced - killed:.2f} s, "
        f"first 200 at {last - killed:.2f} s; 503s: {refused}; causes: {sorted(causes)}"
    )


# -- a read-only node (failover without Sentinel) -------------------------------------------------


@pytest.fixture
def pair(tmp_path: Any) -> Iterator[tuple[RedisProcess, RedisProcess]]:
    """A master and its replica, no Sentinel."""
    topology = SentinelTopology(tmp_path)
    master, replica = topology.master, topology.replica
    try:
        master.start()
        replica.start()
        wait_until(
            "the replica to sync", lambda: replica.info("replication")["master_link_status"] == "up"
        )
        yield master, replica
    finally:
        replica.stop()
        master.stop()


@pytest.mark.server
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_read_only_replica_is_a_store_error_not_an_old_server(
    pair: tuple[RedisProcess, RedisProcess], mode: str
) -> None:
    """A ``redis://`` store on a node that became a replica (a manual failover, a DNS name
    now pointing at a replica): ``READONLY`` is a store error (503); it does not switch the
    store to the two-command claim meant for Redis < 7.0."""
    _master, replica = pair
    url = f"redis://:{PASSWORD}@127.0.0.1:{replica.port}/0"
    store = RedisReplayStore(url)

    async def claim(key: str) -> Claim:
        return store.claim(key, 60) if mode == "sync" else await store.aclaim(key, 60)

    try:
        with pytest.raises(StoreError) as info:
            await claim("k")
        assert isinstance(info.value.__cause__, redis.exceptions.ReadOnlyError)
        assert any("is a replica" in problem for problem in store.problems())
        replica.command("REPLICAOF", "NO", "ONE")  # promoted
        replica.command("CONFIG", "RESETSTAT")
        assert await claim("k") is Claim.NEW
        assert await claim("k") is Claim.IN_FLIGHT
        stats = replica.info("commandstats")
        assert stats["cmdstat_set"]["calls"] == 2
        assert "cmdstat_get" not in stats  # still one SET ... NX GET per claim
        assert store.problems() == []
    finally:
        await close_store(store)


@pytest.mark.server
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_master_refusing_writes_without_replicas_is_a_store_error(
    sentinel: SentinelTopology, mode: str
) -> None:
    """``min-replicas-to-write`` (the README's advice to bound what a failover can lose):
    when too few replicas are connected, the master answers ``NOREPLICAS`` to each claim,
    a store error (503), and the one-command claim stays in use."""
    store = RedisReplayStore(sentinel_url(sentinel))
    sentinel.master.command("CONFIG", "SET", "min-replicas-to-write", "2")  # it has one
    try:
        with pytest.raises(StoreError) as info:
            store.claim("k", 60) if mode == "sync" else await store.aclaim("k", 60)
        assert "NOREPLICAS" in str(info.value.__cause__)
        assert store._set_get
    finally:
        sentinel.master.command("CONFIG", "SET", "min-replicas-to-write", "0")
    try:
        assert (store.claim("k", 60) if mode == "sync" else await store.aclaim("k", 60)) is (
            Claim.NEW
        )
    finally:
        await close_store(store)
