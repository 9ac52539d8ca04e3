"""WSGI adapter: ``app.wsgi_app = guard.wsgi(app.wsgi_app)``.

For a guarded path the body is read within the route's limit (413 on a declared
``Content-Length`` above it, before reading), verified, and handed on as a fresh
``wsgi.input`` holding exactly the verified bytes with a matching ``CONTENT_LENGTH``.
Chunked bodies are read only when the server sets ``wsgi.input_terminated`` (PEP 3333
servers need not signal EOF otherwise); without it a body with no length gets 411.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from webhook_guard._types import Environ, StartResponse, WSGIApp
from webhook_guard._url import public_url, server_host
from webhook_guard.core.guard import READ_TO_END, body_framing
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard
from webhook_guard.observability import warn_memory_store
from webhook_guard.responses import render
from webhook_guard.stores import MemoryReplayStore

__all__ = ("WSGIWebhookGuard",)

_CHUNK = 64 * 1024


class WSGIWebhookGuard:
    """WSGI middleware running a ``Guard`` in front of ``app``.

    :param app: the WSGI application.
    :param guard: a configured ``Guard``; or pass ``routes=`` and ``Guard`` options.
    """

    def __init__(self, app: WSGIApp, guard: Guard | None = None, **options: Any) -> None:
        self.app = app
        self.guard = guard if guard is not None else Guard(**options)
        self._plan = self.guard.plan
        self._warned = not isinstance(self.guard.store, MemoryReplayStore)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.isascii():  # PEP 3333 carries bytes as latin-1; routers decode UTF-8
            path = path.encode("latin-1", "replace").decode("utf-8", "replace")
        plan = self._plan(path)
        if plan is None:
            if VERDICT_KEY in environ:
                del environ[VERDICT_KEY]
            return self.app(environ, start_response)
        started = time.perf_counter()
        guard = self.guard
        if not self._warned and environ.get("wsgi.multiprocess"):
            self._warned = True
            warn_memory_store("the WSGI server runs several processes (wsgi.multiprocess)")
        method = environ.get("REQUEST_METHOD", "GET")
        if isinstance(plan, Verdict):
            return _respond(guard.refuse(None, plan.reason, started, method=method), start_response)
        body, problem = _read_body(environ, plan.max_body)
        if problem is not None:
            return _respond(guard.refuse(plan, problem, started, method=method), start_response)
        headers = Headers.from_environ(environ)
        query = environ.get("QUERY_STRING", "")
        url = ""
        scheme = plan.route.provider
        if scheme is not None and scheme.needs_url:
            url = public_url(
                configured=plan.route.public_url,
                scheme=environ.get("wsgi.url_scheme", "http"),
                host=environ.get("HTTP_HOST") or server_host(environ),
                root_path=environ.get("SCRIPT_NAME", ""),
                path=path,
                query=query,
                headers=headers,
                peer=environ.get("REMOTE_ADDR"),
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
        verdict = guard.check(plan, request, started)
        if not verdict.passes:
            return _respond(verdict, start_response)
        if verdict.response is not None:  # a verified handshake the guard answers itself
            status, response_headers, content = verdict.response
            start_response(f"{status} {HTTPStatus(status).phrase}", list(response_headers))
            return [content]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ[VERDICT_KEY] = verdict
        if verdict.replay_key is None or guard.store is None:
            return self.app(environ, start_response)
        return _Settling(self.app, guard, verdict).run(environ, start_response)


class _Settling:
    """Runs the app and commits the replay claim on a status below 500, else releases it."""

    __slots__ = ("app", "decided", "guard", "verdict")

    def __init__(self, app: WSGIApp, guard: Guard, verdict: Verdict) -> None:
        self.app = app
        self.guard = guard
        self.verdict = verdict
        self.decided = False

    def settle(self, status: int | None) -> None:
        if not self.decided:
            self.decided = True
            self.guard.finish(self.verdict, status)

    def run(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def tracking(status: str, headers: Any, exc_info: Any = None) -> Any:
            code = status[:3]
            self.settle(int(code) if code.isdigit() else None)
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, tracking)
        except BaseException:
            self.settle(None)
            raise
        if self.decided:
            return result
        return self._deferred(result)  # start_response is called on first iteration

    def _deferred(self, result: Iterable[bytes]) -> Iterator[bytes]:
        try:
            yield from result
        except BaseException:
            self.settle(None)
            raise
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            self.settle(None)


def _read_body(environ: Environ, limit: int) -> tuple[bytes, Reason | None]:
    declared = environ.get("CONTENT_LENGTH")
    framing = body_framing(
        [declared] if declared else (),
        environ.get("HTTP_TRANSFER_ENCODING"),
        limit=limit,
        terminated=bool(environ.get("wsgi.input_terminated")),
    )
    if isinstance(framing, Reason):
        return b"", framing
    stream = environ.get("wsgi.input")
    if framing == READ_TO_END:
        return _read_to_end(stream, limit)
    if framing == 0:
        return b"", None
    return _read_exactly(stream, framing)


def _read_exactly(stream: Any, length: int) -> tuple[bytes, Reason | None]:
    chunks, remaining = [], length
    try:
        while remaining:
            chunk = stream.read(min(remaining, _CHUNK))
            if not chunk:
                return b"", Reason.BODY_INCOMPLETE
            chunks.append(chunk)
            remaining -= len(chunk)
    except Exception:  # client disconnects surface as server-specific exceptions
        return b"", Reason.BODY_INCOMPLETE
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), None


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
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]
