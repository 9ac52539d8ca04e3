"""A WSGI app behind ``guard.wsgi``: ``gunicorn tests.servers.wsgi_app:app``.

- Guarded paths (``/hooks/...``) echo the SHA-256 of the body and the verdict.
- ``/hits`` (unguarded) answers how many requests reached a guarded path.
- Any other path echoes like a guarded one (with the "not guarded" verdict).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from tests.servers.common import GUARDED, Hits, echo, make_guard
from webhook_guard import get_verdict

hits = Hits()


def _read(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/hits":
        out = json.dumps({"hits": hits.count}).encode("ascii")
    else:
        body = _read(environ)
        if path in GUARDED:
            hits.count += 1
        out = echo(body, get_verdict(environ), hits.count)
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(out))),
            ("X-Hits", str(hits.count)),
        ],
    )
    return [out]


app = make_guard().wsgi(inner)
