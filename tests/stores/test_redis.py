"""The Redis replay store specifics, on a real redis-server on 127.0.0.1.

- every way of naming it: ``Guard(replay_store=url)``, a ``redis.Redis`` client, an
  asyncio client;
- what lands in Redis: prefix + a hash namespaced by route (never the raw signature),
  with the route's TTL;
- failure: a store that does not answer raises ``StoreError``; behind the guard a stopped
  Redis means 503 ``store_unavailable`` with ``Retry-After`` (the app is not reached,
  unguarded paths still work), and service resumes by itself once Redis is back.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
import redis
import redis.asyncio

from tests.conftest import RedisServer, free_port
from tests.stores.test_contract import (
    SECRET,
    App,
    Ops,
    call_asgi,
    call_wsgi,
    claim_burst,
    close_redis_store,
    deliver,
    signed,
)
from webhook_guard import ConfigurationError, Guard, Route, StoreError, WebhookGuardWarning
from webhook_guard.core.guard import REPLAY_MARGIN
from webhook_guard.providers import dingtalk, github, stripe
from webhook_guard.stores import Claim
from webhook_guard.stores.redis import RedisReplayStore
from webhook_guard.testing import sign

pytestmark = pytest.mark.anyio

PATH = "/hooks/github"
OPEN_PATH = "/health"
KEY = re.compile(rb"[0-9a-f]{40}")
#: How long service may take to resume once Redis is back.
RECOVERY = 2.0
DINGTALK_SECRET = "SEC-dingtalk-redis-secret-0123456789"


def routes(**options: Any) -> list[Route]:
    return [Route(PATH, github(secret=SECRET), **options)]


def counting_wsgi(app: App) -> Any:
    """``app.wsgi`` on guarded paths; plain 200 on anything else (not counted)."""

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != PATH and not environ["PATH_INFO"].startswith("/hooks/"):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"open"]
        return app.wsgi(environ, start_response)

    return dispatch


def counting_asgi(app: App) -> Any:
    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not scope["path"].startswith("/hooks/"):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"open"})
            return
        await app.asgi(scope, receive, send)

    return dispatch


def wrap(guard: Guard, adapter: str, app: App) -> Any:
    return guard.wsgi(counting_wsgi(app)) if adapter == "wsgi" else guard.asgi(counting_asgi(app))


def keys(url: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return sorted(client.keys("*"))
    finally:
        client.close()


async def close_guard_store(guard: Guard) -> None:
    if isinstance(guard.store, RedisReplayStore):
        await close_redis_store(guard.store)


# -- the ways of configuring it -----------------------------------------------------------


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("given", ["url", "client"])
async def test_guard_with_url_or_client(redis_url: str, adapter: str, given: str) -> None:
    client = redis.Redis.from_url(redis_url) if given == "client" else None
    guard = Guard(routes(), replay_store=redis_url if given == "url" else client)
    assert isinstance(guard.store, RedisReplayStore)
    if given == "client":
        assert guard.store.sync_client() is client
    app = App("none")
    if adapter == "asgi" and given == "client":
        # a sync client cannot serve the async path: said at start-up, then refused,
        # never passed unchecked
        with pytest.warns(WebhookGuardWarning, match="no asyncio Redis client"):
            wrapped = wrap(guard, adapter, app)
        response = await deliver(adapter, wrapped, b'{"n":1}')
        assert response.status == 503
        assert response.json()["error"] == "store_unavailable"
        assert app.calls == 0
    else:
        wrapped = wrap(guard, adapter, app)
        first = await deliver(adapter, wrapped, b'{"n":1}')
        second = await deliver(adapter, wrapped, b'{"n":1}')
        assert (first.status, second.status) == (200, 200)
        assert second.json()["status"] == "duplicate"
        assert app.successes == 1
        assert len(keys(redis_url)) == 1
    await close_guard_store(guard)
    if client is not None:
        client.close()


async def test_guard_with_asyncio_client(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        guard = Guard(routes(), replay_store=client)  # start-up check must not need a loop
        assert isinstance(guard.store, RedisReplayStore)
        assert guard.store.async_client() is client
        app = App("none")
        wrapped = guard.asgi(counting_asgi(app))
        first = await deliver("asgi", wrapped, b'{"n":2}')
        second = await deliver("asgi", wrapped, b'{"n":2}')
        assert first.status == 200
        assert first.json() == {"app": 200}
        assert second.status == 200
        assert second.json()["status"] == "duplicate"
        assert app.successes == 1
        stored = keys(redis_url)
        assert len(stored) == 1
        assert await client.get(stored[0]) == b"done"
    finally:
        await client.aclose()


async def test_url_store_async_and_sync_share_state(redis_url: str) -> None:
    """A WSGI and an ASGI app on one Redis see each other's deliveries."""
    wsgi_guard = Guard(routes(), replay_store=redis_url)
    asgi_guard = Guard(routes(), replay_store=redis_url)
    app = App("none")
    body = b'{"n":"shared"}'
    first = await deliver("asgi", wrap(asgi_guard, "asgi", app), body)
    second = await deliver("wsgi", wrap(wsgi_guard, "wsgi", app), body)
    assert first.json() == {"app": 200}
    assert second.json()["status"] == "duplicate"
    assert app.successes == 1
    await close_guard_store(wsgi_guard)
    await close_guard_store(asgi_guard)


