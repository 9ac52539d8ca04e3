"""``gunicorn -w 4 tests.multiproc.wsgi_app:app``: a WSGI endpoint behind the guard."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.multiproc.common import (
    DELAY,
    HEALTH,
    PATH,
    STRIPE_PATH,
    health,
    make_guard,
    record_hit,
)


def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path in (PATH, STRIPE_PATH):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        out = record_hit(body)
        time.sleep(DELAY)
    elif path == HEALTH:
        out = health()
    else:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]


app = make_guard().wsgi(inner)
