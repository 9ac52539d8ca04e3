"""The ASGI adapter driven directly with hand-written ``receive``/``send``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from webhook_guard import VERDICT_KEY, Guard, Reason, Route, Verdict, get_verdict
from webhook_guard.asgi import ASGIWebhookGuard, route_path
from webhook_guard.providers import github
from webhook_guard.testing import FrozenClock

pytestmark = pytest.mark.anyio

SECRET = "asgi-test-secret-0123456789abcdef"
PATH = "/hooks/github"
SCHEME = github(secret=SECRET)
BODY = b'{"action":"opened","n":2}'
NOW = 1_700_000_000.0
DISCONNECT = {"type": "http.disconnect"}


def signed(body: bytes = BODY) -> dict[str, str]:
    return SCHEME.sign(body, secret=SECRET, timestamp=NOW)


def http_scope(
    path: str = PATH,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    root_path: str = "",
    raw_headers: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    encoded = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": encoded + (raw_headers or []),
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


class Receiver:
    """Yields the given messages, then ``http.disconnect``; counts calls."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        return dict(DISCONNECT)


def chunks(*parts: bytes) -> Receiver:
    return Receiver(
        *(
            {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
            for i, p in enumerate(parts)
        )
    )


class Sender:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    def json(self) -> Any:
        return json.loads(self.body)


class App:
    def __init__(self, status: int = 200, raises: bool = False) -> None:
        self.status = status
        self.raises = raises
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen: dict[str, Any] = {"scope": scope, "type": scope["type"]}
        self.calls.append(seen)
        if scope["type"] != "http":
            return
        seen["verdict"] = get_verdict(scope)
        seen["has_key"] = VERDICT_KEY in scope
        body = b""
        while True:
            message = await receive()
            assert message["type"] == "http.request"
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = body
        if self.raises:
            raise RuntimeError("app failed")
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


def make(app: Any = None, **options: Any) -> tuple[Any, App]:
    inner = app if app is not None else App()
    routes = options.pop("routes", None) or [Route(PATH, SCHEME)]
    guard = Guard(routes, clock=FrozenClock(NOW), **options)
    return guard.asgi(inner), inner


async def run(wrapped: Any, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]]) -> Sender:
    send = Sender()
    await wrapped(scope, receive, send)
    return send


# -- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param((BODY,), id="one"),
        pytest.param((BODY[:5], BODY[5:10], BODY[10:]), id="three"),
        pytest.param((b"", BODY[:7], BODY[7:]), id="empty-first"),
        pytest.param((BODY[:7], BODY[7:], b""), id="empty-last"),
        pytest.param((b"", *[bytes([c]) for c in BODY], b""), id="bytewise"),
    ],
)
async def test_body_in_chunks_is_verified_and_replayed_whole(parts: tuple[bytes, ...]) -> None:
    wrapped, app = make()
    send = await run(wrapped, http_scope(headers=signed()), chunks(*parts))
    assert send.status == 200
    assert send.body == b"app"
    [seen] = app.calls
    assert seen["body"] == BODY
    assert seen["verdict"].verified is True
    assert seen["has_key"] is True


async def test_asgi_guard_constructed_with_options() -> None:
    app = App()
    wrapped = ASGIWebhookGuard(app, routes=[Route(PATH, SCHEME)])
    assert (await run(wrapped, http_scope(headers=signed()), chunks(BODY))).status == 200
    forged = await run(wrapped, http_scope(), chunks(BODY))
    assert forged.status == 401
    assert forged.json()["error"] == "missing_signature"
    assert len(app.calls) == 1


@pytest.mark.parametrize(
    ("size", "status"),
    [pytest.param(100, 200, id="at-limit"), pytest.param(101, 413, id="one-over")],
)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_limit_boundary(size: int, status: int, declared: bool) -> None:
    wrapped, app = make(max_body=100)
    body = b"y" * size
    headers = signed(body)
    if declared:
        headers["content-length"] = str(size)
    send = await run(wrapped, http_scope(headers=headers), chunks(body[:50], body[50:]))
    assert send.status == status
    if status == 200:
        assert app.calls[0]["body"] == body
    else:
        assert send.json()["error"] == "body_too_large"
        assert app.calls == []


