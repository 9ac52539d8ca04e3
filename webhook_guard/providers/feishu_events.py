"""Feishu (飞书) / Lark event subscription (developer-server webhook mode).

With an Encrypt Key (``secret=`` or its alias ``encrypt_key=``; rotation lists are tried
in order): ``X-Lark-Signature = hex(SHA256(timestamp + nonce + encrypt_key + body))``
(a plain SHA-256 over a concatenation, not an HMAC) is required, the body must be
``{"encrypt": ...}`` (AES-256-CBC, key = SHA256(encrypt_key), IV = the first 16 bytes
of the decoded ciphertext, PKCS#7), and the decrypted event goes to
``verdict.details["plaintext"]``. ``url_verification`` is answered ``{"challenge": ..}``
by the guard after verification and decryption. Feishu sends that one request
**without** signature headers; it is then accepted only when ``verification_token`` is
configured and the decrypted challenge carries it (otherwise 401).

Without an Encrypt Key (``verification_token`` only): nothing is signed; the event's
token (``header.token``, or ``token`` in schema 1.0) must equal the verification token,
which is then the route's key.

Feishu re-pushes an unacknowledged event (15 s, 5 min, 1 h, 6 h) under a new timestamp
and signature; its signed event id (schema 2.0 ``header.event_id``, 1.0 ``uuid``) ties
the copies together. No window is documented; ``window=`` sets one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from hmac import compare_digest
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, Credential, Response, single_header, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._cipher import MAX_ENVELOPE, aes_cbc, pad, require_crypto, unpad
from webhook_guard.providers._parse import JSON_TYPE, b64_strict, json_object

__all__ = ("Feishu", "feishu_decrypt", "feishu_encrypt")

_VERIFIED = Reason.VERIFIED


def feishu_decrypt(encrypt_key: bytes, encrypted: str) -> str | None:
    """The decrypted event text, or None for any failure."""
    data = b64_strict(encrypted, MAX_ENVELOPE)
    if data is None or len(data) < 32 or len(data) % 16:
        return None
    key = hashlib.sha256(encrypt_key).digest()
    try:
        plain = unpad(aes_cbc(key, data[:16], data[16:], encrypt=False), 16)
        return None if plain is None else plain.decode("utf-8")
    except Exception:
        return None


def feishu_encrypt(
    encrypt_key: str | bytes, message: str | bytes, *, iv: bytes | None = None
) -> str:
    """Feishu's event encryption: Base64(IV | AES-256-CBC(SHA256(key), IV, msg))."""
    key_bytes = encrypt_key.encode("utf-8") if isinstance(encrypt_key, str) else encrypt_key
    data = message.encode("utf-8") if isinstance(message, str) else message
    vector = os.urandom(16) if iv is None else iv
    key = hashlib.sha256(key_bytes).digest()
    return base64.b64encode(vector + aes_cbc(key, vector, pad(data, 16), encrypt=True)).decode()


def _event(body: bytes | str) -> dict[str, Any] | None:
    return json_object(body, limit=MAX_ENVELOPE, unique=True)


def _encrypt_field(body: bytes) -> str | None:
    data = _event(body)
    value = data.get("encrypt") if data is not None else None
    return value if isinstance(value, str) and value else None


def _event_token(event: dict[str, Any]) -> Any:
    header = event.get("header")
    if isinstance(header, dict) and "token" in header:
        return header.get("token")  # schema 2.0
    return event.get("token")  # schema 1.0 and url_verification


def _event_id(event: dict[str, Any]) -> str | None:
    """``header.event_id`` (schema 2.0) or ``uuid`` (1.0) of a decrypted Feishu event."""
    header = event.get("header")
    value = header.get("event_id") if isinstance(header, dict) else event.get("uuid")
    if isinstance(value, str) and 0 < len(value) <= 256 and value.isascii() and value.isprintable():
        return value
    return None


def _challenge(event: dict[str, Any]) -> Response | None:
    if event.get("type") != "url_verification":
        return None
    challenge = event.get("challenge")
    if not isinstance(challenge, str):
        return None
    body = json.dumps({"challenge": challenge}, separators=(",", ":")).encode("utf-8")
    return (200, JSON_TYPE, body)


def _expected(key: Secret, message: tuple[bytes, bytes]) -> str:
    head, body = message
    return hashlib.sha256(head + key.value + body).hexdigest()


