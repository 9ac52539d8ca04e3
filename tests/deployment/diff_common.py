"""The guard and the call log of the path/framing differential apps.

- ``WG_DIFF_SECRET``: the secret of both guarded routes (GitHub provider).
- ``WG_DIFF_LOG``: a file every handler call appends one JSON line to: the ``X-Probe``
  header of the request, the handler, the path the router gave it, the verdict and the
  SHA-256 of the body it received.

Handlers: ``github`` (``/hooks/github``, guarded), ``repo`` (``/repos/{repo}/hooks``,
guarded), ``other`` (a catch-all, unguarded) and ``/health`` (unguarded, not logged).
"""

from __future__ import annotations

import hashlib
import json
import os

from webhook_guard import Guard, Route, Verdict
from webhook_guard.providers import github

GUARDED_HANDLERS = ("github", "repo")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MAX_BODY = 65536


def make_guard() -> Guard:
    return Guard(
        [
            Route("/hooks/github", github(secret="env:WG_DIFF_SECRET")),
            Route("/repos/{repo}/hooks", github(secret="env:WG_DIFF_SECRET")),
        ],
        max_body=MAX_BODY,
    )


def record(handler: str, probe: str | None, path: str, body: bytes, verdict: Verdict) -> bytes:
    """Log one handler call (one O_APPEND write) and return the handler's JSON answer."""
    entry = {
        "probe": probe,
        "handler": handler,
        "path": path,
        "verified": verdict.verified,
        "reason": verdict.reason.value,
        "params": dict(verdict.params),
        "sha256": hashlib.sha256(body).hexdigest(),
        "pid": os.getpid(),
    }
    line = json.dumps(entry).encode("ascii") + b"\n"
    fd = os.open(os.environ["WG_DIFF_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return json.dumps({"handler": handler, "verified": verdict.verified}).encode("ascii")
