"""Signatures inside the body: Mailgun (and Adyen, see ``adyen``).

Mailgun: ``signature = hex(HMAC-SHA256(key, timestamp + token))`` in the body: JSON
``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}``, or the
legacy form fields ``timestamp``, ``token``, ``signature``. The event data is **not**
signed (``body_signed=False``); the signed token is the replay key. Duplicate JSON keys
and repeated form fields are refused (which one was signed?).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._parse import FORM, Duplicate, no_duplicates, parse_form

__all__ = ("Mailgun", "mailgun_signature")

_MAX_TOKEN = 256
_FIELDS = ("timestamp", "token", "signature")


def mailgun_signature(*, secret: str | bytes, timestamp: str, token: str) -> str:
    """``hex(HMAC-SHA256(secret, timestamp + token))``."""
    return Secret(secret, key_id="sign").mac("sha256", (timestamp + token).encode("ascii")).hex()


def _expected(key: Secret, message: bytes) -> str:
    return key.mac("sha256", message).hex()


class Mailgun(Family):
    """Mailgun webhooks (see the module docstring)."""

    body_signed = False
    timestamp_unit = "s"

    def _fields(self, request: WebhookRequest) -> dict[str, Any] | Reason:
        content_type, _ = single_header(request.headers, "Content-Type")
        if content_type and content_type.split(";")[0].strip().lower() == FORM:
            pairs = parse_form(request.body, strict=True)
            if pairs is None:
                return Reason.BAD_REQUEST
            try:
                return no_duplicates([(k, v) for k, v in pairs if k in _FIELDS])
            except Duplicate:
                return Reason.BAD_REQUEST
        try:
            data = json.loads(request.body, object_pairs_hook=no_duplicates)
        except (ValueError, RecursionError):  # Duplicate and UnicodeDecodeError included
            return Reason.BAD_REQUEST
        if not isinstance(data, dict) or "signature" not in data:
            return Reason.MISSING_SIGNATURE
        fields = data["signature"]
        return fields if isinstance(fields, dict) else Reason.MALFORMED_SIGNATURE

    def signature_present(self, request: WebhookRequest) -> bool:
        return not isinstance(self._fields(request), Reason)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        fields = self._fields(request)
        if isinstance(fields, Reason):
            return Check(fields)
        signature, token, raw_ts = (fields.get(k) for k in ("signature", "token", "timestamp"))
        if signature is None or token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if (
            not isinstance(signature, str)
            or len(signature) != 64
            or not isinstance(token, str)
            or not 0 < len(token) <= _MAX_TOKEN
            or not token.isascii()
            or not token.isprintable()
        ):
            return Check(Reason.MALFORMED_SIGNATURE)
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        timestamp = parse_timestamp(raw_ts) if isinstance(raw_ts, str) else None
        if timestamp is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = self._window.check(timestamp, now)  # type: ignore[union-attr]
        if late is not None:
            return Check(late)
        message = raw_ts.encode("ascii") + token.encode("ascii")
        material = b"mailgun-token\x00" + token.encode("ascii")
        return try_keys(keys, _expected, message, signature, timestamp, token, material)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        token: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """A JSON webhook as Mailgun sends it: the JSON event ``body`` wrapped as
        ``event-data`` with the signature beside it (``token`` default: random)."""
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError:
            raise ValueError("mailgun: the body must be the JSON event data") from None
        ts = str(int(now_or(timestamp)))
        token = token or secrets.token_hex(25)
        signature = mailgun_signature(secret=secret, timestamp=ts, token=token)
        wire = json.dumps(
            {
                "signature": {"timestamp": ts, "token": token, "signature": signature},
                "event-data": event,
            }
        ).encode("utf-8")
        return self.signed({}, wire, url=url, content_type=content_type or "application/json")
