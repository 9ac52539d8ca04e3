"""DingTalk robot callbacks (``dingtalk``) and per-application access tokens (``dingtalk_token``).

The robot callback carries ``timestamp`` (milliseconds) and ``sign`` headers, where
``sign = Base64(HMAC-SHA256(key=appSecret, msg=timestamp + "\\n" + appSecret))``.
The body is **not** covered: a captured pair authenticates any body while its timestamp
is inside the window. So the window defaults to 3 minutes (DingTalk itself accepts 1 hour,
the most this scheme allows), the verdict says ``body_signed=False``, and the replay key
is the signed (timestamp, sign) pair, so one pair can carry one body only.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

from webhook_guard.core.keys import KeySet, Secret, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    SecretSpec,
    WindowedScheme,
    check_window,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers.token import Token

__all__ = ("DingTalk", "dingtalk", "dingtalk_token")

#: DingTalk's own acceptance window (1 hour); the most this scheme allows.
MAX_WINDOW = 3600.0
DEFAULT_WINDOW = 180.0
_MAX_SIGN_LENGTH = 128
# Base64 or its URL-encoded form; anything else (a WSGI-joined duplicate "a, b") is malformed.
_SIGN = re.compile(r"[A-Za-z0-9+/=%]+")


class DingTalk(WindowedScheme):
    """DingTalk robot callback verification (see the module docstring)."""

    name = "dingtalk"
    body_signed = False

    default_window = DEFAULT_WINDOW

    def validate(self) -> None:
        if not 0 < self.window <= MAX_WINDOW or not 0 <= self.future_window <= MAX_WINDOW:
            raise ConfigurationError(
                f"dingtalk: window and future_window must be within DingTalk's {MAX_WINDOW:.0f}"
                f" seconds (got {self.window:g} and {self.future_window:g})",
                code="webhook_guard.E005",
            )

    @staticmethod
    def _sign(key: Secret, timestamp: str) -> str:
        mac = key.hmac("sha256")
        mac.update(timestamp.encode("ascii") + b"\n" + key.value)
        return base64.b64encode(mac.digest()).decode("ascii")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        sign, sign_ok = single_header(request.headers, "sign")
        if sign is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not sign_ok or len(sign) > _MAX_SIGN_LENGTH or not _SIGN.fullmatch(sign):
            return Check(Reason.MALFORMED_SIGNATURE)
        raw_ts, ts_ok = single_header(request.headers, "timestamp")
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        millis = parse_timestamp(raw_ts) if ts_ok else None
        if millis is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(millis / 1000, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        for key in keys:
            expected = self._sign(key, raw_ts)
            # Both spellings are derived from the expected value: plain Base64 (the robot
            # callback) or its URL-encoded form (as in DingTalk's outgoing robot URLs).
            plain = compare(expected.encode("ascii"), sign)
            quoted = compare(quote(expected, safe="").encode("ascii"), sign)
            if plain or quoted:
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=raw_ts.encode("ascii") + b"\n" + expected.encode("ascii"),
                    timestamp=millis,
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """The ``timestamp`` and ``sign`` headers (``timestamp`` in seconds; sent as ms)."""
        if timestamp is None:
            raise ValueError("dingtalk: sign() needs a timestamp")
        raw = str(int(timestamp * 1000))
        return {"timestamp": raw, "sign": self._sign(Secret(secret, key_id="sign"), raw)}


def dingtalk(
    *, secret: SecretSpec, window: float = DEFAULT_WINDOW, future_window: float | None = None
) -> DingTalk:
    """DingTalk robot callback (HTTP mode): ``timestamp`` + ``sign`` headers.

    :param secret: the robot's AppSecret reference(s).
    :param window: seconds a timestamp may be old (default 180, at most 3600).
    :param future_window: seconds it may be ahead (default: ``window``).
    """
    return DingTalk(secret=secret, window=window, future_window=future_window)


def dingtalk_token(
    *, secret: SecretSpec, query: str | None = "access_token", header: str | None = None
) -> Token:
    """Per-application DingTalk access tokens, several active at once.

    Give each application its own token (``secret={"crm": "env:CRM_TOKEN", ...}``); remove
    one from the configuration to revoke it alone. Tokens arrive in the ``access_token``
    query parameter by default, or in ``header``.
    """
    if header is not None:
        query = None
    return Token(secret=secret, query=query, header=header, name="dingtalk_token")
