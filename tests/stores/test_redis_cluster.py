"""The Redis replay store on Redis Cluster, on real redis-server processes on 127.0.0.1.

- the ``redis+cluster://`` URL: parsed strictly;
- a ``RedisCluster`` client (sync and asyncio) and the URL behind the WSGI and ASGI
  adapters: many deliveries spread over every node's slots, each processed once, copies
  acknowledged as duplicates; 50 concurrent copies of one delivery reach the app once;
- every command touches one key: no multi-key command, no ``MULTI``; the one script
  (release, and a commit with no time left) reads and deletes its one key;
- ``problems()`` looks at every node; a one-node ``redis://`` URL on a cluster node is
  reported (and fails closed);
- a node that dies: its keys get 503 (``ConnectionError``, then ``CLUSTERDOWN``), never
  the app; service resumes by itself when it is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio.cluster
import redis.cluster

from tests.conftest import free_port
from tests.stores.redis_topologies import (
    PASSWORD,
    ClusterTopology,
    close_client,
    close_store,
    cluster_client,
    cluster_topology,
    wait_until,
)
from tests.stores.test_contract import (
    PATH,
    App,
    call_asgi,
    call_wsgi,
    deliver,
    in_threads,
    routes,
    signed,
    wrap,
)
from webhook_guard import ConfigurationError, Guard, StoreError, WebhookGuardWarning
from webhook_guard.stores import Claim, store_from_url
from webhook_guard.stores.redis import RedisReplayStore, RedisTopology

pytestmark = pytest.mark.anyio

DELIVERIES = 60
CONCURRENCY = 50
#: Upper bound for the cluster to mark a dead node failed, and to recover once it is back.
CLUSTER_DEADLINE = 15.0



# -- the URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "redis+cluster://n1,n2:7001",
            RedisTopology("cluster", (("n1", 6379), ("n2", 7001)), None, 0, None, None),
            id="hosts-default-port",
        ),
        pytest.param(
            "redis+cluster://guard:p%3Aw@[fe80::1]:7000/0",
            RedisTopology("cluster", (("fe80::1", 7000),), None, 0, "guard", "p:w"),
            id="acl-user-ipv6-db0",
        ),
        pytest.param(
            "redis+cluster://:pw@n1/?socket_timeout=0.5",
            RedisTopology(
                "cluster", (("n1", 6379),), None, 0, None, "pw", (("socket_timeout", 0.5),)
            ),
            id="password-trailing-slash-option",
        ),
    ],
)
def test_cluster_url_parses(url: str, expected: RedisTopology) -> None:
    assert RedisTopology.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("redis+cluster://n1/1", id="db-not-0"),
        pytest.param("redis+cluster://n1/0/0", id="too-many-segments"),
        pytest.param("redis+cluster://n1?sentinel_password=x", id="sentinel-option"),
        pytest.param("redis+cluster://n1:99999", id="bad-port"),
        pytest.param("redis+cluster://", id="no-host"),
    ],
)
def test_bad_cluster_url_is_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        store_from_url(url)
    assert info.value.code == "webhook_guard.E008"


async def test_unreachable_cluster_is_a_store_error() -> None:
    """No node answers: redis-py raises ``RedisClusterException`` (not a ``RedisError``);
    the store turns it into ``StoreError`` like any other failure."""
    store = RedisReplayStore(f"redis+cluster://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(StoreError):
            store.ping()
        with pytest.raises(StoreError):
            store.claim("k", 60)
        with pytest.raises(StoreError):
            await store.aclaim("k", 60)
        with pytest.warns(WebhookGuardWarning, match="does not answer"):
            guard = Guard(routes(), replay_store=store)
        app = App("none")
        response = await deliver("wsgi", wrap(guard, "wsgi", app), b'{"n":0}')
        assert response.status == 503
        assert app.calls == 0
    finally:
        await close_store(store)


# -- a healthy cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology() -> Iterator[ClusterTopology]:
    with cluster_topology() as started:
        yield started


@pytest.fixture
def cluster(topology: ClusterTopology) -> ClusterTopology:
    topology.flush()
    return topology


def replay_store(cluster: ClusterTopology, given: str, adapter: str) -> Any:
    if given == "url":
        return cluster.url()
    return cluster_client(cluster, asynchronous=adapter == "asgi")


@pytest.mark.server
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("given", ["url", "client"])
async def test_deliveries_spread_over_slots_each_once(
    cluster: ClusterTopology, adapter: str, given: str
) -> None:
    guard = Guard(routes(), replay_store=replay_store(cluster, given, adapter))
    app = App("none")
    wrapped = wrap(guard, adapter, app)
    cluster.nodes[0].command("CONFIG", "RESETSTAT")
    try:
        bodies = [b'{"delivery":%d}' % i for i in range(DELIVERIES)]
        for body in bodies:
            assert (await deliver(adapter, wrapped, body)).json() == {"app": 200}
        for body in bodies:
            copy = await deliver(adapter, wrapped, body)
            assert copy.status == 200
            assert copy.json()["status"] == "duplicate"
        assert app.successes == DELIVERIES
        counts = cluster.key_counts()
        assert sum(counts) == DELIVERIES
        assert all(count > 0 for count in counts), counts  # every node holds some keys
        _assert_single_key_commands(cluster.nodes[0].info("commandstats"))
    finally:
        assert isinstance(guard.store, RedisReplayStore)
        await close_store(guard.store)


#: Connection set-up and the tests' own inspection, not the store's data commands.
HOUSEKEEPING = (
    "hello",
    "auth",
    "ping",
    "info",
    "dbsize",
    "config|",
    "client|",
    "cluster|",
    "command",
)


def _assert_single_key_commands(stats: dict[str, Any]) -> None:
    """The store's data commands were SET (claim, commit), GET and DEL (release) only:
    no MULTI/EXEC, no EVAL/FCALL, no MGET/MSET or other multi-key command."""
    used = {name.removeprefix("cmdstat_") for name in stats}
    data = {name for name in used if not name.startswith(HOUSEKEEPING)}
    assert "set" in data
    assert data <= {"set", "get", "del"}, data


class CountingApp:
    """A 200 endpoint that counts its calls across threads and tasks."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def hit(self) -> None:
        with self.lock:
            self.calls += 1

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        self.hit()
        time.sleep(0.01)  # still in flight while other copies arrive
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"processed"]

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        self.hit()
        await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"processed"})


