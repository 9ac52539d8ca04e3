"""Helpers for users' tests: sign bodies like a provider would, build requests.

No pytest import here; ``webhook_guard.pytest_plugin`` wraps these in fixtures.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Mapping
from typing import Any

from webhook_guard.core.scheme import Scheme

__all__ = (
    "FrozenClock",
    "asgi_receive",
    "build_asgi_scope",
    "build_wsgi_environ",
    "call_asgi",
    "sign",
)


def sign(
    provider: Scheme,
    body: bytes,
    *,
    secret: str | bytes,
    timestamp: float | None = None,
    **extra: Any,
) -> dict[str, str]:
    """Headers that make ``body`` verify on a route using ``provider``.

    ``timestamp`` (seconds) defaults to now for schemes that sign one.
    """
    if timestamp is None:
        timestamp = time.time()
    return provider.sign(body, secret=secret, timestamp=timestamp, **extra)


class FrozenClock:
    """A clock for tests: returns ``now`` until moved with ``advance``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def build_wsgi_environ(
    path: str,
    *,
    body: bytes = b"",
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    query: str = "",
    chunked: bool = False,
) -> dict[str, Any]:
    """A PEP 3333 environ for ``path`` with ``body`` and ``headers``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


def asgi_receive(*chunks: bytes) -> Any:
    """An ASGI ``receive`` yielding ``chunks`` as ``http.request`` messages, then disconnect."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks or (b"",))
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    return receive


def build_asgi_scope(
    path: str,
    *,
    body: bytes = b"",
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    query: str = "",
    client: tuple[str, int] = ("127.0.0.1", 40000),
    server: tuple[str, int] = ("127.0.0.1", 80),
) -> dict[str, Any]:
    """An ASGI HTTP scope for ``path`` with ``headers`` and a ``content-length`` for ``body``."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw.append((b"content-length", str(len(body)).encode("ascii")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": raw,
        "client": client,
        "server": server,
    }


async def call_asgi(
    app: Any, scope: dict[str, Any], body: bytes = b"", *, timeout: float = 10.0
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run ``app`` on ``scope`` with ``body`` as one message, like a server: nothing more
    arrives until the response is complete. Returns status, headers and the whole body."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(timeout)  # the client stays until the answer is sent
        return {"type": "http.disconnect"}

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=timeout)
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return int(start["status"]), list(start.get("headers", [])), content
