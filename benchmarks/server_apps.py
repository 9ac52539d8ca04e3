"""The apps ``benchmarks/servers.py`` serves: one module, the variant chosen by the
``WG_BENCH_VARIANT`` environment variable, for uvicorn (``asgi``, ``starlette``) and
gunicorn (``wsgi``, ``flask``).

Variants (PERFORMANCE.md's letters):

- ``a``: the bare endpoint, reading the body;
- ``b``: GitHub's documented check written in the endpoint;
- ``c``: a trivial pass-through middleware around ``a``;
- ``d``: webhook_guard (50 routes, no replay store) around ``a``;
- ``f``: the guard of ``d``, requests to an unmatched path (served by ``a``);
- ``g``: the pass-through middleware of ``c``, requests to that unmatched path.

Every endpoint answers 200 ``{"ok":true}``, or 401 when ``b``'s check fails.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from benchmarks.common import GUARDED_PATH, N_ROUTES, SECRET, SECRET_BYTES, other_routes
from webhook_guard import Guard, Route
from webhook_guard.providers import github

VARIANT = os.environ.get("WG_BENCH_VARIANT", "a")
OK = b'{"ok":true}'


def _guard() -> Guard:
    return Guard(
        [Route(GUARDED_PATH, github(secret=SECRET)), *other_routes(N_ROUTES - 1)],
        replay_store=None,
    )


def _signature_ok(body: bytes, signature: str | bytes | None) -> bool:
    if signature is None:
        return False
    if isinstance(signature, bytes):
        signature = signature.decode("latin-1")
    expected = "sha256=" + hmac.new(SECRET_BYTES, msg=body, digestmod=hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("latin-1"))


# -- raw ASGI ----------------------------------------------------------------------------------

_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
}
_OK = {"type": "http.response.body", "body": OK}
_DENIED = {"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]}


async def _body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def asgi_bare(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await _body(receive)
    await send(_START)
    await send(_OK)


async def asgi_hand(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await _body(receive)
    signature = dict(scope["headers"]).get(b"x-hub-signature-256")
    if not _signature_ok(body, signature):
        await send(_DENIED)
        await send({"type": "http.response.body", "body": b""})
        return
    await send(_START)
    await send(_OK)


class ASGIPass:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


# -- Starlette -----------------------------------------------------------------------------------


def _starlette(hand: bool) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route as SRoute

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        if hand and not _signature_ok(body, request.headers.get("x-hub-signature-256")):
            return Response(status_code=401)
        return Response(OK, media_type="application/json")

    return Starlette(routes=[SRoute("/{path:path}", endpoint, methods=["POST"])])


# -- raw WSGI and Flask ---------------------------------------------------------------------------

_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "11")]


def wsgi_bare(environ: Any, start_response: Any) -> Any:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", _HEADERS)
    return [OK]


def wsgi_hand(environ: Any, start_response: Any) -> Any:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if not _signature_ok(body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
        start_response("401 Unauthorized", [("Content-Length", "0")])
        return [b""]
    start_response("200 OK", _HEADERS)
    return [OK]


class WSGIPass:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def _flask(hand: bool) -> Any:
    from flask import Flask, Response, request

    app = Flask("bench")

    @app.post("/<path:path>")
    def endpoint(path: str) -> Any:
        body = request.get_data()
        if hand and not _signature_ok(body, request.headers.get("X-Hub-Signature-256")):
            return Response(status=401)
        return Response(OK, mimetype="application/json")

    return app


def _build(kind: str) -> Any:
    hand = VARIANT == "b"
    if kind == "asgi":
        inner: Any = asgi_hand if hand else asgi_bare
    elif kind == "starlette":
        inner = _starlette(hand)
    elif kind == "wsgi":
        inner = wsgi_hand if hand else wsgi_bare
    else:
        inner = _flask(hand)
    asynchronous = kind in ("asgi", "starlette")
    if VARIANT in ("c", "g"):
        return ASGIPass(inner) if asynchronous else WSGIPass(inner)
    if VARIANT in ("d", "f"):
        if kind == "flask":
            inner.wsgi_app = _guard().wsgi(inner.wsgi_app)
            return inner
        return _guard().asgi(inner) if asynchronous else _guard().wsgi(inner)
    return inner


def __getattr__(name: str) -> Any:
    # ``benchmarks.server_apps:asgi`` etc., built on first use in the server's worker.
    if name in ("asgi", "starlette", "wsgi", "flask"):
        app = _build(name)
        globals()[name] = app
        return app
    raise AttributeError(name)
