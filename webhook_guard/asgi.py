"""ASGI adapter: ``app = guard.asgi(app)`` or ``app.add_middleware(ASGIWebhookGuard, guard=guard)``.

For a guarded path the body is read from ``receive`` within the route's limit and the
guard's body deadline, verified, and replayed to the app as one ``http.request``
message holding the verified bytes (joined once when the server sent several chunks);
later ``receive`` calls go to the server, so the app still sees ``http.disconnect``. Lifespan scopes pass through; a websocket on a guarded
path is closed (webhooks are HTTP requests).

The replay claim is settled by the status the app chose in ``http.response.start``: 2xx
commits (even if the client goes away while the body is sent), anything else, an
exception, or no answer at all releases. The store is written after the last body
message has been handed to the server, not while the client waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from webhook_guard._types import ASGIApp, Message, Receive, Scope, Send
from webhook_guard._url import public_url
from webhook_guard.core.guard import Plan
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard
from webhook_guard.responses import render

__all__ = ("ASGIWebhookGuard", "route_path")

_POLICY_VIOLATION = 1008
_new_request = tuple.__new__  # WebhookRequest(...) without its Python-level __new__


def route_path(scope: Scope) -> str:
    """The path the router matches: ``path`` minus ``root_path`` (as Starlette does)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


