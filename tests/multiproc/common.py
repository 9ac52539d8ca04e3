"""Configuration shared by the multi-worker apps, from environment variables.

- ``WG_MP_STORE``: the replay store (``redis://...`` or ``memory``).
- ``WG_MP_SECRET``: the GitHub route's secret.
- ``WG_MP_LOG``: a file each app invocation appends one line to: ``<pid> <sha256 of body>``.
- ``WG_MP_DELAY``: seconds the app takes per delivery (keeps it in flight a moment).
- ``WG_MP_STORE_TIMEOUT``: the Redis store's socket timeout in seconds (default: the
  library's). The tests raise it: under a 200-copy burst on a small machine an event loop
  can take longer than the default to get back to a Redis reply (a spurious 503).
"""

from __future__ import annotations

import hashlib
import json
import os

from webhook_guard import Guard, Route
from webhook_guard.providers import github, stripe
from webhook_guard.stores.redis import RedisReplayStore

PATH = "/hooks/github"
STRIPE_PATH = "/hooks/stripe"
HEALTH = "/health"
DELAY = float(os.environ.get("WG_MP_DELAY", "0.05"))


def make_guard() -> Guard:
    store: object = os.environ["WG_MP_STORE"]
    timeout = os.environ.get("WG_MP_STORE_TIMEOUT")
    if timeout and str(store).startswith("redis://"):
        store = RedisReplayStore(str(store), timeout=float(timeout))
    return Guard(
        [
            Route(PATH, github(secret="env:WG_MP_SECRET")),
            Route(STRIPE_PATH, stripe(secret="env:WG_MP_SECRET")),
        ],
        replay_store=store,
    )


def record_hit(body: bytes) -> bytes:
    """Append ``<pid> <sha256>`` to the hit log in one write (O_APPEND: lines never interleave)."""
    digest = hashlib.sha256(body).hexdigest()
    line = f"{os.getpid()} {digest}\n".encode("ascii")
    fd = os.open(os.environ["WG_MP_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return json.dumps({"app": "processed", "pid": os.getpid(), "sha256": digest}).encode("ascii")


def health() -> bytes:
    return json.dumps({"pid": os.getpid()}).encode("ascii")