@pytest.mark.server
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("given", ["url", "client"])
async def test_concurrent_copies_reach_the_app_once(
    cluster: ClusterTopology, adapter: str, given: str
) -> None:
    guard = Guard(routes(), replay_store=replay_store(cluster, given, adapter))
    app = CountingApp()
    wrapped = wrap(guard, adapter, app)
    body = b'{"contended":true}'
    try:
        if adapter == "asgi":
            responses = await asyncio.gather(
                *(call_asgi(wrapped, PATH, body, signed(body)) for _ in range(CONCURRENCY))
            )
        else:
            responses = in_threads(
                lambda: call_wsgi(wrapped, PATH, body, signed(body)), CONCURRENCY
            )
        assert len(responses) == CONCURRENCY
        assert app.calls == 1
        processed = [r for r in responses if r.body == b"processed"]
        assert len(processed) == 1
        others = [(r.status, r.json()) for r in responses if r.body != b"processed"]
        assert {status for status, _ in others} <= {200, 409}
        assert all(
            j.get("status") == "duplicate" or j.get("error") == "replayed" for _, j in others
        )
    finally:
        assert isinstance(guard.store, RedisReplayStore)
        await close_store(guard.store)


#: Fresh stores in the concurrency test: a burst on a client's first use raced redis-py's
#: slot discovery in about one run in three.
FRESH_STORES = 6


@pytest.mark.server
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_store_concurrent_claims_one_new(cluster: ClusterTopology, mode: str) -> None:
    """50 threads or tasks claim one key at once, on a fresh store (its first commands)."""
    for attempt in range(FRESH_STORES):
        store = RedisReplayStore(cluster.url())
        key = f"contended-{attempt}"
        try:
            if mode == "async":
                results = list(
                    await asyncio.gather(*(store.aclaim(key, 60) for _ in range(CONCURRENCY)))
                )
            else:
                results = in_threads(lambda key=key, store=store: store.claim(key, 60), CONCURRENCY)
            assert results.count(Claim.NEW) == 1
            assert results.count(Claim.IN_FLIGHT) == CONCURRENCY - 1
        finally:
            await close_store(store)


@pytest.mark.server
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "asyncio"])
async def test_cluster_clients_are_recognised(cluster: ClusterTopology, asynchronous: bool) -> None:
    client = cluster_client(cluster, asynchronous=asynchronous)
    try:
        guard = Guard(routes(), replay_store=client)
        store = guard.store
        assert isinstance(store, RedisReplayStore)
        assert (store._async_client if asynchronous else store._client) is client
        assert store.usable(asynchronous=asynchronous)
        assert not store.usable(asynchronous=not asynchronous)
        given = {"client" if asynchronous else "async_client": client}
        with pytest.raises(ConfigurationError, match=r"sync|asyncio"):
            RedisReplayStore(**given)
    finally:
        await close_client(client)


