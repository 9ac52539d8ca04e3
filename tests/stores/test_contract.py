"""The replay store contract, for every store (memory, Redis) and both interfaces (sync, async).

A store answers ``claim(key, ttl)`` with NEW (the key is now pending), IN_FLIGHT (another
copy is being processed) or DONE (committed); ``commit`` marks a pending key done,
``release`` forgets a pending key so the provider's retry is accepted (never a done one). The memory store expires by
an injected clock; the Redis store is a real redis-server (``redis_url``) with a small
TTL and bounded polling for expiry.

The second half runs the same stores behind the guard: the app fails on the first
delivery, the provider retries, the retry is processed, a third copy is a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import github
from webhook_guard.stores import Claim, MemoryReplayStore, ReplayStore
from webhook_guard.testing import FrozenClock, build_wsgi_environ, sign

pytestmark = pytest.mark.anyio

T = TypeVar("T")

SECRET = "contract-github-secret-0123456789"
PATH = "/hooks/github"
CONCURRENCY = 50
#: Upper bound for waiting on a Redis key to expire (its TTL is REDIS_TTL).
EXPIRY_DEADLINE = 5.0
REDIS_TTL = 0.2
MEMORY_TTL = 30.0


# -- the stores under test -------------------------------------------------------------


@dataclass
class Backend:
    """A store plus the way its keys expire in a test."""

    name: str
    store: Any
    ttl: float
    clock: FrozenClock | None = None

    def almost_expire(self) -> None:
        """Move time to just before ``ttl`` (memory only: Redis time cannot be moved)."""
        if self.clock is not None:
            self.clock.advance(self.ttl - 0.01)

    def expire(self, key: str, since: float = 0.0) -> None:
        """Let ``key`` expire: advance the clock, or poll Redis (bounded) until it is gone."""
        if self.clock is not None:
            self.clock.advance(self.ttl - since + 0.01)
            return
        client = self.store.sync_client()
        deadline = time.monotonic() + EXPIRY_DEADLINE
        while client.exists(self.store.prefix + key):
            if time.monotonic() > deadline:
                pytest.fail(f"Redis key did not expire within {EXPIRY_DEADLINE} s")
            time.sleep(0.02)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FrozenClock(1_000.0)
        yield Backend("memory", MemoryReplayStore(clock=clock), MEMORY_TTL, clock)
        return
    from webhook_guard.stores.redis import RedisReplayStore

    url = request.getfixturevalue("redis_url")
    store = RedisReplayStore(url)
    try:
        yield Backend("redis", store, REDIS_TTL)
    finally:
        await close_redis_store(store)


async def close_redis_store(store: Any) -> None:
    """Close the clients a RedisReplayStore opened (the async one belongs to this loop)."""
    if store._async_client is not None:
        await store._async_client.aclose()
    if store._client is not None:
        store._client.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Ops:
    """The store's sync or async interface behind one awaitable API."""

    def __init__(self, store: ReplayStore, mode: str) -> None:
        self.store = store
        self.mode = mode

    async def claim(self, key: str, ttl: float) -> Claim:
        if self.mode == "sync":
            return self.store.claim(key, ttl)
        return await self.store.aclaim(key, ttl)

    async def commit(self, key: str, ttl: float) -> None:
        if self.mode == "sync":
            self.store.commit(key, ttl)
        else:
            await self.store.acommit(key, ttl)

    async def release(self, key: str) -> None:
        if self.mode == "sync":
            self.store.release(key)
        else:
            await self.store.arelease(key)


@pytest.fixture
def ops(backend: Backend, mode: str) -> Ops:
    return Ops(backend.store, mode)


# -- the contract ----------------------------------------------------------------------


async def test_implements_protocol(backend: Backend) -> None:
    assert isinstance(backend.store, ReplayStore)