class ASGIWebhookGuard:
    """ASGI middleware running a ``Guard`` in front of ``app``.

    :param app: the ASGI application.
    :param guard: a configured ``Guard``; or pass ``routes=`` and ``Guard`` options
        (the form Starlette's ``add_middleware`` uses).
    """

    def __init__(self, app: ASGIApp, guard: Guard | None = None, **options: Any) -> None:
        self.app = app
        self.guard = guard if guard is not None else Guard(**options)
        self._match = self.guard.match
        self.guard.check_store_mode(asynchronous=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if scope.get("root_path"):
                path = route_path(scope)
            found = self._match(path)
            if found is None:
                await self.app(scope, receive, send)
            else:
                await self._guarded(found, path, scope, receive, send)
        elif scope["type"] == "websocket" and self._match(route_path(scope)) is not None:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
        else:
            await self.app(scope, receive, send)

    async def _guarded(
        self, found: Any, path: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        started = time.perf_counter()
        guard = self.guard
        method: str = scope.get("method", "GET")
        headers = Headers.from_asgi(scope.get("headers") or ())
        plan = guard.plan(
            found,
            content_length=headers.getlist("content-length"),
            transfer_encoding=headers.get("transfer-encoding"),
            terminated=True,
        )
        refusal = plan.refusal
        if refusal is not None:
            guard.record(refusal, started, method=method)
            await _respond(refusal, send)
            return
        body, problem = await _read_body(receive, plan.target.max_body, guard.body_timeout)  # type: ignore[union-attr]
        if problem is not None:
            refusal = guard.refuse(plan, problem)
            guard.record(refusal, started, method=method)
            if problem is not Reason.BODY_INCOMPLETE:  # a disconnected client gets no answer
                await _respond(refusal, send)
            return
        raw_query = scope.get("query_string", b"")
        query = raw_query.decode("latin-1") if isinstance(raw_query, bytes) else str(raw_query)
        scheme = plan.target.scheme  # type: ignore[union-attr]
        url = _url(guard, plan, scope, path, query, headers) if scheme and scheme.needs_url else ""
        request = _new_request(WebhookRequest, (method, path, headers, body, query, url, plan.params))
        verdict = guard.verify(plan, request)
        if verdict.replay_key is not None and guard.store is not None:
            verdict = guard.settle(plan, verdict, await guard.aclaim(verdict))
        guard.record(verdict, started, method=method)
        if not verdict.passes:
            await _respond(verdict, send)
            return
        if verdict.response is not None:  # a verified handshake the guard answers itself
            status, response_headers, content = verdict.response
            await _send_response(send, status, response_headers, content)
            return
        scope[VERDICT_KEY] = verdict
        receive = _Replay(body, receive)
        if verdict.verified and verdict.replay_key is not None and guard.store is not None:
            await _Settling(guard, plan, verdict, send).run(self.app, scope, receive)
        else:
            await self.app(scope, receive, send)


class _Replay:
    """``receive`` for the app: the verified body as one message (the bytes that were
    verified, not copied again), then the server's own ``receive`` (so
    ``http.disconnect`` reaches the app)."""

    __slots__ = ("body", "receive")

    def __init__(self, body: bytes, receive: Receive) -> None:
        self.body: bytes | None = body
        self.receive = receive

    async def __call__(self) -> Message:
        body = self.body
        if body is None:
            return await self.receive()
        self.body = None
        return {"type": "http.request", "body": body, "more_body": False}


class _Settling:
    """Sends for the app, notes the status it chose, and settles the replay claim after
    the last body message is with the server (or when the app ends without one)."""

    __slots__ = ("guard", "plan", "send", "settled", "status", "verdict")

    def __init__(self, guard: Guard, plan: Plan, verdict: Verdict, send: Send) -> None:
        self.guard = guard
        self.plan = plan
        self.verdict = verdict
        self.send = send
        self.status: int | None = None
        self.settled = False

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        try:
            await app(scope, receive, self._send)
        except BaseException:
            await self._settle(None)
            raise
        await self._settle(None)  # the app returned without finishing a response

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message.get("status", 200)
        elif kind == "http.response.body" and not message.get("more_body", False):
            try:
                await self.send(message)
            except BaseException:
                # The client went away while the body was sent: the app's choice stands.
                await self._settle(self.status)
                raise
            await self._settle(self.status)
            return
        await self.send(message)

    async def _settle(self, status: int | None) -> None:
        if not self.settled:
            self.settled = True
            await self.guard.afinish(self.plan, self.verdict, status)


def _url(guard: Guard, plan: Plan, scope: Scope, path: str, query: str, headers: Headers) -> str:
    client = scope.get("client")
    server = scope.get("server")
    default_host = f"{server[0]}:{server[1]}" if server else ""
    return public_url(
        configured=plan.target.route.public_url,  # type: ignore[union-attr]
        scheme=scope.get("scheme", "http"),
        host=headers.get("host") or default_host,
        root_path=scope.get("root_path", ""),
        path=path,
        query=query,
        headers=headers,
        peer=client[0] if client else None,
        trusted=guard.trusted_proxies,
    )


async def _read_body(receive: Receive, limit: int, timeout: float) -> tuple[bytes, Reason | None]:
    """Read the whole body within ``limit`` bytes and ``timeout`` seconds."""
    try:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
    except RuntimeError:  # not asyncio (e.g. trio): no deadline from us
        return await _collect(receive, limit)
    if task is None:
        return await _collect(receive, limit)
    timed_out = False

    def expire() -> None:
        nonlocal timed_out
        timed_out = True
        task.cancel()

    # One timer for the whole body: a slow client cannot reset it byte by byte.
    handle = loop.call_at(loop.time() + timeout, expire)
    try:
        return await _collect(receive, limit)
    except asyncio.CancelledError:
        if not timed_out:
            raise
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:
            uncancel()
        return b"", Reason.BODY_TIMEOUT
    finally:
        handle.cancel()


async def _collect(receive: Receive, limit: int) -> tuple[bytes, Reason | None]:
    message = await receive()
    if message.get("type") != "http.request":
        return b"", Reason.BODY_INCOMPLETE  # http.disconnect: the client went away
    chunk = message.get("body", b"")
    if len(chunk) > limit:
        return b"", Reason.BODY_TOO_LARGE
    if not message.get("more_body", False):
        return chunk, None  # the usual case: the whole body in one message, no copy
    chunks, total = [chunk], len(chunk)
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return b"", Reason.BODY_INCOMPLETE
        chunk = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if total > limit:
                return b"", Reason.BODY_TOO_LARGE
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None  # the one copy of a body sent in pieces


async def _respond(verdict: Verdict, send: Send) -> None:
    status, headers, body = render(verdict)
    await _send_response(send, status, headers, body)


async def _send_response(
    send: Send, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
