"""The guard both server apps use, configured from environment variables.

- ``WG_GITHUB_SECRET``, ``WG_SEATABLE_SECRET``, ``WG_DINGTALK_SECRET``: the route secrets.
- ``WG_MAX_BODY``: the body limit in bytes.

A duplicate of a processed delivery is answered 409 (``duplicate_status=409``).
"""

from __future__ import annotations

import hashlib
import json
import os

from webhook_guard import Guard, Route, Verdict
from webhook_guard.providers import dingtalk, github, seatable

GUARDED = {
    "/hooks/github": "github",
    "/hooks/seatable": "seatable",
    "/hooks/dingtalk": "dingtalk",
}


def make_guard() -> Guard:
    return Guard(
        [
            Route("/hooks/github", github(secret="env:WG_GITHUB_SECRET")),
            Route("/hooks/seatable", seatable(secret="env:WG_SEATABLE_SECRET")),
            Route("/hooks/dingtalk", dingtalk(secret="env:WG_DINGTALK_SECRET")),
        ],
        max_body=int(os.environ.get("WG_MAX_BODY", "65536")),
        duplicate_status=409,
    )


class Hits:
    """Counts requests that reached the app on a guarded path (one process, one worker)."""

    def __init__(self) -> None:
        self.count = 0


def echo(body: bytes, verdict: Verdict, hits: int) -> bytes:
    """What the app answers: the digest of the bytes it received and the verdict fields."""
    return json.dumps(
        {
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "verified": verdict.verified,
            "reason": verdict.reason.value,
            "provider": verdict.provider,
            "route": verdict.route,
            "body_signed": verdict.body_signed,
            "verdict_sha256": verdict.body_sha256,
            "hits": hits,
        }
    ).encode("ascii")