async def test_declared_length_too_large_is_413_before_receive() -> None:
    wrapped, app = make(max_body=100)

    async def receive() -> dict[str, Any]:
        pytest.fail("receive() was called")

    send = await run(wrapped, http_scope(headers={**signed(), "content-length": "101"}), receive)
    assert send.status == 413
    assert send.json()["error"] == "body_too_large"
    assert app.calls == []


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([(b"content-length", b"abc")], id="letters"),
        pytest.param([(b"content-length", b"-1")], id="negative"),
        pytest.param([(b"content-length", b"9" * 30)], id="huge"),
        pytest.param([(b"content-length", b"5"), (b"content-length", b"5")], id="repeated"),
        pytest.param([(b"content-length", b"5"), (b"content-length", b"6")], id="conflicting"),
        pytest.param(
            [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
            id="length-and-transfer-encoding",
        ),
    ],
)
async def test_invalid_content_length_is_400(raw: list[tuple[bytes, bytes]]) -> None:
    wrapped, app = make()

    async def receive() -> dict[str, Any]:
        pytest.fail("receive() was called")

    send = await run(wrapped, http_scope(headers=signed(), raw_headers=raw), receive)
    assert send.status == 400
    assert send.json()["error"] == "bad_request"
    assert app.calls == []


async def test_disconnect_mid_body_sends_nothing() -> None:
    wrapped, app = make()
    receive = Receiver(
        {"type": "http.request", "body": BODY[:5], "more_body": True}, dict(DISCONNECT)
    )
    send = await run(wrapped, http_scope(headers=signed()), receive)
    assert send.messages == []
    assert app.calls == []
    assert receive.calls == 2


async def test_body_timeout_is_408() -> None:
    wrapped, app = make(body_timeout=0.05)
    never = asyncio.Event()
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": BODY[:3], "more_body": True}
        await never.wait()
        return dict(DISCONNECT)

    send = await asyncio.wait_for(run(wrapped, http_scope(headers=signed()), receive), 10)
    assert send.status == 408
    assert send.json()["error"] == "body_timeout"
    assert app.calls == []
    # the task is not left cancelled: later awaits still work
    await asyncio.sleep(0)


async def test_after_replayed_body_app_receives_server_disconnect() -> None:
    got: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        got.append(await receive())
        got.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped, _ = make(app)
    receive = chunks(BODY[:4], BODY[4:])
    send = await run(wrapped, http_scope(headers=signed()), receive)
    assert send.status == 200
    assert got[0] == {"type": "http.request", "body": BODY, "more_body": False}
    assert got[1] == DISCONNECT
    assert receive.calls == 3  # two body messages, then the app's own call


# -- other scopes -----------------------------------------------------------------------


async def test_lifespan_passes_through() -> None:
    wrapped, app = make()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    receive = Receiver({"type": "lifespan.startup"})
    send = await run(wrapped, scope, receive)
    assert [c["type"] for c in app.calls] == ["lifespan"]
    assert app.calls[0]["scope"] is scope
    assert send.messages == []


def websocket_scope(path: str) -> dict[str, Any]:
    return {"type": "websocket", "path": path, "root_path": "", "headers": [], "query_string": b""}


async def test_websocket_on_guarded_path_is_closed_1008() -> None:
    wrapped, app = make()
    send = await run(wrapped, websocket_scope(PATH), Receiver({"type": "websocket.connect"}))
    assert send.messages == [{"type": "websocket.close", "code": 1008}]
    assert app.calls == []


async def test_websocket_on_unguarded_path_passes() -> None:
    wrapped, app = make()
    send = await run(wrapped, websocket_scope("/ws"), Receiver({"type": "websocket.connect"}))
    assert [c["type"] for c in app.calls] == ["websocket"]
    assert send.messages == []


# -- route_path and root_path -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        pytest.param("/hooks/github", "", "/hooks/github", id="no-root"),
        pytest.param("/api/hooks/github", "/api", "/hooks/github", id="stripped"),
        pytest.param("/api", "/api", "", id="path-is-root"),
        pytest.param("/apix/hooks", "/api", "/apix/hooks", id="prefix-not-segment"),
        pytest.param("/hooks/github", "/api", "/hooks/github", id="root-not-prefix"),
    ],
)
def test_route_path(path: str, root_path: str, expected: str) -> None:
    assert route_path({"path": path, "root_path": root_path}) == expected


