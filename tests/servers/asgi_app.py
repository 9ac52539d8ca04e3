"""A raw ASGI app behind ``guard.asgi``: ``uvicorn tests.servers.asgi_app:app``.

Same behaviour as ``wsgi_app``: guarded paths echo the body digest and the verdict,
``/hits`` (unguarded) counts requests that reached a guarded path.
"""

from __future__ import annotations

import json
from typing import Any

from tests.asgi_lifespan import lifespan
from tests.servers.common import GUARDED, Hits, echo, make_guard
from webhook_guard import get_verdict

hits = Hits()


async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    path = scope["path"]
    if path == "/hits":
        out = json.dumps({"hits": hits.count}).encode("ascii")
    else:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if path in GUARDED:
            hits.count += 1
        out = echo(b"".join(chunks), get_verdict(scope), hits.count)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(out)).encode("ascii")),
                (b"x-hits", str(hits.count).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": out})


app = make_guard().asgi(inner)
