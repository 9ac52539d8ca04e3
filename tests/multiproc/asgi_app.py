"""``uvicorn --workers 4 tests.multiproc.asgi_app:app``: a raw ASGI endpoint behind the guard."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.asgi_lifespan import lifespan
from tests.multiproc.common import (
    DELAY,
    HEALTH,
    PATH,
    STRIPE_PATH,
    health,
    make_guard,
    record_hit,
)


async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["type"] != "http":
        return
    path = scope["path"]
    status = 200
    if path in (PATH, STRIPE_PATH):
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        out = record_hit(b"".join(chunks))
        await asyncio.sleep(DELAY)
    elif path == HEALTH:
        out = health()
    else:
        status, out = 404, b""
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
