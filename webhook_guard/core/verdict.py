"""The outcome of guarding one request: ``Verdict`` and its stable ``Reason`` codes."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ("VERDICT_KEY", "Reason", "Verdict")

#: The key under which the verdict is stored in the WSGI environ and the ASGI scope.
#: Headers land under ``HTTP_*`` (WSGI) or in ``scope["headers"]`` (ASGI), so no
#: request header can ever produce this key.
VERDICT_KEY = "webhook_guard.verdict"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Reason(str, enum.Enum):
    """Stable, machine-readable reason codes. Each has a default HTTP status.

    Changing a code or its status is a breaking change.
    """

    VERIFIED = "verified"
    NOT_GUARDED = "not_guarded"
    UNSIGNED = "unsigned"
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    BAD_SIGNATURE = "bad_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    REPLAYED = "replayed"
    DUPLICATE = "duplicate"
    NO_ACTIVE_KEY = "no_active_key"
    BAD_PATH = "bad_path"
    BAD_REQUEST = "bad_request"
    BODY_TOO_LARGE = "body_too_large"
    LENGTH_REQUIRED = "length_required"
    BODY_TIMEOUT = "body_timeout"
    BODY_INCOMPLETE = "body_incomplete"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL_ERROR = "internal_error"

    @property
    def status(self) -> int:
        """The default HTTP status for this reason."""
        return _STATUS[self]

    @property
    def is_auth_failure(self) -> bool:
        """True for reasons whose status a route may override (authentication failures)."""
        return _STATUS[self] == 401

    def __str__(self) -> str:
        return self.value


_STATUS: dict[Reason, int] = {
    Reason.VERIFIED: 200,
    Reason.NOT_GUARDED: 200,
    Reason.UNSIGNED: 200,
    Reason.MISSING_SIGNATURE: 401,
    Reason.MALFORMED_SIGNATURE: 401,
    Reason.BAD_SIGNATURE: 401,
    Reason.MISSING_TIMESTAMP: 401,
    Reason.MALFORMED_TIMESTAMP: 401,
    Reason.STALE_TIMESTAMP: 401,
    Reason.FUTURE_TIMESTAMP: 401,
    Reason.REPLAYED: 409,
    Reason.DUPLICATE: 200,
    Reason.NO_ACTIVE_KEY: 401,
    Reason.BAD_PATH: 400,
    Reason.BAD_REQUEST: 400,
    Reason.BODY_TOO_LARGE: 413,
    Reason.LENGTH_REQUIRED: 411,
    Reason.BODY_TIMEOUT: 408,
    Reason.BODY_INCOMPLETE: 400,
    Reason.STORE_UNAVAILABLE: 503,
    Reason.INTERNAL_ERROR: 500,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What the guard decided about one request.

    ``verified`` is True only after a completed, successful verification (and, when
    replay protection is on, a successful claim of the replay key).

    :param verified: the request was authenticated.
    :param reason: a stable ``Reason`` code.
    :param status: the HTTP status a rejection is answered with.
    :param provider: the provider name, e.g. ``"github"``.
    :param route: the route pattern that matched, e.g. ``"/hooks/github/{repo}"``.
    :param params: values of the route's ``{param}`` segments.
    :param key_id: the id of the key that verified the request (never the key itself).
    :param body_signed: whether the provider's signature covers the body. DingTalk's
        robot callback signs only the timestamp, so anything in its body is unauthenticated.
    :param message_id: the provider's message id when it is signed.
    :param timestamp: the signed timestamp, in the provider's unit, when there is one.
    :param replay_key: a hash of the signed material used for replay protection.
    :param details: provider-specific extras (e.g. a decrypted payload).
    :param report_only: the route is in report-only mode and passed this unverified
        request through; ``reason`` says why it would have been refused.
    """

    verified: bool
    reason: Reason
    status: int = 200
    provider: str = ""
    route: str = ""
    params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    key_id: str | None = None
    body_signed: bool = False
    message_id: str | None = None
    timestamp: int | None = None
    replay_key: str | None = None
    #: Not in ``repr``: it may hold a decrypted payload or a handshake secret.
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    report_only: bool = False
    #: The refusal is sent with an empty body (the provider requires it, e.g. Xero).
    empty_refusal: bool = False
    body: bytes = field(default=b"", repr=False)
    #: A handshake answer the guard sends itself (the app is not called).
    response: tuple[int, tuple[tuple[str, str], ...], bytes] | None = field(
        default=None, repr=False
    )

    @property
    def passes(self) -> bool:
        """Whether the request goes on to the app (verified, unsigned route, or report-only)."""
        return self.verified or self.report_only or self.reason is Reason.UNSIGNED

    @property
    def body_sha256(self) -> str:
        """Hex SHA-256 of the body the guard read (and the app receives)."""
        return hashlib.sha256(self.body).hexdigest()

    def __bool__(self) -> bool:
        return self.verified


#: The verdict seen wherever the guard did not run: explicitly not verified.
NOT_GUARDED = Verdict(verified=False, reason=Reason.NOT_GUARDED)
