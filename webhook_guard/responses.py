"""Rendering a rejection: ``Verdict`` → (status, headers, body). One shape for every adapter.

The body names the stable reason code and a fixed sentence per code; nothing in it
depends on the secret, the expected signature or the request.
"""

from __future__ import annotations

import json

from webhook_guard.core.verdict import Reason, Verdict

__all__ = ("MESSAGES", "render")

MESSAGES: dict[Reason, str] = {
    Reason.MISSING_SIGNATURE: "The request carries no signature.",
    Reason.MALFORMED_SIGNATURE: "The signature header is malformed.",
    Reason.BAD_SIGNATURE: "The signature does not match.",
    Reason.MISSING_TIMESTAMP: "The request carries no timestamp.",
    Reason.MALFORMED_TIMESTAMP: "The timestamp is malformed.",
    Reason.STALE_TIMESTAMP: "The timestamp is too old.",
    Reason.FUTURE_TIMESTAMP: "The timestamp is in the future.",
    Reason.REPLAYED: "This delivery is already being processed.",
    Reason.NO_ACTIVE_KEY: "No key is active for this endpoint.",
    Reason.BAD_PATH: "The request path is not in canonical form.",
    Reason.BAD_REQUEST: "The request is malformed.",
    Reason.BODY_TOO_LARGE: "The request body is too large.",
    Reason.LENGTH_REQUIRED: "The request needs a Content-Length.",
    Reason.BODY_TIMEOUT: "The request body did not arrive in time.",
    Reason.BODY_INCOMPLETE: "The request body ended early.",
    Reason.STORE_UNAVAILABLE: "Delivery cannot be checked right now; retry later.",
    Reason.INTERNAL_ERROR: "The request could not be verified.",
}

_BODIES: dict[Reason, bytes] = {
    reason: json.dumps({"error": reason.value, "message": text}).encode("ascii")
    for reason, text in MESSAGES.items()
}
_BODIES[Reason.DUPLICATE] = json.dumps(
    {"status": "duplicate", "message": "This delivery was already processed."}
).encode("ascii")
RETRY_AFTER = "5"


def render(verdict: Verdict) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the response to a rejected request."""
    if verdict.status == 204:  # duplicate_status=204: a 204 carries no body (RFC 9110)
        return 204, [("Cache-Control", "no-store")], b""
    if verdict.empty_refusal:
        return verdict.status, [("Content-Length", "0"), ("Cache-Control", "no-store")], b""
    body = _BODIES.get(verdict.reason) or _BODIES[Reason.BAD_REQUEST]
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    if verdict.reason is Reason.STORE_UNAVAILABLE:
        headers.append(("Retry-After", RETRY_AFTER))
    return verdict.status, headers, body