class Feishu(Family):
    """Feishu / Lark events (see the module docstring)."""

    options = ("encrypt_key",)
    timestamp_unit = "s"
    optional_window = True
    credentials = (Credential("verification_token", "the Verification Token", required=False),)

    def configure(self, options: dict[str, Any]) -> None:
        encrypt_key = options.pop("encrypt_key", None)
        if self.secret is not None and encrypt_key is not None:
            raise ConfigurationError(
                f"{self.name}: secret= and encrypt_key= are aliases; set one",
                code="webhook_guard.E004",
            )
        if encrypt_key is not None:
            self.secret = encrypt_key
        token = self._references.get("verification_token") or self._literal_token()
        if self.secret is None:
            if token is None:
                raise ConfigurationError(
                    f"{self.name}: set the Encrypt Key (secret=) or a verification_token=",
                    code="webhook_guard.E003",
                )
            # Token mode: the verification token(s) are the route's keys.
            self.secret = token
            self._credentials.pop("verification_token", None)
            self._references.pop("verification_token", None)
            self.encrypted = False
        else:
            require_crypto()
            self.encrypted = True
        self.checks_token = self.encrypted and self.has_credential("verification_token")
        self.body_signed = self.encrypted  # token mode: nothing is signed

    def handshake_table(self) -> tuple[str, str, str, str] | None:
        summary = (
            "`url_verification` answered; Feishu sends it unsigned, so only with a matching"
            " `verification_token`"
        )
        answered = "after the verification token (and decryption) checks out"
        return summary, "on", "`url_verification`", answered

    def _literal_token(self) -> Any:
        keys = self._credentials.get("verification_token")
        if isinstance(keys, KeySet) and keys:
            return [k.value.decode("utf-8", "surrogateescape") for k in keys]
        return None

    def signature_present(self, request: WebhookRequest) -> bool:
        return bool(request.headers.getlist("X-Lark-Signature"))

    def _token_ok(self, event: dict[str, Any]) -> bool:
        """Whether the event carries a configured verification token (or none is set)."""
        if not self.has_credential("verification_token"):
            return True
        value = _event_token(event)
        if not isinstance(value, str):
            return False
        presented = value.encode("utf-8", "surrogatepass")
        return any(compare_digest(t.value, presented) for t in self.credential("verification_token"))

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if not self.encrypted:
            return self._check_token_mode(request, keys)
        headers = request.headers
        signature, sig_ok = single_header(headers, "X-Lark-Signature")
        if signature is None:
            return self._unsigned_challenge(request, keys)
        if not sig_ok or len(signature) != 64:
            return Check(Reason.MALFORMED_SIGNATURE)
        raw_ts, ts_ok = single_header(headers, "X-Lark-Request-Timestamp")
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        ts = parse_timestamp(raw_ts) if ts_ok else None
        if ts is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        if self._window is not None:
            late = self._window.check(ts, now)
            if late is not None:
                return Check(late)
        nonce, nonce_ok = single_header(headers, "X-Lark-Request-Nonce")
        if nonce is None or not nonce_ok or not nonce.isascii():
            return Check(Reason.MALFORMED_SIGNATURE)
        head = raw_ts.encode("ascii") + nonce.encode("ascii")
        result = try_keys(keys, _expected, (head, request.body), signature, ts)
        if result[0] is not _VERIFIED:
            return result
        encrypted = _encrypt_field(request.body)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)  # an Encrypt Key is set: events are encrypted
        key = next(k for k in keys if k.key_id == result.key_id)
        plaintext = feishu_decrypt(key.value, encrypted)
        if plaintext is None:
            return Check(Reason.BAD_SIGNATURE)
        event = _event(plaintext)
        if event is None:
            return Check(Reason.BAD_REQUEST)
        if not self._token_ok(event):
            return Check(Reason.BAD_SIGNATURE)
        response = _challenge(event)
        details: dict[str, Any] = {"plaintext": plaintext}
        if response is not None:
            details["handshake"] = "url_verification"
        event_id = _event_id(event)
        material = b"id:" + event_id.encode("ascii") if event_id is not None else result[2]
        return Check(
            _VERIFIED, key_id=result.key_id, replay_material=material, timestamp=ts,
            message_id=event_id, details=details, response=response,
        )  # fmt: skip

    def _unsigned_challenge(self, request: WebhookRequest, keys: KeySet) -> Check:
        """Feishu sends url_verification without signature headers: accepted only when
        the decrypted challenge carries the configured verification token."""
        if not self.checks_token:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _encrypt_field(request.body)
        if encrypted is None:
            return Check(Reason.MISSING_SIGNATURE)
        for key in keys:
            plaintext = feishu_decrypt(key.value, encrypted)
            event = _event(plaintext) if plaintext is not None else None
            if event is None:
                continue
            response = _challenge(event)
            if response is not None and self._token_ok(event):
                return Check(
                    _VERIFIED, key_id=key.key_id, response=response,
                    details={"plaintext": plaintext, "handshake": "url_verification"},
                )  # fmt: skip
        return Check(Reason.MISSING_SIGNATURE)

    def _check_token_mode(self, request: WebhookRequest, keys: KeySet) -> Check:
        event = _event(request.body)
        if event is None or "encrypt" in event:
            return Check(Reason.BAD_REQUEST)  # encrypted, but no Encrypt Key configured
        token = _event_token(event)
        if token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not isinstance(token, str):
            return Check(Reason.MALFORMED_SIGNATURE)
        presented = token.encode("utf-8", "surrogatepass")
        result = try_keys(keys, _token, None, presented, None, None, b"", every=True)
        if result[0] is not _VERIFIED:
            return result
        response = _challenge(event)
        return Check(
            _VERIFIED, key_id=result.key_id, response=response,
            details={"handshake": "url_verification"} if response is not None else {},
        )  # fmt: skip

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        nonce: str = "n0nce",
        content_type: str | None = None,
    ) -> SignedRequest:
        """The event ``body`` as Feishu sends it: encrypted with the Encrypt Key
        (``secret``) and signed; in token mode (no Encrypt Key) as is."""
        if not self.encrypted:  # token mode: the event as is, carrying its token
            return self.signed({}, body, url=url, content_type=content_type)
        kind = content_type or "application/json"
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        wire = json.dumps({"encrypt": feishu_encrypt(key, body)}).encode("ascii")
        ts = str(int(now_or(timestamp)))
        digest = hashlib.sha256(ts.encode() + nonce.encode() + key + wire).hexdigest()
        headers = {
            "X-Lark-Request-Timestamp": ts,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": digest,
        }
        return self.signed(headers, wire, url=url, content_type=kind)


def _token(key: Secret, message: None) -> bytes:
    return key.value