@pytest.mark.server
async def test_problems_names_an_evicting_node(cluster: ClusterTopology) -> None:
    store = RedisReplayStore(cluster.url())
    evicting = cluster.nodes[1]
    try:
        assert store.problems() == []
        evicting.command("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
        [problem] = store.problems()
        assert "'volatile-lru'" in problem
        assert f"cluster node 127.0.0.1:{evicting.port}" in problem
        client = cluster_client(cluster, asynchronous=False)
        with pytest.warns(WebhookGuardWarning, match="volatile-lru"):
            Guard(routes(), replay_store=client)
        await close_client(client)
    finally:
        evicting.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        await close_store(store)


@pytest.mark.server
async def test_one_node_url_on_a_cluster_node_is_reported_and_fails_closed(
    cluster: ClusterTopology,
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{cluster.nodes[0].port}/0"
    store = RedisReplayStore(url)
    with pytest.warns(WebhookGuardWarning, match="Redis Cluster node"):
        guard = Guard(routes(), replay_store=url)
    app = App("none")
    wrapped = wrap(guard, "wsgi", app)
    try:
        causes = []
        for i in range(12):
            try:
                assert store.claim(f"k{i}", 60) is Claim.NEW
            except StoreError as exc:
                causes.append(exc.__cause__)
        assert causes  # keys of other nodes' slots answer MOVED
        assert all(isinstance(c, redis.exceptions.ResponseError) for c in causes), causes
        assert store._set_get  # MOVED is no sign of Redis < 7.0
        for i in range(30):  # behind the guard: the first MOVED is a 503, not the app
            calls = app.calls
            response = await deliver("wsgi", wrapped, b'{"moved":%d}' % i)
            assert app.calls == calls + (response.status == 200)
            if response.status == 503:
                break
            assert response.status == 200
        assert response.status == 503
    finally:
        await close_store(store)
        assert isinstance(guard.store, RedisReplayStore)
        await close_store(guard.store)


# -- a node dies ----------------------------------------------------------------------------------


@pytest.mark.server
async def test_dead_node_fails_closed_then_recovers() -> None:
    """Kill one of three masters (no replicas): claims for its slots fail (connection
    refused), then the cluster goes down (CLUSTERDOWN) for every slot; every failure is a
    ``StoreError`` (503 behind the guard, the app not reached). Restarted, it serves again."""
    with cluster_topology(node_timeout_ms=500) as cluster:
        store = RedisReplayStore(cluster.url())
        guard = Guard(routes(), replay_store=cluster.url())
        app = App("none")
        wrapped = wrap(guard, "asgi", app)
        try:
            assert store.claim("warm", 60) is Claim.NEW
            assert await store.aclaim("warm-async", 60) is Claim.NEW
            victim = cluster.nodes[0]
            victim.kill()
            killed = time.monotonic()
            causes: set[str] = set()
            attempt = 0
            while "ClusterDownError" not in causes:
                assert time.monotonic() - killed < CLUSTER_DEADLINE, causes
                try:
                    store.claim(f"down-{attempt}", 60)
                except StoreError as exc:
                    causes.add(type(exc.__cause__).__name__)
                try:
                    await store.aclaim(f"down-async-{attempt}", 60)
                except StoreError as exc:
                    causes.add(type(exc.__cause__).__name__)
                attempt += 1
                calls = app.calls
                response = await deliver("asgi", wrapped, b'{"down":%d}' % attempt)
                assert response.status in (200, 503)
                assert app.calls == calls + (response.status == 200)
                await asyncio.sleep(0.05)
            assert "ConnectionError" in causes or "MaxConnectionsError" in causes, causes
            down_for = time.monotonic() - killed

            victim.start()
            restarted = time.monotonic()
            wait_until("the cluster to recover", cluster.state_ok, CLUSTER_DEADLINE)
            ok = 0
            while ok < 10:  # ten fresh deliveries in a row, spread over the slots
                assert time.monotonic() - restarted < CLUSTER_DEADLINE
                response = await deliver("asgi", wrapped, b'{"after":%d}' % attempt)
                attempt += 1
                ok = ok + 1 if response.status == 200 else 0
                if response.status != 200:
                    assert response.status == 503
                    await asyncio.sleep(0.1)
            print(
                f"\nCluster node killed: CLUSTERDOWN after {down_for:.2f} s "
                f"(causes {sorted(causes)}); served again {time.monotonic() - restarted:.2f} s "
                "after the restart"
            )
        finally:
            await close_store(store)
            assert isinstance(guard.store, RedisReplayStore)
            await close_store(guard.store)