async def test_first_claim_is_new_then_in_flight(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    assert await ops.claim("k1", backend.ttl) is Claim.IN_FLIGHT
    assert await ops.claim("k1", backend.ttl) is Claim.IN_FLIGHT


async def test_commit_makes_done(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    await ops.commit("k1", backend.ttl)
    assert await ops.claim("k1", backend.ttl) is Claim.DONE
    assert await ops.claim("k1", backend.ttl) is Claim.DONE


async def test_release_makes_new_again(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    await ops.release("k1")
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    assert await ops.claim("k1", backend.ttl) is Claim.IN_FLIGHT


async def test_release_never_forgets_a_processed_event(backend: Backend, ops: Ops) -> None:
    """A request whose lease lapsed releases late: by then a retry may have claimed the
    key, been processed and committed. That commit stands, or the next retry would be
    processed a third time."""
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    await ops.commit("k1", backend.ttl)
    await ops.release("k1")
    assert await ops.claim("k1", backend.ttl) is Claim.DONE


async def test_commit_or_release_of_unknown_key_creates_nothing(backend: Backend, ops: Ops) -> None:
    await ops.commit("never-claimed", backend.ttl)
    await ops.release("never-claimed-either")
    assert await ops.claim("never-claimed", backend.ttl) is Claim.NEW
    assert await ops.claim("never-claimed-either", backend.ttl) is Claim.NEW


async def test_pending_claim_expires(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    backend.almost_expire()
    assert await ops.claim("k1", backend.ttl) is Claim.IN_FLIGHT
    backend.expire("k1", since=backend.ttl - 0.01 if backend.clock else 0.0)
    assert await ops.claim("k1", backend.ttl) is Claim.NEW


async def test_done_claim_expires_and_commit_keeps_the_ttl(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("k1", backend.ttl) is Claim.NEW
    backend.almost_expire()
    await ops.commit("k1", backend.ttl)  # committing late does not extend the window
    assert await ops.claim("k1", backend.ttl) is Claim.DONE
    backend.expire("k1", since=backend.ttl - 0.01 if backend.clock else 0.0)
    assert await ops.claim("k1", backend.ttl) is Claim.NEW


async def test_keys_are_independent(backend: Backend, ops: Ops) -> None:
    assert await ops.claim("a", backend.ttl) is Claim.NEW
    assert await ops.claim("b", backend.ttl) is Claim.NEW
    await ops.commit("a", backend.ttl)
    assert await ops.claim("a", backend.ttl) is Claim.DONE
    assert await ops.claim("b", backend.ttl) is Claim.IN_FLIGHT
    await ops.release("b")
    assert await ops.claim("b", backend.ttl) is Claim.NEW
    assert await ops.claim("a", backend.ttl) is Claim.DONE
    assert await ops.claim("c", backend.ttl) is Claim.NEW


async def test_concurrent_claims_one_new(backend: Backend, mode: str) -> None:
    """50 threads (sync) or 50 tasks (async) claim one key at once: exactly one NEW."""
    store = backend.store
    if mode == "sync":
        barrier = threading.Barrier(CONCURRENCY, timeout=10)
        results: list[Claim] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def worker() -> None:
            try:
                barrier.wait()
                claim = store.claim("contended", backend.ttl * 100)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                results.append(claim)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
    else:
        start = asyncio.Event()

        async def task() -> Claim:
            await start.wait()
            return await store.aclaim("contended", backend.ttl * 100)

        pending = [asyncio.ensure_future(task()) for _ in range(CONCURRENCY)]
        await asyncio.sleep(0)
        start.set()
        results = list(await asyncio.wait_for(asyncio.gather(*pending), timeout=30))
    assert len(results) == CONCURRENCY
    assert results.count(Claim.NEW) == 1
    assert results.count(Claim.IN_FLIGHT) == CONCURRENCY - 1


async def test_concurrent_claims_after_commit_all_done(backend: Backend, mode: str) -> None:
    ops = Ops(backend.store, mode)
    assert await ops.claim("settled", backend.ttl * 100) is Claim.NEW
    await ops.commit("settled", backend.ttl * 100)
    results = await asyncio.gather(
        *(ops.claim("settled", backend.ttl * 100) for _ in range(CONCURRENCY))
    )
    assert set(results) == {Claim.DONE}


# -- through the guard: the app fails, the provider retries -----------------------------


def signed(body: bytes) -> dict[str, str]:
    return sign(github(secret=SECRET), body, secret=SECRET)


class App:
    """A webhook endpoint that fails its first delivery (raises, or answers 500)."""

    def __init__(self, failure: str) -> None:
        self.failure = failure
        self.calls = 0
        self.successes = 0
        self.verified: list[bool] = []

    def outcome(self, verdict: Any) -> int:
        """200 on success, 500 to fail; raises for the 'raise' failure."""
        self.calls += 1
        self.verified.append(bool(verdict.verified))
        if self.calls == 1 and self.failure != "none":
            if self.failure == "raise":
                raise AppFailure("the app failed")
            return 500
        self.successes += 1
        return 200

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status = self.outcome(get_verdict(environ))
        body = json.dumps({"app": status}).encode()
        start_response(
            "200 OK" if status == 200 else "500 Internal Server Error",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        status = self.outcome(get_verdict(scope))
        body = json.dumps({"app": status}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class AppFailure(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call_wsgi(app: Any, path: str, body: bytes, headers: dict[str, str]) -> Response:
    environ = build_wsgi_environ(path, body=body, headers=headers)
    seen: dict[str, Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        seen["status"] = int(status[:3])
        seen["headers"] = {k.lower(): v for k, v in response_headers}
        return lambda data: None

    result = app(environ, start_response)
    try:
        out = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Response(seen["status"], seen["headers"], out)


def asgi_scope(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode("ascii")))
    raw.append((b"host", b"127.0.0.1"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 40000),
    }


async def call_asgi(app: Any, path: str, body: bytes, headers: dict[str, str]) -> Response:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # a well-behaved server waits for the disconnect
        return {"type": "http.disconnect"}

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await asyncio.wait_for(app(asgi_scope(path, body, headers), receive, send), timeout=10)
    start = messages[0]
    assert start["type"] == "http.response.start"
    response_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    out = b"".join(m.get("body", b"") for m in messages[1:])
    return Response(start["status"], response_headers, out)


async def deliver(
    adapter: str, app: Any, body: bytes, headers: dict[str, str] | None = None, *, path: str = PATH
) -> Response:
    """``body`` to ``path`` through the WSGI or ASGI ``app``; GitHub-signed unless
    ``headers`` are given."""
    if headers is None:
        headers = signed(body)
    if adapter == "wsgi":
        return call_wsgi(app, path, body, headers)
    return await call_asgi(app, path, body, headers)


def routes() -> list[Route]:
    """The one guarded route of the store tests (the contract, Sentinel and Cluster)."""
    return [Route(PATH, github(secret=SECRET))]


def wrap(guard: Guard, adapter: str, app: App) -> Any:
    """``app`` behind ``guard`` as a WSGI or an ASGI app."""
    return guard.wsgi(app.wsgi) if adapter == "wsgi" else guard.asgi(app.asgi)


def in_threads(call: Callable[[], T], n: int) -> list[T]:
    """``call()`` in ``n`` threads released at once by a barrier; their results."""
    results: list[T] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n, timeout=10)

    def worker() -> None:
        barrier.wait()
        result = call()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def claim_burst(store: Any, key: str, burst: int, ttl: float) -> list[object]:
    """``burst`` threads claim ``key`` at once; each result is the claim or the exception
    it raised."""

    def claim() -> object:
        try:
            return store.claim(key, ttl)
        except Exception as exc:
            return exc

    return in_threads(claim, burst)


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("failure", ["raise", "status-500"])
@pytest.mark.parametrize("duplicate_status", [200, 409])
async def test_failed_delivery_is_retried_then_duplicate(
    backend: Backend, adapter: str, failure: str, duplicate_status: int
) -> None:
    app = App(failure)
    guard = Guard(routes(), replay_store=backend.store, duplicate_status=duplicate_status)
    wrapped = wrap(guard, adapter, app)
    body = b'{"action":"opened","number":' + str(id(app)).encode() + b"}"
    headers = signed(body)

    # 1. first delivery: the app fails, so the claim is released
    if failure == "raise":
        with pytest.raises(AppFailure):
            await deliver(adapter, wrapped, body, headers)
    else:
        first = await deliver(adapter, wrapped, body, headers)
        assert first.status == 500
        assert first.json() == {"app": 500}
    assert app.calls == 1
    assert app.successes == 0

    # 2. the provider's identical retry reaches the app and succeeds
    retry = await deliver(adapter, wrapped, body, headers)
    assert retry.status == 200
    assert retry.json() == {"app": 200}
    assert app.calls == 2
    assert app.successes == 1

    # 3. a third copy is acknowledged as a duplicate without reaching the app
    third = await deliver(adapter, wrapped, body, headers)
    assert third.status == duplicate_status
    assert third.json()["status"] == "duplicate"
    assert app.calls == 2
    assert app.successes == 1
    assert app.verified == [True, True]


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_copy_while_in_flight_is_replayed_409(backend: Backend, adapter: str) -> None:
    """A copy arriving while the first is still inside the app gets 409 "replayed"."""
    body = b'{"action":"in-flight"}'
    headers = signed(body)
    inner: list[Response] = []
    guard = Guard(routes(), replay_store=backend.store)
    calls = 0

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal calls
        calls += 1
        inner.append(call_wsgi(wrapped, PATH, body, headers))  # the copy, mid-processing
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        inner.append(await call_asgi(wrapped, PATH, body, headers))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped: Any = guard.wsgi(wsgi_app) if adapter == "wsgi" else guard.asgi(asgi_app)
    first = await deliver(adapter, wrapped, body, headers)
    assert first.status == 200
    assert first.body == b"ok"
    assert calls == 1
    assert [r.status for r in inner] == [409]
    assert inner[0].json()["error"] == "replayed"
    after = await deliver(adapter, wrapped, body, headers)
    assert after.status == 200
    assert after.json()["status"] == "duplicate"
    assert calls == 1
