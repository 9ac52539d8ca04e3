"""``gunicorn -w 2 tests.deployment.store_wsgi:app``: the guard built in each worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.deployment.store_common import HEALTH, PATH, health, make_guard, record_hit


def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == PATH:
        out = record_hit(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
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