# -- what lands in Redis ------------------------------------------------------------------------


async def test_key_is_prefixed_hash_not_signature(redis_url: str) -> None:
    guard = Guard(routes(), replay_store=redis_url)
    body = b'{"n":"key-shape"}'
    signature = signed(body)["X-Hub-Signature-256"].removeprefix("sha256=")
    response = await deliver("wsgi", wrap(guard, "wsgi", App("none")), body)
    assert response.status == 200
    [key] = keys(redis_url)
    assert key.startswith(b"webhook_guard:")
    assert KEY.fullmatch(key.removeprefix(b"webhook_guard:"))
    assert signature.encode() not in key
    assert signature[:16].encode() not in key
    await close_guard_store(guard)


async def test_key_is_namespaced_by_route(redis_url: str) -> None:
    """The same signed body on two routes (same secret) gives two keys: no cross-route hits."""
    guard = Guard(
        [
            Route("/hooks/a", github(secret=SECRET)),
            Route("/hooks/b", github(secret=SECRET)),
        ],
        replay_store=redis_url,
    )
    app = App("none")
    wrapped = wrap(guard, "wsgi", app)
    body = b'{"n":"two-routes"}'
    a = await deliver("wsgi", wrapped, body, path="/hooks/a")
    b = await deliver("wsgi", wrapped, body, path="/hooks/b")
    assert (a.json(), b.json()) == ({"app": 200}, {"app": 200})
    assert app.successes == 2
    stored = keys(redis_url)
    assert len(stored) == 2
    assert all(k.startswith(b"webhook_guard:") for k in stored)
    await close_guard_store(guard)


async def test_custom_prefix(redis_url: str) -> None:
    store = RedisReplayStore(redis_url, prefix="tenant-7:")
    guard = Guard(routes(), replay_store=store)
    response = await deliver("wsgi", wrap(guard, "wsgi", App("none")), b'{"n":"prefix"}')
    assert response.status == 200
    [key] = keys(redis_url)
    assert key.startswith(b"tenant-7:")
    assert KEY.fullmatch(key.removeprefix(b"tenant-7:"))
    await close_redis_store(store)


@pytest.mark.parametrize(
    "options", ["?prefix=billing:", "?socket_timeout=2&prefix=billing:"], ids=["alone", "with-other"]
)
async def test_prefix_from_the_url(redis_url: str, options: str) -> None:
    """TOML, the environment and Django settings name the store by URL only."""
    guard = Guard.from_mapping(
        {
            "routes": [{"path": PATH, "provider": "github", "secret": SECRET}],
            "replay_store": redis_url + options,
        }
    )
    assert isinstance(guard.store, RedisReplayStore)
    assert guard.store.prefix == "billing:"
    assert "prefix" not in (guard.store.url or "")  # redis-py would take it for its own
    response = await deliver("wsgi", wrap(guard, "wsgi", App("none")), b'{"n":"url-prefix"}')
    assert response.status == 200
    [key] = keys(redis_url)
    assert key.startswith(b"billing:")
    await close_guard_store(guard)


