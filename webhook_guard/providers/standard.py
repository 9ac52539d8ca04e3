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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from webhook_guard.core.keys import KeySet, Secret, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Scheme,
    SecretSpec,
    check_window,
    delivery,
    parse_timestamp,
    single_header,
    validate_window,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers.asymmetric import require_crypto

__all__ = (
    "FACTORIES",
    "StandardWebhooks",
    "clerk",
    "gitlab_signed",
    "polar",
    "resend",
    "standard_webhooks",
    "svix",
)

DEFAULT_WINDOW = 300.0
#: Svix retries immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (about
#: 27.6 hours): a message id is remembered for 30 hours. Senders on other schedules: set
#: the route's ``replay_ttl``.
SVIX_RETRY_HORIZON = 30 * 3600.0
MAX_SIGNATURES = 8
MAX_ID_LENGTH = 256
_ENTRY = re.compile(r"(v[0-9a-z]+),([A-Za-z0-9+/]+={0,2})")
_ID = re.compile(r"[\x21-\x2d\x2f-\x7e]+")  # printable ASCII without "." (the separator)
_MAX_CACHED_KEYS = 64


def _decode_whsec(value: bytes) -> bytes | None:
    """The HMAC key of a ``whsec_`` secret (or bare base64), as the reference libraries do."""
    text = value[6:] if value.startswith(b"whsec_") else value
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


class StandardWebhooks(Scheme):
    """The Standard Webhooks scheme.

    :param prefixes: header prefixes tried in order (``("svix", "webhook")`` for Svix
        senders); the first whose ``-id`` header is present supplies all three headers.
    :param raw_key: use the secret's bytes as the HMAC key (Polar) instead of decoding it.
    :param public_key: verify ``v1a`` Ed25519 signatures with these keys instead of ``v1``.
    :param window: seconds a timestamp may lie in the past; ``future_window`` ahead.
    """

    name = "standard_webhooks"

    def __init__(
        self,
        *,
        secret: SecretSpec = None,
        public_key: SecretSpec = None,
        prefixes: Sequence[str] = ("webhook",),
        raw_key: bool = False,
        window: float = DEFAULT_WINDOW,
        future_window: float | None = None,
        name: str | None = None,
    ) -> None:
        if name is not None:
            self.name = name
        if secret is not None and public_key is not None:
            raise ConfigurationError(
                f"{self.name}: give secret= (v1, HMAC) or public_key= (v1a, Ed25519), not both",
                code="webhook_guard.E004",
            )
        super().__init__(secret=public_key if public_key is not None else secret)
        self.asymmetric = public_key is not None
        self.version = "v1a" if self.asymmetric else "v1"
        self.prefixes = tuple(p.lower() for p in prefixes)
        self.raw_key = raw_key
        self.window = float(window)
        self.future_window = float(window if future_window is None else future_window)
        self._derived: dict[bytes, Any] = {}
        if self.asymmetric:
            require_crypto()
        self.validate()

    def validate(self) -> None:
        if not self.prefixes or not all(re.fullmatch(r"[a-z0-9-]+", p) for p in self.prefixes):
            raise ConfigurationError(
                f"{self.name}: invalid header prefixes {self.prefixes!r}", code="webhook_guard.E004"
            )
        validate_window(self.name, self.window, self.future_window)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "prefixes": list(self.prefixes)}

    def replay_ttl(self) -> float:
        return self.window + self.future_window

    # -- keys --------------------------------------------------------------------------

    def _key(self, secret: Secret) -> Any:
        """The HMAC ``Secret`` or Ed25519 public key derived from a configured value."""
        value = secret.value
        cached = self._derived.get(value)
        if cached is not None or value in self._derived:
            return cached
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
            key = value if self.raw_key else _decode_whsec(value)
            derived = Secret(key, key_id=secret.key_id) if key else None
        if len(self._derived) >= _MAX_CACHED_KEYS:
            self._derived.clear()
        self._derived[value] = derived
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
        if _decode_whsec(value) is None:
            return "the secret is not whsec_ followed by base64"
        return None

    def _hmac_key(self, secret: str | bytes) -> bytes:
        value = secret.encode("utf-8") if isinstance(secret, str) else secret
        key = value if self.raw_key else _decode_whsec(value)
        if not key:
            raise ValueError(f"{self.name}: the secret is not a whsec_ base64 secret")
        return key

    # -- verification ------------------------------------------------------------------

    def _headers(self, request: WebhookRequest) -> str | None:
        for prefix in self.prefixes:
            if request.headers.getlist(f"{prefix}-id"):
                return prefix
        return None

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        prefix = self._headers(request)
        if prefix is None:
            return Check(Reason.MISSING_SIGNATURE)
        headers = request.headers
        signature, ok_sig = single_header(headers, f"{prefix}-signature")
        if signature is None:
            return Check(Reason.MISSING_SIGNATURE)
        raw_ts, ok_ts = single_header(headers, f"{prefix}-timestamp")
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        message_id, ok_id = single_header(headers, f"{prefix}-id")
        if not ok_id or message_id is None or len(message_id) > MAX_ID_LENGTH:
            return Check(Reason.BAD_REQUEST)
        if not _ID.fullmatch(message_id):
            return Check(Reason.BAD_REQUEST)
        if not ok_sig:
            return Check(Reason.MALFORMED_SIGNATURE)
        candidates = self._candidates(signature)
        if candidates is None:
            return Check(Reason.MALFORMED_SIGNATURE)
        timestamp = parse_timestamp(raw_ts) if ok_ts else None
        if timestamp is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(timestamp, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        if not candidates:
            return Check(Reason.BAD_SIGNATURE)  # only unknown versions: nothing we trust
        head = f"{message_id}.{raw_ts}.".encode("ascii")
        for secret in keys:
            key = self._key(secret)
            if key is None:
                continue
            if self._matches(key, head, request.body, candidates):
                return Check(
                    Reason.VERIFIED,
                    key_id=secret.key_id,
                    replay_material=b"id:" + message_id.encode("ascii"),
                    timestamp=timestamp,
                    message_id=message_id,
                )
        return Check(Reason.BAD_SIGNATURE)

    def _candidates(self, header: str) -> list[str] | None:
        """The signatures of this route's version; None when the header is malformed."""
        entries = header.split(" ")
        if not header or len(entries) > MAX_SIGNATURES:
            return None
        out = []
        for entry in entries:
            m = _ENTRY.fullmatch(entry)
            if m is None:
                return None
            if m.group(1) == self.version:
                out.append(m.group(2))
        return out

    def _matches(self, key: Any, head: bytes, body: bytes, candidates: list[str]) -> bool:
        if self.asymmetric:
            from cryptography.exceptions import InvalidSignature

            message = head + body
            for candidate in candidates:
                try:
                    raw = base64.b64decode(candidate, validate=True)
                    if len(raw) == 64 and base64.b64encode(raw).decode() == candidate:
                        key.verify(raw, message)
                        return True
                except (InvalidSignature, binascii.Error, ValueError):
                    continue
            return False
        mac = key.hmac("sha256")
        mac.update(head)
        mac.update(body)
        expected = base64.b64encode(mac.digest())
        found = False
        for candidate in candidates:  # every candidate compared: no early exit on a match
            found |= compare(expected, candidate)
        return found

    # -- signing -----------------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        message_id: str | None = None,
    ) -> dict[str, str]:
        """Headers for ``body``. ``secret`` is the ``whsec_`` secret, or for a ``public_key``
        route the Ed25519 private key (``whsk_`` base64 of the 32-byte seed)."""
        ts = str(int(time.time() if timestamp is None else timestamp))
        message_id = message_id or "msg_" + secrets.token_hex(12)
        message = f"{message_id}.{ts}.".encode("ascii") + body
        if self.asymmetric:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            text = secret.encode() if isinstance(secret, str) else secret
            text = text[5:] if text.startswith(b"whsk_") else text
            private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text)[:32])
            signature = "v1a," + base64.b64encode(private.sign(message)).decode("ascii")
        else:
            import hmac

            digest = hmac.new(self._hmac_key(secret), message, hashlib.sha256).digest()
            signature = "v1," + base64.b64encode(digest).decode("ascii")
        prefix = self.prefixes[0]
        return {
            f"{prefix}-id": message_id,
            f"{prefix}-timestamp": ts,
            f"{prefix}-signature": signature,
        }


