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
import math
import weakref
from collections.abc import Callable, Iterable
from time import monotonic, perf_counter
from typing import Any

from webhook_guard._types import ASGIApp, Message, Receive, Scope, Send
from webhook_guard._url import public_url
from webhook_guard.core.guard import CLAIM_NEW as _NEW
from webhook_guard.core.guard import Plan
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard
from webhook_guard.responses import render

__all__ = ("ASGIWebhookGuard", "route_path")

_POLICY_VIOLATION = 1008
#: The messages that can end a response body (without ``more_body``): the body itself, and
#: the zero-copy and path-send extensions (Starlette's ``FileResponse`` uses the latter,
#: which carries no ``more_body`` at all).
_LAST_BODY = frozenset(
    ("http.response.body", "http.response.zerocopysend", "http.response.pathsend")
)
_new_request = tuple.__new__  # WebhookRequest(...) without its Python-level __new__


def route_path(scope: Scope, root_path: str | None = None) -> str:
    """The path the router matches: ``path`` minus ``root_path`` (as Starlette does;
    ``root_path`` given: instead of the scope's, as ``FastAPI(root_path=...)`` sets it)."""
    path: str = scope["path"]
    if root_path is None:
        root_path = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


def _router_path(app: ASGIApp) -> Callable[[Scope], str] | None:
    """How the wrapped app finds its path when it is not ``route_path(scope)``: an app
    that sets or strips its own prefix after the guard has looked. The guard must match
    the path the app routes on, or a request under the prefix reaches a guarded view
    unverified.

    - Django's handler strips ``FORCE_SCRIPT_NAME`` (else the scope's ``root_path``)
      with ``str.removeprefix``;
    - ``FastAPI(root_path=...)`` overwrites the scope's ``root_path`` with its own.
    """
    kind = type(app)
    if any(c.__module__ == "django.core.handlers.asgi" for c in kind.__mro__):
        from django.core.handlers import asgi as django_asgi

        prefix = getattr(django_asgi, "get_script_prefix", None)

        def django_path(scope: Scope) -> str:
            path: str = scope["path"]
            script = prefix(scope) if prefix is not None else scope.get("root_path", "")
            return path.removeprefix(script) if script else path

        return django_path
    if any(c.__module__ == "fastapi.applications" for c in kind.__mro__):
        forced = getattr(app, "root_path", "")
        if forced:
            return lambda scope: route_path(scope, forced)
    return None


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
        self._misses = self.guard.engine.table.misses
        self._plan = self.guard.engine.plan
        self._router_path = _router_path(app)
        self.guard.check_store_mode(asynchronous=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self._match(self._path(scope)) is not None:
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
                return
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self._router_path is not None:
            path = self._router_path(scope)
        elif scope.get("root_path"):
            path = route_path(scope)
        if path in self._misses:  # seen before, under no route: one lookup
            await self.app(scope, receive, send)
            return
        found = self._match(path)
        if found is None:
            await self.app(scope, receive, send)
            return
        # A guarded request. One function, few calls: this is the path every webhook takes.
        started = perf_counter()
        guard = self.guard
        method: str = scope.get("method", "GET")
        headers = Headers.from_asgi(scope.get("headers") or ())
        plan = self._plan(
            found,
            headers.getlist("content-length"),
            (headers.getlist("transfer-encoding") or (None,))[0],
            terminated=True,  # the server frames the body: read until more_body is False
        )
        target = plan[0]
        if plan[3] is not None or target is None:
            await self._refuse(plan[3], started, method, send)  # type: ignore[arg-type]
            return
        body, problem = await _read_body(receive, target.max_body, guard.body_timeout)
        if problem is not None:
            refusal = guard.refuse(plan, problem)
            guard.record(refusal, started, method)
            if problem is not Reason.BODY_INCOMPLETE:  # a disconnected client gets no answer
                await _respond(refusal, send)
            return
        raw_query = scope.get("query_string", b"")
        query = raw_query.decode("latin-1") if raw_query.__class__ is bytes else str(raw_query)
        scheme = target.scheme
        url = _url(guard, plan, scope, path, query, headers) if scheme and scheme.needs_url else ""
        verdict = guard.verify(
            plan, _new_request(WebhookRequest, (method, path, headers, body, query, url, plan[1]))
        )
        store = guard.store
        if verdict[10] is not None and store is not None:  # the replay key
            claim = guard.claim(verdict) if guard._local_store else await guard.aclaim(verdict)
            if claim is not _NEW:
                verdict = guard.settle(plan, verdict, claim)
        guard.record(verdict, started, method)
        if not verdict[0] and not verdict.passes:
            await _respond(verdict, send)
            return
        if verdict[15] is not None:  # a verified handshake the guard answers itself
            status, response_headers, content = verdict[15]
            await _send_response(send, status, response_headers, content)
            return
        scope[VERDICT_KEY] = verdict
        exchange = _Exchange(body, receive, send, guard, plan, verdict)
        if not verdict[0] or verdict[10] is None or store is None:
            await self.app(scope, exchange.receive, send)
            return
        # Settle the claim by the status the app chose, once the answer is with the server.
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BaseException:
            # The server could not send (a client gone mid-stream): the app's answer stands.
            # Anything else the app raised: released, so the provider's retry is processed.
            await exchange.settle(exchange.status if exchange.unsent else None)
            raise
        if not exchange.settled:  # the app returned without finishing a response
            await exchange.settle(None)

    def _path(self, scope: Scope) -> str:
        router_path = self._router_path
        return route_path(scope) if router_path is None else router_path(scope)

    async def _refuse(self, verdict: Verdict, started: float, method: str, send: Send) -> None:
        self.guard.record(verdict, started, method)
        await _respond(verdict, send)


class _Exchange:
    """What the app talks to: ``receive`` hands it the verified body as one message (the
    bytes that were verified, not copied again), then the server's own ``receive`` (so
    ``http.disconnect`` reaches it); ``send`` notes the status it chose and settles the
    replay claim after the last body message is with the server (2xx commits, even if
    the client went away while the body was sent)."""

    __slots__ = (
        "body",
        "guard",
        "local",
        "plan",
        "server_receive",
        "server_send",
        "settled",
        "status",
        "unsent",
        "verdict",
    )

    def __init__(
        self,
        body: bytes,
        receive: Receive,
        send: Send,
        guard: Guard,
        plan: Plan,
        verdict: Verdict,
    ) -> None:
        self.body: bytes | None = body
        self.server_receive = receive
        self.server_send = send
        self.guard = guard
        self.plan = plan
        self.verdict = verdict
        self.local = guard._local_store
        self.status: int | None = None
        self.settled = False
        self.unsent = False  # the server failed to send a message: the client went away

    async def receive(self) -> Message:
        body = self.body
        if body is None:
            return await self.server_receive()
        self.body = None
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message.get("status", 200)
        elif kind in _LAST_BODY and not message.get("more_body", False):
            try:
                await self.server_send(message)
            finally:
                # Sent, or the client went away while it was sent: the app's choice stands.
                await self.settle(self.status)
            return
        try:
            await self.server_send(message)
        except BaseException:
            self.unsent = True
            raise

    async def settle(self, status: int | None) -> None:
        if not self.settled:
            self.settled = True
            if self.local:
                self.guard.finish(self.plan, self.verdict, status)
            else:
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


class _Watchdog:
    """Cancels body reads that outlive their deadline: one timer per event loop for all the
    reads in flight, instead of a timer set and cancelled for every request (scheduling
    one costs about ten Python calls in asyncio)."""

    __slots__ = ("armed_at", "expired", "handle", "loop", "reading")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reading: dict[asyncio.Task[Any], float] = {}  # task -> deadline (monotonic)
        self.expired: set[asyncio.Task[Any]] = set()
        self.handle: asyncio.TimerHandle | None = None
        self.armed_at = math.inf

    def arm(self, when: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.armed_at = when
        self.handle = self.loop.call_at(when, self.check)

    def check(self) -> None:
        self.handle, self.armed_at = None, math.inf
        now = monotonic()
        soonest = math.inf
        for task, deadline in list(self.reading.items()):
            if deadline <= now:
                del self.reading[task]
                self.expired.add(task)
                task.cancel()
            elif deadline < soonest:
                soonest = deadline
        if soonest < math.inf:
            self.arm(soonest)


_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)
_current_tasks: dict[Any, Any] | None = getattr(asyncio.tasks, "_current_tasks", None)


def _watchdog(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    global _LAST_WATCHDOG
    last = _LAST_WATCHDOG
    if last is not None and last.loop is loop:  # one loop per process, usually
        return last
    watchdog = _WATCHDOGS.get(loop)
    if watchdog is None:
        watchdog = _WATCHDOGS[loop] = _Watchdog(loop)
    _LAST_WATCHDOG = watchdog
    return watchdog


_LAST_WATCHDOG: _Watchdog | None = None


async def _read_body(receive: Receive, limit: int, timeout: float) -> tuple[bytes, Reason | None]:
    """Read the whole body within ``limit`` bytes and ``timeout`` seconds in all (a slow
    client cannot reset the deadline byte by byte)."""
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (e.g. trio): no deadline from us
        loop = None
    task = None
    if loop is not None:
        task = _current_tasks.get(loop) if _current_tasks is not None else asyncio.current_task()
    watchdog = None
    if task is not None:
        watchdog = _watchdog(loop)  # type: ignore[arg-type]
        deadline = monotonic() + timeout
        watchdog.reading[task] = deadline
        if deadline < watchdog.armed_at:
            watchdog.arm(deadline)
    try:
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
    except asyncio.CancelledError:
        if watchdog is None or task not in watchdog.expired:
            raise
        watchdog.expired.discard(task)
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:
            uncancel()
        return b"", Reason.BODY_TIMEOUT
    finally:
        if watchdog is not None:
            watchdog.reading.pop(task, None)  # type: ignore[arg-type]


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
