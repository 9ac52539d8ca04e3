"""WSGI adapter: ``app.wsgi_app = guard.wsgi(app.wsgi_app)``.

For a guarded path the body is read within the route's limit (413 on a declared
``Content-Length`` above it, before reading), verified, and handed on as a fresh
``wsgi.input`` holding exactly the verified bytes with a matching ``CONTENT_LENGTH``.
Chunked bodies are read only when the server sets ``wsgi.input_terminated`` (PEP 3333
servers need not signal EOF otherwise); without it a body with no length gets 411.

The replay claim is settled by the status the app chose at ``start_response``: 2xx
commits, anything else (or an exception) releases. The store is written after the
response has been handed to the server: when the response iterable is exhausted or
closed, not while the client waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from http import HTTPStatus
from io import BytesIO
from time import perf_counter
from typing import Any

from webhook_guard._types import Environ, StartResponse, WSGIApp
from webhook_guard._url import public_url, server_host
from webhook_guard._workers import detect
from webhook_guard.core.guard import CLAIM_NEW as _NEW
from webhook_guard.core.guard import READ_TO_END, Plan
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard
from webhook_guard.observability import warn_memory_store
from webhook_guard.responses import render

__all__ = ("WSGIWebhookGuard",)

_CHUNK = 64 * 1024
_new_request = tuple.__new__  # WebhookRequest(...) without its Python-level __new__
_STATUS_LINES = {int(s): f"{int(s)} {s.phrase}" for s in HTTPStatus}


class WSGIWebhookGuard:
    """WSGI middleware running a ``Guard`` in front of ``app``.

    :param app: the WSGI application.
    :param guard: a configured ``Guard``; or pass ``routes=`` and ``Guard`` options.
    """

    def __init__(self, app: WSGIApp, guard: Guard | None = None, **options: Any) -> None:
        self.app = app
        self.guard = guard if guard is not None else Guard(**options)
        self._match = self.guard.match
        self._misses = self.guard.engine.table.misses
        self._plan = self.guard.engine.plan
        # A server that detection recognised was handled when the Guard was built; only
        # an unknown one is judged by wsgi.multiprocess at the first guarded request
        # (uvicorn's and hypercorn's WSGI wrappers always set it, granian never does).
        self._warned = not self.guard._local_store or detect() is not None
        self.guard.check_store_mode(asynchronous=False)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.isascii():  # PEP 3333 carries bytes as latin-1; routers decode UTF-8
            path = path.encode("latin-1", "replace").decode("utf-8", "replace")
        if path in self._misses:  # seen before, under no route: one lookup
            return self.app(environ, start_response)
        found = self._match(path)
        if found is None:
            return self.app(environ, start_response)
        # A guarded request. One function, few calls: this is the path every webhook takes.
        started = perf_counter()
        guard = self.guard
        if not self._warned and environ.get("wsgi.multiprocess"):
            self._warned = True
            warn_memory_store(
                "the WSGI server runs several processes (wsgi.multiprocess)", in_request=True
            )
        method = environ.get("REQUEST_METHOD", "GET")
        declared = environ.get("CONTENT_LENGTH")
        plan = self._plan(
            found,
            (declared,) if declared else (),
            environ.get("HTTP_TRANSFER_ENCODING"),
            bool(environ.get("wsgi.input_terminated")),
        )
        target = plan[0]
        if plan[3] is not None or target is None:
            return self._refuse(plan[3], started, method, start_response)  # type: ignore[arg-type]
        body, problem = _read_body(environ.get("wsgi.input"), plan[2], target.max_body)
        if problem is not None:
            return self._refuse(guard.refuse(plan, problem), started, method, start_response)
        query = environ.get("QUERY_STRING", "")
        headers = Headers.from_environ(environ)
        scheme = target.scheme
        url = _url(guard, plan, environ, path, query, headers) if scheme and scheme.needs_url else ""
        verdict = guard.verify(
            plan, _new_request(WebhookRequest, (method, path, headers, body, query, url, plan[1]))
        )
        store = guard.store
        if verdict[10] is not None and store is not None:  # the replay key
            claim = guard.claim(verdict)
            if claim is not _NEW:
                verdict = guard.settle(plan, verdict, claim)
        guard.record(verdict, started, method)
        if not verdict[0] and not verdict.passes:
            return _respond(verdict, start_response)
        if verdict[15] is not None:  # a verified handshake the guard answers itself
            status, response_headers, content = verdict[15]
            start_response(_status_line(status), list(response_headers))
            return [content]
        environ["wsgi.input"] = BytesIO(body)
        if declared is None or (len(declared) != len(body) and declared != str(len(body))):
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ[VERDICT_KEY] = verdict
        if not verdict[0] or verdict[10] is None or store is None:
            return self.app(environ, start_response)
        # Settle the claim by the status the app chose, once the response is with the server.
        settling = _Settling(guard, plan, verdict, start_response)
        try:
            result = self.app(environ, settling.start_response)
        except BaseException:
            guard.finish(plan, verdict, None)
            raise
        if result.__class__ is list and guard._local_store:
            # Nothing can fail any more and the store does no I/O: settle now.
            guard.finish(plan, verdict, settling.status)
            return result
        settling.result = result
        return settling

    def _refuse(
        self, verdict: Verdict, started: float, method: str, start_response: StartResponse
    ) -> list[bytes]:
        self.guard.record(verdict, started, method)
        return _respond(verdict, start_response)


class _Settling:
    """Passes the app's ``start_response`` through, noting the status; the response
    iterable given to the server settles the replay claim when it is exhausted or closed
    (after the last chunk is with the server): 2xx commits, anything else, or an
    exception from the app, releases."""

    __slots__ = ("failed", "guard", "plan", "respond", "result", "settled", "status", "verdict")

    def __init__(self, guard: Guard, plan: Plan, verdict: Verdict, respond: StartResponse) -> None:
        self.guard = guard
        self.plan = plan
        self.verdict = verdict
        self.respond = respond
        self.status: int | None = None
        self.failed = False
        self.settled = False
        self.result: Iterable[bytes] = ()

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        code = status[:3]
        self.status = int(code) if code.isdigit() else None
        return self.respond(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        result = self.result
        if result.__class__ is list:
            return iter(result)  # cannot fail: settled by close()
        return self._iterate()

    def _iterate(self) -> Iterator[bytes]:
        try:
            yield from self.result
        except GeneratorExit:
            # The server stopped iterating (a client gone mid-stream) and dropped or closed
            # the iterator: the app did not fail, its answer stands.
            self._settle()
            raise
        except BaseException:
            self.failed = True
            self._settle()
            raise
        self._settle()  # the last chunk is with the server

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self._settle()

    def _settle(self) -> None:
        if not self.settled:
            self.settled = True
            self.guard.finish(self.plan, self.verdict, None if self.failed else self.status)


def _url(
    guard: Guard, plan: Plan, environ: Environ, path: str, query: str, headers: Headers
) -> str:
    return public_url(
        configured=plan.target.route.public_url,  # type: ignore[union-attr]
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=environ.get("HTTP_HOST") or server_host(environ),
        root_path=environ.get("SCRIPT_NAME", ""),
        path=path,
        query=query,
        headers=headers,
        peer=environ.get("REMOTE_ADDR"),
        trusted=guard.trusted_proxies,
    )


def _read_body(stream: Any, length: int, limit: int) -> tuple[bytes, Reason | None]:
    if length == READ_TO_END:
        return _read_to_end(stream, limit)
    if length == 0:
        return b"", None
    try:
        body = stream.read(length)  # the whole body in one read, as servers buffer it
        if len(body) == length:
            return body, None
        chunks, remaining = [body], length - len(body)
        while remaining:
            if not chunks[-1]:
                return b"", Reason.BODY_INCOMPLETE
            chunk = stream.read(min(remaining, _CHUNK))
            chunks.append(chunk)
            remaining -= len(chunk)
    except Exception:  # client disconnects surface as server-specific exceptions
        return b"", Reason.BODY_INCOMPLETE
    return b"".join(chunks), None


def _read_to_end(stream: Any, limit: int) -> tuple[bytes, Reason | None]:
    chunks, total = [], 0
    try:
        while True:
            chunk = stream.read(min(limit + 1 - total, _CHUNK) or 1)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                return b"", Reason.BODY_TOO_LARGE
    except Exception:
        return b"", Reason.BODY_INCOMPLETE
    return b"".join(chunks), None


def _respond(verdict: Verdict, start_response: StartResponse) -> list[bytes]:
    status, headers, body = render(verdict)
    start_response(_status_line(status), headers)
    return [body]


def _status_line(status: int) -> str:
    return _STATUS_LINES.get(status) or f"{status} Status {status}"
