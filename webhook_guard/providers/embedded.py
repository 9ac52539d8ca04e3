"""Signatures inside the body: Mailgun and Adyen.

Mailgun: ``signature = hex(HMAC-SHA256(key, timestamp + token))`` in the body: JSON
``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}``, or the
legacy form fields ``timestamp``, ``token``, ``signature``. The event data is **not**
signed (``body_signed=False``); the signed token is the replay key. Duplicate JSON keys
and repeated form fields are refused (which one was signed?).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from typing import Any

from webhook_guard.core.keys import DerivedKeys, KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._parse import (
    B64_OK,
    FORM,
    Duplicate,
    json_object,
    no_duplicates,
    parse_form,
)

__all__ = ("ADYEN_FIELDS", "Adyen", "Mailgun", "adyen_signing_string", "mailgun_signature")

_MAX_TOKEN = 256
_BAD_SIGNATURE = Check(Reason.BAD_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
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


# -- Adyen -----------------------------------------------------------------------------------

#: The fields an Adyen notification item signs, in order (missing ones are empty).
ADYEN_FIELDS = (
    "pspReference", "originalReference", "merchantAccountCode", "merchantReference",
    "value", "currency", "eventCode", "success",
)  # fmt: skip
_MAX_ITEMS = 1000


def adyen_signing_string(item: dict[str, Any]) -> str | None:
    """``psp:originalRef:merchantAccount:merchantRef:value:currency:eventCode:success`` of
    one ``NotificationRequestItem`` (as Adyen's libraries build it), or None when a field
    has a type no notification has."""
    amount = item.get("amount")
    if not isinstance(amount, dict):
        return None
    fields = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    out = []
    for name in ADYEN_FIELDS:
        value = fields.get(name)
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        out.append(str(value))
    return ":".join(out)


def _hex_key(value: bytes) -> bytes | None:
    try:
        return binascii.unhexlify(value.strip()) or None
    except (binascii.Error, ValueError):
        return None


def _hmac_key(key: Secret) -> Secret | None:
    """Adyen's HMAC key: the hexadecimal configured value, decoded (None: it is not hex)."""
    raw = _hex_key(key.value)
    return Secret(raw, key_id=key.key_id) if raw else None


class Adyen(Family):
    """Adyen standard notifications (HMAC inside each ``NotificationRequestItem``).

    Every item of ``notificationItems`` must carry ``additionalData.hmacSignature`` =
    Base64(HMAC-SHA256(hex-decoded key, signing string)), and every one must verify. Only
    the listed fields are signed (``body_signed=False``): the rest of an item (its other
    ``additionalData``) is not. The replay key is the set of the items' signed strings (in
    any order; an item twice is refused); ``message_id`` their (pspReference, eventCode,
    success), when no signed value holds the ``:`` that separates them.
    ``verdict.details["reply"]`` is the ``[accepted]`` body Adyen expects from the app.
    """

    body_signed = False

    def configure(self, options: dict[str, Any]) -> None:
        self._derived = DerivedKeys(_hmac_key)
        self.check_literal_secrets()

    def check_secret(self, value: bytes) -> str | None:
        return None if _hex_key(value) else "the HMAC key is the hexadecimal key Adyen shows"

    def _expected(self, key: Secret, message: bytes) -> str | None:
        derived = self._derived(key)
        if derived is None:
            return None
        return base64.b64encode(derived.mac("sha256", message)).decode("ascii")

    def _items(self, body: bytes) -> list[dict[str, Any]] | Reason:
        data = json_object(body, limit=None, unique=True)
        items = data.get("notificationItems") if data is not None else None
        if not isinstance(items, list) or not 0 < len(items) <= _MAX_ITEMS:
            return Reason.BAD_REQUEST
        out = []
        for wrapper in items:
            item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
            if not isinstance(item, dict):
                return Reason.BAD_REQUEST
            out.append(item)
        return out

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        items = self._items(request.body)
        if isinstance(items, Reason):
            return Check(items)
        result = _BAD_SIGNATURE  # replaced by the first item's answer (there is one)
        signed_items: set[bytes] = set()
        events: list[str] | None = []
        for item in items:
            extra = item.get("additionalData")
            signature = extra.get("hmacSignature") if isinstance(extra, dict) else None
            if signature is None:
                return Check(Reason.MISSING_SIGNATURE)
            if not isinstance(signature, str) or not B64_OK(signature) or len(signature) != 44:
                return Check(Reason.MALFORMED_SIGNATURE)
            message = adyen_signing_string(item)
            try:
                signed = message.encode("utf-8") if message is not None else None
            except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
                signed = None
            if signed is None or signed in signed_items:
                return _BAD_REQUEST  # an item twice is no batch Adyen sends: a replay
            result = try_keys(keys, self._expected, signed, signature)
            if result[0] is not Reason.VERIFIED:
                return result  # every item must verify
            signed_items.add(signed)
            fields = [str(item.get(k, "")) for k in ("pspReference", "eventCode", "success")]
            if events is not None and message.count(":") == len(ADYEN_FIELDS) - 1:  # type: ignore[union-attr]
                events.append(":".join(fields))
            else:  # a value holds ":": the split into fields is not what was signed
                events = None
        # The identity is what each item signs, in any order: the fields are joined with
        # ":" unescaped, so a value holding one can be re-split into other fields over the
        # same signed string, and the list around the items is not signed at all.
        digests = sorted(hashlib.sha256(signed).digest() for signed in signed_items)
        event_id = "|".join(events) if events is not None else ""
        return Check(
            Reason.VERIFIED, key_id=result.key_id,
            replay_material=b"adyen\x00" + b"".join(digests),
            message_id=event_id if 0 < len(event_id) <= 256 and event_id.isprintable() else None,
            details={"reply": "[accepted]"},
        )  # fmt: skip

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The notification ``body`` with ``additionalData.hmacSignature`` set on every
        item (``secret``: the hexadecimal HMAC key)."""
        data = json.loads(body)
        key = Secret(secret, key_id="sign")
        for wrapper in data["notificationItems"]:
            item = wrapper["NotificationRequestItem"]
            message = adyen_signing_string(item)
            if message is None:
                raise ValueError("adyen: an item has a field no notification has")
            signature = self._expected(key, message.encode("utf-8"))
            if signature is None:
                raise ValueError("adyen: the HMAC key is the hexadecimal key Adyen shows")
            item.setdefault("additionalData", {})["hmacSignature"] = signature
        wire = json.dumps(data).encode("utf-8")
        return self.signed({}, wire, url=url, content_type=content_type or "application/json")