def standard_webhooks(
    *, secret: SecretSpec = None, public_key: SecretSpec = None, **options: Any
) -> StandardWebhooks:
    """Standard Webhooks: ``webhook-*`` headers, ``whsec_`` secrets, ``v1``/``v1a``."""
    return delivery(
        StandardWebhooks(secret=secret, public_key=public_key, **options),
        retry_horizon=SVIX_RETRY_HORIZON,
    )


def svix(*, secret: SecretSpec = None, **options: Any) -> StandardWebhooks:
    """Svix: ``svix-*`` headers (``webhook-*`` also accepted, as Svix's library does)."""
    return delivery(
        StandardWebhooks(secret=secret, prefixes=("svix", "webhook"), name="svix", **options),
        retry_horizon=SVIX_RETRY_HORIZON,
    )


def clerk(*, secret: SecretSpec = None, **options: Any) -> StandardWebhooks:
    """Clerk (delivers through Svix)."""
    return delivery(
        StandardWebhooks(secret=secret, prefixes=("svix", "webhook"), name="clerk", **options),
        retry_horizon=SVIX_RETRY_HORIZON,
    )


def resend(*, secret: SecretSpec = None, **options: Any) -> StandardWebhooks:
    """Resend (delivers through Svix)."""
    return delivery(
        StandardWebhooks(secret=secret, prefixes=("svix", "webhook"), name="resend", **options),
        retry_horizon=SVIX_RETRY_HORIZON,
    )


def polar(*, secret: SecretSpec = None, **options: Any) -> StandardWebhooks:
    """Polar: Standard Webhooks headers, the raw ``polar_whs_`` secret as the HMAC key."""
    return delivery(
        StandardWebhooks(secret=secret, raw_key=True, name="polar", **options),
        retry_horizon=SVIX_RETRY_HORIZON,
    )


def gitlab_signed(*, secret: SecretSpec = None, **options: Any) -> StandardWebhooks:
    """GitLab signing tokens (``whsec_``): Standard Webhooks headers."""
    return StandardWebhooks(secret=secret, name="gitlab_signed", **options)


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "standard_webhooks": standard_webhooks,
    "svix": svix,
    "clerk": clerk,
    "resend": resend,
    "polar": polar,
    "gitlab_signed": gitlab_signed,
}
