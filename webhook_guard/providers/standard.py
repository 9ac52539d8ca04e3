"""Standard Webhooks (https://www.standardwebhooks.com) and the providers built on it.

Headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a
space-separated list of ``v1,<base64 HMAC-SHA256>`` entries over ``id.timestamp.body``.
Svix-branded senders (Svix, Clerk, Resend) send ``svix-*`` headers. The key is the
base64 part of a ``whsec_`` secret (Polar: the raw secret bytes). With ``public_key=``
(``whpk_`` base64 Ed25519, needs the ``crypto`` extra) a route verifies ``v1a`` entries
instead; a route verifies one algorithm only.

Rules: at most 8 entries are considered; unknown versions are ignored, but one known,
matching entry is required; the timestamp must lie within 5 minutes both ways (as in
the reference libraries); the signed message id is the replay key, so a provider's
retry of a processed message is acknowledged as a duplicate.

Parameters (``Provider.spec``): ``prefixes`` (header prefixes tried in order; the first
whose ``-id`` header is present supplies all three) and ``key`` (``whsec`` or ``raw``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from typing import Any

from webhook_guard.core.keys import DerivedKeys, KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import MAX_HEADER_LENGTH, Check, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, Provider, now_or
from webhook_guard.providers.asymmetric import _ed25519_private, _text, require_crypto

__all__ = ("MAX_SIGNATURES", "StandardWebhooks", "decode_whsec")

MAX_SIGNATURES = 8
MAX_ID_LENGTH = 256
_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VERSION_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MISSING_TIMESTAMP = Check(Reason.MISSING_TIMESTAMP)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_MALFORMED_TIMESTAMP = Check(Reason.MALFORMED_TIMESTAMP)
_BAD = Check(Reason.BAD_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
_b2a = binascii.b2a_base64
_VERIFIED = Reason.VERIFIED


def decode_whsec(value: bytes) -> bytes | None:
    """The HMAC key of a ``whsec_`` secret (or bare base64), as the reference libraries do."""
    text = value[6:] if value.startswith(b"whsec_") else value
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _entry(entry: str) -> tuple[str, str] | None:
    """``(version, signature)`` of one ``v1,<base64>`` entry, or None when malformed."""
    version, comma, signature = entry.partition(",")
    if not comma or version[:1] != "v" or not _lower_alnum(version[1:]):
        return None
    body = signature.rstrip("=")
    if not body or len(signature) - len(body) > 2 or not body.isascii():
        return None
    # Base64 characters: letters, digits, "+" and "/" (str methods, not a regex).
    return (version, signature) if body.replace("+", "A").replace("/", "A").isalnum() else None


def _lower_alnum(text: str) -> bool:
    return text.isascii() and text.isalnum() and text == text.lower()


def _malformed_or(entries: list[str], answer: Check) -> Check:
    """``answer``, unless an entry is not ``v<version>,<base64>`` (malformed)."""
    for entry in entries:
        if _entry(entry) is None:
            return _MALFORMED
    return answer


def _valid_id(message_id: str) -> bool:
    # Printable ASCII without "." (the separator of the signed content) or spaces.
    return (
        0 < len(message_id) <= MAX_ID_LENGTH
        and message_id.isascii()
        and message_id.isprintable()
        and " " not in message_id
        and "." not in message_id
    )


class StandardWebhooks(Family):
    """The Standard Webhooks scheme (see the module docstring)."""

    options = ("public_key",)
    timestamp_unit = "s"

    def configure(self, options: dict[str, Any]) -> None:
        public_key = options.pop("public_key", None)
        if self.secret is not None and public_key is not None:
            raise ConfigurationError(
                f"{self.name}: give secret= (v1, HMAC) or public_key= (v1a, Ed25519), not both",
                code="webhook_guard.E004",
            )
        self.asymmetric = public_key is not None
        if self.asymmetric:
            self.secret = public_key
            require_crypto()
        self.version = "v1a" if self.asymmetric else "v1"
        self._tag = self.version + ","
        prefixes = self.spec.get("prefixes", ("webhook",))
        if not prefixes or not all(
            isinstance(p, str) and p and not p.strip(_VERSION_CHARS + "-") for p in prefixes
        ):
            raise ConfigurationError(
                f"{self.name}: invalid header prefixes {prefixes!r}", code="webhook_guard.E004"
            )
        self.prefixes = tuple(p.lower() for p in prefixes)
        self._names = tuple((f"{p}-id", f"{p}-signature", f"{p}-timestamp") for p in self.prefixes)
        self.raw_key = self.spec.get("key", "whsec") == "raw"
        self._key = DerivedKeys(self._derive_key)
        self._expected = self._expected_ed25519 if self.asymmetric else self._hmac_expected()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "prefixes": list(self.prefixes)}

    # -- keys --------------------------------------------------------------------------

    def _derive_key(self, secret: Secret) -> Any:
        """The HMAC ``Secret`` or Ed25519 public key derived from a configured value."""
        value = secret.value
        derived: Any = None
        if self.asymmetric:
            text = value[5:] if value.startswith(b"whpk_") else value
            try:
                raw = base64.b64decode(text, validate=True)
                from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

                derived = Ed25519PublicKey.from_public_bytes(raw)
            except (binascii.Error, ValueError):
                derived = None
        else:
            key = value if self.raw_key else decode_whsec(value)
            derived = Secret(key, key_id=secret.key_id) if key else None
        return derived

    def check_secret(self, value: bytes) -> str | None:
        if self.asymmetric:
            text = value[5:] if value.startswith(b"whpk_") else value
            try:
                raw = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                return "the public key is not base64 (whpk_...)"
            return None if len(raw) == 32 else "an Ed25519 public key is 32 bytes"
        if self.raw_key:
            return None
        if value.strip() in (b"whsec_", b""):
            return "the whsec_ secret is empty after its prefix"
        if decode_whsec(value) is None:
            return "the secret is not whsec_ followed by base64"
        return None

    @classmethod
    def route_credentials(cls, row: Provider[Any], signing: str | bytes) -> dict[str, Any]:
        if not _text(signing).startswith("whsk_"):
            return {"secret": signing}  # v1 (HMAC): the whsec_ secret on both sides
        return {"public_key": cls.public_key(row, signing)}

    @classmethod
    def public_key(cls, row: Provider[Any], private_key: str | bytes) -> str:
        """The ``whpk_`` public key of a ``whsk_`` private key (``v1a``)."""
        if not _text(private_key).startswith("whsk_"):
            raise ValueError(f"{row.name}: a v1a private key starts with whsk_")
        seed = _whsk_seed(private_key)
        raw = _ed25519_private(seed).public_key().public_bytes_raw()
        return "whpk_" + base64.b64encode(raw).decode("ascii")

    @classmethod
    def generate_private_key(cls, row: Provider[Any]) -> str:
        return "whsk_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")

    # -- verification ------------------------------------------------------------------

    def _hmac_expected(self) -> Callable[[Secret, tuple[bytes, bytes, list[str]]], str | None]:
        key_of = self._key

        def expected(secret: Secret, message: tuple[bytes, bytes, list[str]]) -> str | None:
            key = key_of(secret)
            if key is None:
                return None  # a secret that is not whsec_ base64 verifies nothing
            return _b2a(key.mac("sha256", message[0], message[1]), newline=False).decode()

        return expected

    def _expected_ed25519(
        self, secret: Secret, message: tuple[bytes, bytes, list[str]]
    ) -> str | None:
        key = self._key(secret)
        if key is None:
            return None
        head, body, candidates = message
        from cryptography.exceptions import InvalidSignature

        signed = head + body
        for candidate in candidates:  # a public key cannot recompute: find the one it verifies
            try:
                raw = base64.b64decode(candidate, validate=True)
                if len(raw) == 64 and base64.b64encode(raw).decode() == candidate:
                    key.verify(raw, signed)
                    return candidate
            except (InvalidSignature, binascii.Error, ValueError):
                continue
        return None

    def signature_present(self, request: WebhookRequest) -> bool:
        return any(request.headers.getlist(names[1]) for names in self._names)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        headers = request.headers
        for names in self._names:
            ids = headers.getlist(names[0])
            if ids:
                break
        else:
            return _MISSING
        _, sig_name, ts_name = names
        signatures = headers.getlist(sig_name)
        if not signatures:
            return _MISSING
        stamps = headers.getlist(ts_name)
        if not stamps:
            return _MISSING_TIMESTAMP
        message_id = ids[0]
        if len(ids) > 1 or not _valid_id(message_id):
            return _BAD_REQUEST
        signature = signatures[0]
        if len(signatures) > 1 or len(signature) > MAX_HEADER_LENGTH:
            return _MALFORMED
        entries = signature.split(" ")
        if not signature or len(entries) > MAX_SIGNATURES:
            return _MALFORMED
        # The entries' grammar decides between "malformed" and any other answer; it is
        # checked where an answer is given (a lone entry that matches is well formed).
        tag = self._tag
        candidates = [e[len(tag) :] for e in entries if e.startswith(tag)]
        raw_ts = stamps[0]
        timestamp = parse_timestamp(raw_ts) if len(stamps) == 1 else None
        if timestamp is None:
            return _malformed_or(entries, _MALFORMED_TIMESTAMP)
        late = self._window.check(timestamp, now)  # type: ignore[union-attr]
        if late is not None:
            return _malformed_or(entries, Check(late))
        if not candidates:
            return _malformed_or(entries, _BAD)  # only unknown versions: nothing we trust
        head = (message_id + "." + raw_ts + ".").encode("ascii")
        material = b"id:" + message_id.encode("ascii")
        result = try_keys(
            keys, self._expected, (head, request.body, candidates), candidates, timestamp,
            message_id, material,
        )  # fmt: skip
        if result[0] is _VERIFIED and len(entries) == 1:
            return result
        return _malformed_or(entries, result)

    # -- signing -----------------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        message_id: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The headers for ``body``. ``secret`` is the ``whsec_`` secret, or for a
        ``public_key`` route the Ed25519 private key (``whsk_`` base64 of the seed)."""
        ts = str(int(now_or(timestamp)))
        message_id = message_id or "msg_" + secrets.token_hex(12)
        message = f"{message_id}.{ts}.".encode("ascii") + body
        text = secret.encode() if isinstance(secret, str) else secret
        if self.asymmetric:
            signature = "v1a," + base64.b64encode(_ed25519_private(_whsk_seed(secret)).sign(message)).decode()
        else:
            key = text if self.raw_key else decode_whsec(text)
            if not key:
                raise ValueError(f"{self.name}: the secret is not a whsec_ base64 secret")
            mac = Secret(key, key_id="sign").mac("sha256", message)
            signature = "v1," + base64.b64encode(mac).decode("ascii")
        prefix = self.prefixes[0]
        headers = {
            f"{prefix}-id": message_id,
            f"{prefix}-timestamp": ts,
            f"{prefix}-signature": signature,
        }
        return self.signed(headers, body, url=url, content_type=content_type)


def _whsk_seed(private_key: str | bytes) -> bytes:
    try:
        return base64.b64decode(_text(private_key).removeprefix("whsk_"), validate=True)[:32]
    except ValueError:
        raise ValueError("standard_webhooks: a whsk_ key is whsk_ + Base64 of the seed") from None
