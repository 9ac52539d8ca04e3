"""A guard with the default (in-memory) replay store, as a WSGI and an ASGI app.

Importing this module builds the ``Guard`` (that is when the several-workers warning is
given), then creates ``$WG_WORKERS_MARKS/<pid>`` so the test knows this process has
built it. The module configures no logging: the warning must reach stderr on its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from tests.asgi_lifespan import lifespan
from webhook_guard import Guard, Route
from webhook_guard.providers import github

guard = Guard([Route("/hooks/github", github(secret="workers-github-secret-0123456789"))])
(Path(os.environ["WG_WORKERS_MARKS"]) / str(os.getpid())).touch()


def _wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


async def _asgi(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


wsgi_app = guard.wsgi(_wsgi)
asgi_app = guard.asgi(_asgi)