@pytest.mark.parametrize(
    ("path", "root_path", "guarded"),
    [
        pytest.param("/api/hooks/github", "/api", True, id="mounted"),
        pytest.param("/hooks/github", "", True, id="unmounted"),
        pytest.param("/api", "/api", False, id="path-is-root"),
        pytest.param("/api/other", "/api", False, id="other"),
    ],
)
async def test_guard_matches_on_route_path(path: str, root_path: str, guarded: bool) -> None:
    wrapped, app = make()
    send = await run(wrapped, http_scope(path, root_path=root_path), chunks(BODY))
    if guarded:
        assert send.status == 401
        assert app.calls == []
    else:
        assert send.status == 200
        assert app.calls[0]["verdict"].reason is Reason.NOT_GUARDED


async def test_unguarded_path_carries_no_verdict() -> None:
    wrapped, app = make()
    send = await run(wrapped, http_scope("/other"), chunks(BODY))
    assert send.status == 200
    [seen] = app.calls
    assert seen["has_key"] is False
    assert seen["verdict"].verified is False


async def test_a_guard_never_touches_a_verdict_on_a_path_it_does_not_guard() -> None:
    """Guards compose: an inner guard leaves the verdict an outer guard set."""
    upstream = Verdict(verified=True, reason=Reason.VERIFIED, route="/outer")
    wrapped, app = make()
    scope = http_scope("/other")
    scope[VERDICT_KEY] = upstream
    send = await run(wrapped, scope, chunks(BODY))
    assert send.status == 200
    assert app.calls[0]["verdict"] is upstream


async def test_nested_guards_keep_the_outer_verdict() -> None:
    inner_guard = Guard([Route("/inner", github(secret=SECRET))])
    outer_guard = Guard([Route(PATH, github(secret=SECRET))])
    app = App()
    send = await run(
        outer_guard.asgi(inner_guard.asgi(app)), http_scope(headers=signed()), chunks(BODY)
    )
    assert send.status == 200
    [seen] = app.calls
    assert seen["verdict"].verified is True
    assert seen["verdict"].route == PATH


async def test_verdict_header_never_yields_a_verdict() -> None:
    wrapped, app = make()
    headers = {"webhook-guard-verdict": "verified", "webhook_guard.verdict": "verified"}
    send = await run(wrapped, http_scope("/other", headers), chunks(BODY))
    assert send.status == 200
    assert app.calls[0]["verdict"].verified is False
    guarded = await run(wrapped, http_scope(PATH, headers), chunks(BODY))
    assert guarded.status == 401


# -- replay settling --------------------------------------------------------------------


async def test_app_raising_releases_claim_so_retry_is_processed() -> None:
    app = App(raises=True)
    wrapped, _ = make(app)
    with pytest.raises(RuntimeError, match="app failed"):
        await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    app.raises = False
    retry = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert retry.status == 200
    assert retry.body == b"app"
    assert len(app.calls) == 2


async def test_app_500_releases_claim() -> None:
    app = App(status=500)
    wrapped, _ = make(app)
    assert (await run(wrapped, http_scope(headers=signed()), chunks(BODY))).status == 500
    app.status = 200
    assert (await run(wrapped, http_scope(headers=signed()), chunks(BODY))).status == 200
    assert len(app.calls) == 2


@pytest.mark.parametrize(
    "last",
    [
        pytest.param({"type": "http.response.body", "body": b"app"}, id="body"),
        pytest.param({"type": "http.response.pathsend", "path": "/srv/report.csv"}, id="pathsend"),
        pytest.param(
            {"type": "http.response.zerocopysend", "file": 3, "count": 10}, id="zerocopysend"
        ),
    ],
)
async def test_a_2xx_ended_by_any_last_body_message_commits(last: dict[str, Any]) -> None:
    """Starlette's FileResponse ends with ``http.response.pathsend`` where the server offers
    the extension: that 2xx commits too, so the provider's retry is a duplicate."""
    calls: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(1)
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(last)

    wrapped, _ = make(app)
    first = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert first.messages[-1] == last
    copy = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert copy.json()["status"] == "duplicate"
    assert calls == [1]


async def test_a_client_gone_mid_stream_keeps_the_apps_2xx() -> None:
    """The server cannot send a chunk of a streamed 2xx (the client went away): the app
    chose 2xx and processed the event, so the claim is committed, not released."""
    calls: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(1)
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part 1", "more_body": True})
        await send({"type": "http.response.body", "body": b"part 2"})

    async def gone(message: dict[str, Any]) -> None:
        if message.get("more_body"):
            raise OSError("connection reset by peer")

    wrapped, _ = make(app)
    with pytest.raises(OSError, match="reset"):
        await wrapped(http_scope(headers=signed()), chunks(BODY), gone)
    copy = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert copy.json()["status"] == "duplicate"
    assert calls == [1]


