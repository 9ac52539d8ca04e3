"""ASGI adapter: ``app = guard.asgi(app)`` or ``app.add_middleware(ASGIWebhookGuard, guard=guard)``.

For a guarded path the body is read from ``receive`` within the route's limit and the
guard's body deadline, verified, and replayed to the app as one ``http.request``
message; later ``receive`` calls go to the server, so the app still sees
``http.disconnect``. Lifespan scopes pass through; a websocket on a guarded path is
closed (webhooks are HTTP requests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from webhook_guard._types import ASGIApp, Message, Receive, Scope, Send
from webhook_guard._url import public_url
from webhook_guard.core.guard import body_framing
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard
from webhook_guard.responses import render

__all__ = ("ASGIWebhookGuard", "route_path")

_POLICY_VIOLATION = 1008


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
        self._plan = self.guard.plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            plan = self._plan(route_path(scope))
            if plan is None:
                if VERDICT_KEY in scope:
                    del scope[VERDICT_KEY]
                await self.app(scope, receive, send)
            else:
                await self._guarded(plan, scope, receive, send)
        elif kind == "websocket" and self._plan(route_path(scope)) is not None:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
        else:
            await self.app(scope, receive, send)

    async def _guarded(self, plan: Any, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        guard = self.guard
        method: str = scope.get("method", "GET")
        if isinstance(plan, Verdict):
            await _respond(guard.refuse(None, plan.reason, started, method=method), send)
            return
        headers = Headers.from_asgi(scope.get("headers") or ())
        framing = body_framing(
            headers.getlist("content-length"),
            headers.get("transfer-encoding"),
            limit=plan.max_body,
            terminated=True,
        )
        if isinstance(framing, Reason):
            await _respond(guard.refuse(plan, framing, started, method=method), send)
            return
        body, problem = await _read_body(receive, plan.max_body, guard.body_timeout)
        if problem is not None:
            if problem is not Reason.BODY_INCOMPLETE:  # a disconnected client gets no answer
                await _respond(guard.refuse(plan, problem, started, method=method), send)
            else:
                guard.refuse(plan, problem, started, method=method)
            return
        raw_query = scope.get("query_string", b"")
        query = raw_query.decode("latin-1") if isinstance(raw_query, bytes) else str(raw_query)
        path = route_path(scope)
        url = ""
        scheme = plan.route.provider
        if scheme is not None and scheme.needs_url:
            client = scope.get("client")
            server = scope.get("server")
            default_host = f"{server[0]}:{server[1]}" if server else ""
            url = public_url(
                configured=plan.route.public_url,
                scheme=scope.get("scheme", "http"),
                host=headers.get("host") or default_host,
                root_path=scope.get("root_path", ""),
                path=path,
                query=query,
                headers=headers,
                peer=client[0] if client else None,
                trusted=guard.trusted_proxies,
            )
        request = WebhookRequest(
            method=method,
            path=path,
            headers=headers,
            body=body,
            query=query,
            url=url,
            params=plan.params,
        )
        verdict = await guard.acheck(plan, request, started)
        if not verdict.passes:
            await _respond(verdict, send)
            return
        if verdict.response is not None:  # a verified handshake the guard answers itself
            status, response_headers, content = verdict.response
            await _send_response(send, status, response_headers, content)
            return
        scope[VERDICT_KEY] = verdict
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if verdict.replay_key is None or guard.store is None:
            await self.app(scope, replay, send)
            return
        decided = False

        async def settle(status: int | None) -> None:
            nonlocal decided
            if not decided:
                decided = True
                await guard.afinish(verdict, status)

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await settle(message.get("status", 200))
            await send(message)

        try:
            await self.app(scope, replay, tracking_send)
        finally:
            await settle(None)  # the app raised, or returned without a response


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
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        kind = message.get("type")
        if kind != "http.request":
            return b"", Reason.BODY_INCOMPLETE  # http.disconnect: the client went away
        chunk = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if total > limit:
                return b"", Reason.BODY_TOO_LARGE
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if not chunks:
        return b"", None
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), None


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