@pytest.mark.parametrize(
    "query",
    ["prefix=", "prefix=a%20b", "prefix=a&prefix=b", "prefix=" + "x" * 65, "prefix=%7Bslot%7D:"],
    ids=["empty", "space", "twice", "too-long", "hash-tag"],
)
@pytest.mark.parametrize("scheme", ["redis://127.0.0.1:6379/0", "redis+cluster://127.0.0.1:7000"])
def test_bad_url_prefix_is_e008(scheme: str, query: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        RedisReplayStore(f"{scheme}?{query}")
    assert raised.value.code == "webhook_guard.E008"
    assert "prefix" in str(raised.value)


async def test_services_sharing_one_redis_keep_apart_with_a_prefix(redis_url: str) -> None:
    """Stripe sends one event to every endpoint subscribed to it. Two services with
    their own endpoint secrets, on the same path and one Redis, each process it once."""
    event = b'{"id":"evt_shared_by_two_endpoints","type":"invoice.paid"}'
    seen: dict[str, int] = {}
    guards = []
    for service in ("billing", "ledger"):
        secret = f"whsec_{service}_endpoint_secret"
        guard = Guard(
            [Route("/hooks/stripe", stripe(secret=secret))],
            replay_store=f"{redis_url}?prefix={service}:",
        )
        guards.append(guard)

        def endpoint(environ: dict[str, Any], start_response: Any, name: str = service) -> Any:
            seen[name] = seen.get(name, 0) + 1
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        app = guard.wsgi(endpoint)
        for _ in range(2):  # the delivery, then a copy of it
            headers = stripe(secret=secret).sign(event, secret=secret).headers
            assert call_wsgi(app, "/hooks/stripe", event, dict(headers)).status == 200
    assert seen == {"billing": 1, "ledger": 1}
    assert sorted(k.split(b":")[0] for k in keys(redis_url)) == [b"billing", b"ledger"]
    for guard in guards:
        await close_guard_store(guard)


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_ttl_github_is_route_replay_ttl(redis_url: str, adapter: str) -> None:
    guard = Guard(routes(replay_ttl=900), replay_store=redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        response = await deliver(adapter, wrap(guard, adapter, App("none")), b'{"n":"ttl"}')
        assert response.status == 200
        [key] = keys(redis_url)
        assert client.get(key) == b"done"
        pttl = client.pttl(key)
        assert 895_000 < pttl <= 900_000  # the route's ttl, kept through the commit
    finally:
        client.close()
        await close_guard_store(guard)


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_ttl_dingtalk_is_window_plus_margin(redis_url: str, adapter: str) -> None:
    scheme = dingtalk(secret=DINGTALK_SECRET, window=120)
    guard = Guard([Route("/hooks/dingtalk", scheme)], replay_store=redis_url)
    client = redis.Redis.from_url(redis_url)
    body = b'{"msgtype":"text"}'
    headers = sign(scheme, body, secret=DINGTALK_SECRET, timestamp=time.time())
    app = App("none")
    wrapped = wrap(guard, adapter, app)
    try:
        if adapter == "wsgi":
            response = call_wsgi(wrapped, "/hooks/dingtalk", body, headers)
        else:
            response = await call_asgi(wrapped, "/hooks/dingtalk", body, headers)
        assert response.status == 200
        assert app.successes == 1
        [key] = keys(redis_url)
        limit_ms = (120 + 120 + REPLAY_MARGIN) * 1000  # past + future window, plus margin
        pttl = client.pttl(key)
        assert 0 < pttl <= limit_ms
        assert pttl > limit_ms - 5_000
    finally:
        client.close()
        await close_guard_store(guard)


# -- failure ---------------------------------------------------------------------------------


@pytest.fixture
def dead_url() -> str:
    """A Redis URL with nothing listening."""
    return f"redis://127.0.0.1:{free_port()}/0"


async def test_store_down_raises_store_error(dead_url: str) -> None:
    store = RedisReplayStore(dead_url)
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError):
        store.claim("k", 10)
    with pytest.raises(StoreError):
        store.commit("k", 10)
    with pytest.raises(StoreError):
        store.release("k")
    with pytest.raises(StoreError):
        await store.aclaim("k", 10)
    with pytest.raises(StoreError):
        await store.acommit("k", 10)
    with pytest.raises(StoreError):
        await store.arelease("k")
    await close_redis_store(store)


async def test_startup_check_fails_without_redis(dead_url: str) -> None:
    with pytest.raises(StoreError):
        Guard(routes(), replay_store=dead_url, check_store="strict")
    guard = Guard(routes(), replay_store=dead_url, check_store=False)
    app = App("none")
    response = await deliver("wsgi", wrap(guard, "wsgi", app), b'{"n":"unchecked"}')
    assert response.status == 503
    assert response.json()["error"] == "store_unavailable"
    assert app.calls == 0
    await close_guard_store(guard)


async def test_startup_check_passes_with_redis(redis_url: str) -> None:
    guard = Guard(routes(), replay_store=redis_url)  # check_store=True by default
    assert isinstance(guard.store, RedisReplayStore)
    await close_guard_store(guard)


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_redis_stopped_then_restarted(
    redis_url: str, redis_server: RedisServer, adapter: str
) -> None:
    guard = Guard(routes(), replay_store=redis_url)
    app = App("none")
    wrapped = wrap(guard, adapter, app)
    warm = await deliver(adapter, wrapped, b'{"n":"before"}')  # pooled connections exist
    assert warm.json() == {"app": 200}
    assert app.successes == 1

    redis_server.stop()
    try:
        down = await deliver(adapter, wrapped, b'{"n":"during"}')
        assert down.status == 503
        assert down.json()["error"] == "store_unavailable"
        assert int(down.headers["retry-after"]) > 0
        again = await deliver(adapter, wrapped, b'{"n":"during"}')
        assert again.status == 503
        assert app.calls == 1  # the app was not reached
        if adapter == "wsgi":
            open_response = call_wsgi(wrapped, OPEN_PATH, b"", {})
        else:
            open_response = await call_asgi(wrapped, OPEN_PATH, b"", {})
        assert open_response.status == 200
        assert open_response.body == b"open"
    finally:
        redis_server.start()  # same port

    # the same guard resumes within RECOVERY seconds (bounded polling, no new Guard)
    deadline = time.monotonic() + RECOVERY
    statuses = []
    while True:
        response = await deliver(adapter, wrapped, b'{"n":"after"}')
        statuses.append(response.status)
        if response.status == 200:
            break
        assert response.status == 503
        assert time.monotonic() < deadline, f"no recovery within {RECOVERY} s: {statuses}"
        time.sleep(0.05)
    assert response.json() == {"app": 200}
    assert app.successes == 2
    duplicate = await deliver(adapter, wrapped, b'{"n":"after"}')
    assert duplicate.json()["status"] == "duplicate"
    assert app.successes == 2
    await close_guard_store(guard)


async def test_claim_states_visible_in_redis(redis_url: str) -> None:
    """pending while in flight, gone after release; done after commit, and still done
    after a late release."""
    store = RedisReplayStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        assert store.claim("x", 60) is Claim.NEW
        assert client.get("webhook_guard:x") == b"pending"
        store.release("x")
        assert client.exists("webhook_guard:x") == 0
        assert store.claim("x", 60) is Claim.NEW
        store.commit("x", 60)
        assert client.get("webhook_guard:x") == b"done"
        assert 0 < client.pttl("webhook_guard:x") <= 60_000
        store.release("x")
        assert client.get("webhook_guard:x") == b"done"
    finally:
        client.close()
        await close_redis_store(store)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_connection_the_server_closed_while_idle_is_replaced(
    redis_url: str, mode: str
) -> None:
    """Redis' ``timeout`` (or a proxy) closes a pooled connection while the app works:
    the commit after the response goes through on a new connection, not a store error
    that leaves the key pending for processing_timeout."""
    store = RedisReplayStore(redis_url)
    admin = redis.Redis.from_url(redis_url)
    ops = Ops(store, mode)
    try:
        for key in ("committed", "released"):
            assert await ops.claim(key, 60) is Claim.NEW
            assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
            if key == "committed":
                await ops.commit(key, 60)
            else:
                await ops.release(key)
        assert admin.get("webhook_guard:committed") == b"done"
        assert admin.exists("webhook_guard:released") == 0
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
        assert await ops.claim("after-idle", 60) is Claim.NEW  # not a spurious 503
    finally:
        admin.close()
        await close_redis_store(store)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_commit_after_the_ttl_never_erases_another_workers_commit(
    redis_url: str, mode: str
) -> None:
    """Worker A's app ran past its lease and the route's TTL; meanwhile the provider's
    retry was claimed, processed and committed by worker B. A's late commit has no time
    left to keep the key: it must not delete B's, or the next copy is processed again."""
    first, second = RedisReplayStore(redis_url), RedisReplayStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        assert first.claim("late", 60) is Claim.NEW
        client.delete("webhook_guard:late")  # A's lease lapsed
        assert second.claim("late", 60) is Claim.NEW
        second.commit("late", 60)
        first._claims["late"] -= 120  # A claimed two minutes ago: nothing left to keep
        if mode == "sync":
            first.commit("late", 60)
        else:
            await first.acommit("late", 60)
        assert client.get("webhook_guard:late") == b"done"
        assert first.claim("late", 60) is Claim.DONE
        # Alone, a claim committed after its TTL leaves nothing behind.
        assert first.claim("alone", 60) is Claim.NEW
        first._claims["alone"] -= 120
        first.commit("alone", 60)
        assert client.exists("webhook_guard:alone") == 0
    finally:
        client.close()
        await close_redis_store(first)
        await close_redis_store(second)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_client_that_decodes_responses_still_sees_duplicates(
    redis_url: str, mode: str
) -> None:
    """redis-py with decode_responses=True answers "done", not b"done": a processed event is
    still DONE (a duplicate, 200), not IN_FLIGHT (409, retried by the provider)."""
    if mode == "sync":
        store = RedisReplayStore.from_client(redis.Redis.from_url(redis_url, decode_responses=True))
        assert store.claim("d", 60) is Claim.NEW
        assert store.claim("d", 60) is Claim.IN_FLIGHT
        store.commit("d", 60)
        assert store.claim("d", 60) is Claim.DONE
        store.sync_client().close()
        return
    import redis.asyncio as aredis

    client = aredis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisReplayStore.from_client(client)
    try:
        assert await store.aclaim("d", 60) is Claim.NEW
        assert await store.aclaim("d", 60) is Claim.IN_FLIGHT
        await store.acommit("d", 60)
        assert await store.aclaim("d", 60) is Claim.DONE
    finally:
        await client.aclose()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_burst_above_pool_size_waits_for_a_connection(redis_url: str, mode: str) -> None:
    """More concurrent claims than pooled connections: they queue, none fails with 503."""

    store = RedisReplayStore(redis_url, max_connections=4, timeout=2.0)
    burst = 40
    try:
        if mode == "async":
            results = await asyncio.gather(
                *(store.aclaim("burst", 60) for _ in range(burst)), return_exceptions=True
            )
        else:
            results = claim_burst(store, "burst", burst, 60)
        assert [r for r in results if not isinstance(r, Claim)] == []
        assert results.count(Claim.NEW) == 1
        assert results.count(Claim.IN_FLIGHT) == burst - 1
    finally:
        await close_redis_store(store)


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl"])
async def test_evicting_policy_is_warned_at_start_up(redis_url: str, policy: str) -> None:
    """A policy that may evict live replay keys reopens replay: said at start-up, loudly."""
    client = redis.Redis.from_url(redis_url)
    client.config_set("maxmemory-policy", policy)
    try:
        with pytest.warns(WebhookGuardWarning, match=f"maxmemory-policy is '{policy}'"):
            guard = Guard(routes(), replay_store=redis_url)
        await close_guard_store(guard)
        client.config_set("maxmemory-policy", "noeviction")
        guard = Guard(routes(), replay_store=redis_url)  # no warning (warnings are errors)
        await close_guard_store(guard)
    finally:
        client.config_set("maxmemory-policy", "noeviction")
        client.close()