class SuspendingStore:
    """A memory store whose async calls suspend first, as a network store's do."""

    def __init__(self) -> None:
        from webhook_guard.stores import MemoryReplayStore

        self.inner = MemoryReplayStore(clock=FrozenClock(NOW))

    def claim(self, key: str, ttl: float) -> Any:
        return self.inner.claim(key, ttl)

    def commit(self, key: str, ttl: float) -> None:
        self.inner.commit(key, ttl)

    def release(self, key: str) -> None:
        self.inner.release(key)

    async def aclaim(self, key: str, ttl: float) -> Any:
        await asyncio.sleep(0)
        return self.inner.claim(key, ttl)

    async def acommit(self, key: str, ttl: float) -> None:
        await asyncio.sleep(0)
        self.inner.commit(key, ttl)

    async def arelease(self, key: str) -> None:
        await asyncio.sleep(0)
        self.inner.release(key)

    def states(self) -> list[str]:
        return ["done" if entry[1] else "pending" for entry in self.inner._entries.values()]


@pytest.mark.parametrize(
    ("cancelled", "state"),
    [("while-the-app-works", []), ("while-the-last-body-is-written", ["done"])],
)
async def test_a_cancelled_request_still_settles_its_claim(cancelled: str, state: list[str]) -> None:
    """A timeout middleware (an anyio cancel scope) cancels the request. With a network
    store the settlement awaits I/O, which the cancelled scope would cancel again: it runs
    to its end regardless. Else the claim stays pending for processing_timeout and the
    provider's retry gets 409 (or, after 2xx, is processed again once the lease lapses)."""
    import anyio

    from webhook_guard.guard import _SETTLING

    timeout: list[anyio.CancelScope] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        if cancelled == "while-the-app-works":
            timeout[0].cancel()
            await anyio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def server_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            timeout[0].cancel()
            await anyio.sleep(0)

    store = SuspendingStore()
    guard = Guard([Route(PATH, SCHEME)], clock=FrozenClock(NOW), replay_store=store)
    with anyio.CancelScope() as scope:
        timeout.append(scope)
        await guard.asgi(app)(http_scope(headers=signed()), chunks(BODY), server_send)
    assert scope.cancelled_caught
    await asyncio.gather(*_SETTLING)
    assert store.states() == state


@pytest.mark.parametrize("duplicate_status", [200, 202, 204, 409])
async def test_processed_copy_is_duplicate_without_app(duplicate_status: int) -> None:
    wrapped, app = make(duplicate_status=duplicate_status)
    first = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert first.status == 200
    copy = await run(wrapped, http_scope(headers=signed()), chunks(BODY))
    assert copy.status == duplicate_status
    headers = dict(copy.messages[0]["headers"])
    if duplicate_status == 204:  # no body, no Content-Length: h11 refuses either on a 204
        assert copy.body == b""
        assert b"content-length" not in headers
    else:
        assert copy.json()["status"] == "duplicate"
        assert headers[b"content-length"] == str(len(copy.body)).encode()
    assert len(app.calls) == 1


async def test_report_only_passes_forged_request() -> None:
    wrapped, app = make(routes=[Route(PATH, SCHEME, report_only=True)])
    headers = {"x-hub-signature-256": "sha256=" + "0" * 64}
    send = await run(wrapped, http_scope(headers=headers), chunks(BODY))
    assert send.status == 200
    verdict = app.calls[0]["verdict"]
    assert (verdict.verified, verdict.report_only, verdict.reason) == (
        False,
        True,
        Reason.BAD_SIGNATURE,
    )


# -- a real client ----------------------------------------------------------------------


async def test_httpx_round_trip() -> None:
    wrapped, app = make()
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ok = await client.post(PATH, content=BODY, headers=signed())
        forged = await client.post(PATH, content=BODY, headers={"X-Hub-Signature-256": "x"})
        copy = await client.post(PATH, content=BODY, headers=signed())
    assert ok.status_code == 200
    assert ok.content == b"app"
    assert forged.status_code == 401
    assert forged.json()["error"] == "malformed_signature"
    assert copy.json() == {"status": "duplicate", "message": copy.json()["message"]}
    assert [c["body"] for c in app.calls] == [BODY]
    assert SECRET not in forged.text
