"""``uvicorn --workers 2 tests.deployment.store_asgi:app``: the guard built in each worker."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from tests.asgi_lifespan import lifespan
from tests.deployment.store_common import HEALTH, PATH, health, make_guard, record_hit


async def inner(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["type"] != "http":
        return
    status, out = 200, b""
    if scope["path"] == PATH:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        out = record_hit(b"".join(chunks))
    elif scope["path"] == HEALTH:
        out = health()
    else:
        status = 404
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(out)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": out})


app = make_guard().asgi(inner)
