"""A guard whose secret source is slow, for tests/test_keysources_server.py.

``uvicorn tests.servers.slow_keys_app:asgi_app`` or ``gunicorn tests.servers.slow_keys_app:wsgi_app``.

- ``WG_KS_SECRET_FILE``: the stand-in vault, a file holding the current GitHub secret.
- ``WG_KS_SLOW``: seconds every fetch after the first (the start-up read) takes.
- ``WG_KS_TTL``: the ``cached`` ttl, the source's refresh interval.

``/health`` (unguarded) reports the fetches begun and finished and the pids that made them;
``/hooks/github`` (guarded) answers the verdict's key id.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from tests.asgi_lifespan import lifespan
from webhook_guard import Guard, Route, get_verdict
from webhook_guard.keysources import cached
from webhook_guard.providers import github

SECRET_FILE = os.environ["WG_KS_SECRET_FILE"]
SLOW = float(os.environ.get("WG_KS_SLOW", "3"))
TTL = float(os.environ.get("WG_KS_TTL", "0.5"))
LOADED_BY = os.getpid()  # with gunicorn --preload: the master


class Fetches:
    def __init__(self) -> None:
        self.begun = 0
        self.done = 0
        self.pids: list[int] = []
        self.lock = threading.Lock()


fetches = Fetches()


def slow_vault() -> dict[str, str]:
    with fetches.lock:
        fetches.begun += 1
        fetches.pids.append(os.getpid())
        first = fetches.begun == 1
    if not first:
        time.sleep(SLOW)  # a hung vault: blocks whichever thread calls it
    with open(SECRET_FILE, encoding="utf-8") as fh:
        value = fh.read().strip()
    with fetches.lock:
        fetches.done += 1
    return {value[:8]: value}  # the key id: the secret's first 8 characters (a test value)


guard = Guard(
    [Route("/hooks/github", github(secret=cached(slow_vault, ttl=TTL)))], replay_store=None
)


def health() -> bytes:
    with fetches.lock:
        state = {
            "begun": fetches.begun,
            "done": fetches.done,
            "pids": fetches.pids,
            "pid": os.getpid(),
            "loaded_by": LOADED_BY,
        }
    return json.dumps(state).encode("ascii")


async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["path"] == "/health":
        out = health()
    else:
        while (await receive()).get("more_body", False):
            pass
        out = json.dumps({"key_id": get_verdict(scope).key_id}).encode("ascii")
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def wsgi_inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/health":
        out = health()
    else:
        environ["wsgi.input"].read()
        out = json.dumps({"key_id": get_verdict(environ).key_id}).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


asgi_app = guard.asgi(inner)
wsgi_app = guard.wsgi(wsgi_inner)
