"""The guard of the store-down apps, configured from environment variables.

- ``WG_DEP_STORE``: the replay store URL (a ``redis://`` URL whose server may be down).
- ``WG_DEP_SECRET``: the GitHub route's secret.
- ``WG_DEP_LOG``: a file each delivery that reaches the app appends ``<pid> <sha256>`` to.
"""

from __future__ import annotations

import hashlib
import json
import os

from webhook_guard import Guard, Route
from webhook_guard.providers import github

PATH = "/hooks/github"
HEALTH = "/health"


def make_guard() -> Guard:
    return Guard(
        [Route(PATH, github(secret="env:WG_DEP_SECRET"))],
        replay_store=os.environ["WG_DEP_STORE"],
    )


def record_hit(body: bytes) -> bytes:
    """Append ``<pid> <sha256>`` to the hit log in one write (O_APPEND)."""
    digest = hashlib.sha256(body).hexdigest()
    fd = os.open(os.environ["WG_DEP_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{os.getpid()} {digest}\n".encode("ascii"))
    finally:
        os.close(fd)
    return json.dumps({"app": "processed", "sha256": digest}).encode("ascii")


def health() -> bytes:
    return json.dumps({"pid": os.getpid()}).encode("ascii")
