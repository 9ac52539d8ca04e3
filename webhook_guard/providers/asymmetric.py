"""Asymmetric signatures: Discord and Telnyx (Ed25519), SendGrid (ECDSA P-256 / SHA-256).

The sender signs with a private key; the route is configured with the sender's **public
key** (not a secret, so it may also be given as ``public_key=``: the two options are
aliases, set exactly one). A list of keys means rotation, as for secrets.

Rules shared by the three schemes:

- the public keys are parsed at start-up (literal, ``env:`` and ``file:`` references);
  a malformed or wrong-length key is a ``ConfigurationError`` (``webhook_guard.E002``);
- the signature header must occur once, in its canonical spelling (Discord: 128 lowercase
  hex digits; Telnyx: standard padded Base64 of 64 bytes; SendGrid: standard padded Base64
  of a canonical DER ``SEQUENCE{r, s}``). The attacker's string is decoded strictly and
  re-encoded, and anything but the canonical spelling is ``MALFORMED_SIGNATURE``, so one
  signature has one accepted spelling;
- the timestamp is strict ASCII digits (seconds) inside a past and a future window
  (default 300 s each way; no provider documents a window, Telnyx's SDK uses 300 s);
- the replay key is derived from the signed message (``timestamp + body``), never from
  the signature: ECDSA signatures are malleable (``(r, n - s)`` also verifies), so two
  spellings of one delivery would otherwise get two replay keys;
- ``check`` never raises: any parsing or cryptographic error is a rejection.

The ``crypto`` extra (``cryptography``) is needed; a missing one is reported when the
factory is called, not at the first request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Response,
    Scheme,
    SecretSpec,
    check_window,
    delivery,
    parse_timestamp,
    single_header,
    validate_window,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError, MissingExtraError

__all__ = (
    "FACTORIES",
    "AsymmetricScheme",
    "Discord",
    "SendGrid",
    "Telnyx",
    "discord",
    "sendgrid",
    "telnyx",
)

DEFAULT_WINDOW = 300.0
#: Cached parsed public keys per scheme (keys are few; a file rotation adds one).
_MAX_CACHED_KEYS = 64
#: Discord PING detection only parses small verified bodies (a PING is ~300 bytes).
_MAX_PING_BODY = 16 * 1024

_HEX_SIG = re.compile(r"[0-9a-f]{128}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")

_JSON = (("Content-Type", "application/json"),)


def require_crypto() -> Any:
    """Import ``cryptography`` or raise ``MissingExtraError`` (at configuration time)."""
    try:
        import cryptography.hazmat.primitives.asymmetric.ec as ec
    except ImportError:  # pragma: no cover - cryptography is a test dependency
        raise MissingExtraError("crypto", "cryptography") from None
    return ec


def _b64_canonical(raw: str, *, size: int | None = None, limit: int = 512) -> bytes | None:
    """Strict standard Base64: decoded bytes, or None unless ``raw`` is the canonical spelling."""
    if not raw or len(raw) > limit or not _B64.fullmatch(raw):
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(data).decode("ascii") != raw:
        return None  # the unused low bits of the last character were not zero
    if size is not None and len(data) != size:
        return None
    return data


def _iter_refs(spec: Any) -> Iterator[Any]:
    """The individual references in a secret specification (callables are skipped)."""
    from webhook_guard.keysources import Key

    if spec is None or (callable(spec) and not isinstance(spec, Key)):
        return
    if isinstance(spec, (str, bytes)):
        yield spec
    elif isinstance(spec, Key):
        yield spec.secret
    elif isinstance(spec, Mapping):
        if "secret" in spec and isinstance(spec.get("secret"), (str, bytes)):
            yield spec["secret"]
        else:
            for value in spec.values():
                yield from _iter_refs(value)
    else:
        for value in spec:
            yield from _iter_refs(value)


class AsymmetricScheme(Scheme):
    """A public-key signature over ``timestamp + separator + body`` (see the module docstring)."""

    signature_header = ""
    timestamp_header = ""
    separator = b""
    #: How the public key is written (for error messages).
    key_format = ""

    def __init__(
        self,
        *,
        secret: SecretSpec = None,
        public_key: SecretSpec = None,
        window: float = DEFAULT_WINDOW,
        future_window: float | None = None,
    ) -> None:
        if (secret is None) == (public_key is None):
            raise ConfigurationError(
                f"{self.name}: give the sender's public key as secret= or public_key= (exactly one)",
                code="webhook_guard.E003" if secret is None else "webhook_guard.E004",
            )
        super().__init__(secret=secret if secret is not None else public_key)
        self._crypto = require_crypto()
        self.window = float(window)
        self.future_window = float(window if future_window is None else future_window)
        self._cache: dict[bytes, Any] = {}
        self.validate()

    # -- configuration -----------------------------------------------------------------

    def validate(self) -> None:
        validate_window(self.name, self.window, self.future_window)
        from webhook_guard.keysources import resolve_one

        for index, ref in enumerate(_iter_refs(self.secret)):
            what = f"{self.name} public key #{index}"
            value = resolve_one(ref, route=self.name, what=what)
            try:
                self.load_key(value)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{what} is not {self.key_format} ({exc})", code="webhook_guard.E002"
                ) from None

    def replay_ttl(self) -> float:
        return self.window + self.future_window

    def load_key(self, raw: bytes) -> Any:
        """Parse one configured public key; ``ValueError`` when malformed."""
        raise NotImplementedError

    def _key(self, secret: Secret) -> Any:
        value = secret.value
        if value in self._cache:
            return self._cache[value]
        try:
            key = self.load_key(value)
        except Exception:  # a malformed key (re-read from a file) verifies nothing
            key = None
        if len(self._cache) >= _MAX_CACHED_KEYS:
            self._cache.clear()
        self._cache[value] = key
        return key

    # -- verification --------------------------------------------------------------------

    def decode_signature(self, raw: str) -> bytes | None:
        """The signature bytes, or None unless ``raw`` is in canonical form."""
        raise NotImplementedError

    def verify_with(self, key: Any, signature: bytes, message: bytes) -> bool:
        raise NotImplementedError

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        raw_sig, sig_ok = single_header(request.headers, self.signature_header)
        if raw_sig is None:
            return Check(Reason.MISSING_SIGNATURE)
        signature = self.decode_signature(raw_sig) if sig_ok else None
        if signature is None:
            return Check(Reason.MALFORMED_SIGNATURE)
        raw_ts, ts_ok = single_header(request.headers, self.timestamp_header)
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        seconds = parse_timestamp(raw_ts) if ts_ok else None
        if seconds is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(seconds, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        message = raw_ts.encode("ascii") + self.separator + request.body
        for secret in keys:
            key = self._key(secret)
            if key is None:
                continue
            try:
                ok = self.verify_with(key, signature, message)
            except Exception:
                ok = False
            if ok:
                return self.verified(request, secret, raw_ts, seconds)
        return Check(Reason.BAD_SIGNATURE)

    def verified(self, request: WebhookRequest, secret: Secret, raw_ts: str, seconds: int) -> Check:
        material = raw_ts.encode("ascii") + b"\n" + hashlib.sha256(request.body).digest()
        return Check(
            Reason.VERIFIED, key_id=secret.key_id, replay_material=material, timestamp=seconds
        )

    # -- signing (tests, CLI) ------------------------------------------------------------

    def sign_message(self, message: bytes, private_key: str | bytes) -> str:
        raise NotImplementedError

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """Headers for ``body``; ``secret`` is the sender's **private** key (see the factory)."""
        if timestamp is None:
            raise ValueError(f"{self.name}: sign() needs a timestamp")
        raw_ts = str(int(timestamp))
        message = raw_ts.encode("ascii") + self.separator + body
        return {
            self.signature_header: self.sign_message(message, secret),
            self.timestamp_header: raw_ts,
        }


def _text(value: str | bytes) -> str:
    return (value.decode("utf-8") if isinstance(value, bytes) else value).strip()


class _Ed25519(AsymmetricScheme):
    """Ed25519 (RFC 8032) over the raw 32-byte public key."""

    def decode_public(self, text: str) -> bytes:
        raise NotImplementedError

    def load_key(self, raw: bytes) -> Any:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        data = self.decode_public(_text(raw))
        if len(data) != 32:
            raise ValueError(f"expected 32 bytes, got {len(data)}")
        return Ed25519PublicKey.from_public_bytes(data)

    def verify_with(self, key: Any, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def private_key(self, secret: str | bytes) -> Any:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        seed = self.decode_public(_text(secret))  # same text encoding as the public key
        return Ed25519PrivateKey.from_private_bytes(seed)


class Discord(_Ed25519):
    """Discord interactions endpoint / Webhook Events (see ``discord``)."""

    name = "discord"
    signature_header = "X-Signature-Ed25519"
    timestamp_header = "X-Signature-Timestamp"
    key_format = "a hex Ed25519 public key (64 hex digits)"

    def __init__(
        self,
        *,
        secret: SecretSpec = None,
        public_key: SecretSpec = None,
        window: float = DEFAULT_WINDOW,
        future_window: float | None = None,
        kind: str = "interactions",
    ) -> None:
        self.kind = kind
        super().__init__(
            secret=secret, public_key=public_key, window=window, future_window=future_window
        )

    def validate(self) -> None:
        if self.kind not in ("interactions", "events"):
            raise ConfigurationError(
                f"discord: kind must be 'interactions' or 'events', not {self.kind!r}",
                code="webhook_guard.E004",
            )
        super().validate()

    def decode_public(self, text: str) -> bytes:
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError("not hex") from None

    def decode_signature(self, raw: str) -> bytes | None:
        if not _HEX_SIG.fullmatch(raw):
            return None
        return bytes.fromhex(raw)

    def sign_message(self, message: bytes, private_key: str | bytes) -> str:
        """``private_key``: the hex 32-byte Ed25519 seed."""
        return str(self.private_key(private_key).sign(message).hex())

    def verified(self, request: WebhookRequest, secret: Secret, raw_ts: str, seconds: int) -> Check:
        check = super().verified(request, secret, raw_ts, seconds)
        kind = _ping_type(request.body)
        response: Response
        if self.kind == "interactions" and kind == 1:
            response = (200, _JSON, b'{"type":1}')  # PONG
        elif self.kind == "events" and kind == 0:
            response = (204, (), b"")
        else:
            return check
        return Check(
            Reason.VERIFIED,
            key_id=check.key_id,
            timestamp=check.timestamp,
            details={"handshake": "ping"},
            response=response,
        )


def _ping_type(body: bytes) -> int | None:
    """The ``type`` of a small verified JSON object body (None otherwise)."""
    if len(body) > _MAX_PING_BODY or not body.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("type")
    if type(value) is not int:  # bool is an int subclass, and not a type
        return None
    return value


class Telnyx(_Ed25519):
    """Telnyx webhooks (API v2): Ed25519 over ``timestamp|body`` (see ``telnyx``)."""

    name = "telnyx"
    signature_header = "telnyx-signature-ed25519"
    timestamp_header = "telnyx-timestamp"
    separator = b"|"
    key_format = "a Base64 Ed25519 public key (32 bytes)"

    def decode_public(self, text: str) -> bytes:
        data = _b64_canonical(text)
        if data is None:
            raise ValueError("not canonical Base64")
        return data

    def decode_signature(self, raw: str) -> bytes | None:
        return _b64_canonical(raw, size=64, limit=88)

    def sign_message(self, message: bytes, private_key: str | bytes) -> str:
        """``private_key``: the Base64 32-byte Ed25519 seed."""
        return base64.b64encode(self.private_key(private_key).sign(message)).decode("ascii")


class SendGrid(AsymmetricScheme):
    """SendGrid Event Webhook: ECDSA P-256 / SHA-256 over ``timestamp + body`` (see ``sendgrid``)."""

    name = "sendgrid"
    signature_header = "X-Twilio-Email-Event-Webhook-Signature"
    timestamp_header = "X-Twilio-Email-Event-Webhook-Timestamp"
    key_format = "a P-256 public key (Base64 DER SubjectPublicKeyInfo or PEM)"

    def load_key(self, raw: bytes) -> Any:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import (
            load_der_public_key,
            load_pem_public_key,
        )

        text = _text(raw)
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode("ascii"))
        else:
            der = _b64_canonical("".join(text.split()), limit=4096)
            if der is None:
                raise ValueError("not Base64")
            key = load_der_public_key(der)
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError("not a P-256 (secp256r1) key")
        return key

    def decode_signature(self, raw: str) -> bytes | None:
        from cryptography.hazmat.primitives.asymmetric.utils import (
            decode_dss_signature,
            encode_dss_signature,
        )

        der = _b64_canonical(raw, limit=256)
        if der is None:
            return None
        try:
            r, s = decode_dss_signature(der)
        except ValueError:
            return None
        if encode_dss_signature(r, s) != der:  # BER variants of one signature
            return None
        return der

    def verify_with(self, key: Any, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def sign_message(self, message: bytes, private_key: str | bytes) -> str:
        """``private_key``: a PEM (PKCS#8 or SEC1) or Base64 DER PKCS#8 P-256 private key."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import (
            load_der_private_key,
            load_pem_private_key,
        )

        text = _text(private_key)
        if text.startswith("-----BEGIN"):
            key = load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = load_der_private_key(base64.b64decode(text), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("sendgrid: the private key is not an EC key")
        return base64.b64encode(key.sign(message, ec.ECDSA(hashes.SHA256()))).decode("ascii")


def discord(
    *,
    secret: SecretSpec = None,
    public_key: SecretSpec = None,
    window: float = DEFAULT_WINDOW,
    future_window: float | None = None,
    kind: str = "interactions",
) -> Discord:
    """Discord interactions endpoint (``X-Signature-Ed25519`` + ``X-Signature-Timestamp``).

    The signature is Ed25519 over ``timestamp + body`` with the application's public key.
    Invalid signatures are answered 401, as Discord's endpoint probes require. A verified
    PING (``{"type": 1}``) is answered ``{"type":1}`` by the guard itself; the app sees
    every other interaction.

    :param secret: the application's public key(s), hex (Developer Portal, "Public Key").
    :param public_key: an alias of ``secret`` (a public key is not secret); set one.
    :param window: seconds the timestamp may be old (default 300; Discord documents none).
    :param future_window: seconds it may be ahead (default: ``window``).
    :param kind: ``"interactions"`` (default) or ``"events"`` for Discord Webhook Events,
        whose PING is ``type`` 0 and is answered ``204`` (their ``type`` 1 is an event and
        goes to the app).

    ``sign()`` takes the hex 32-byte private seed as ``secret``.
    """
    return Discord(
        secret=secret,
        public_key=public_key,
        window=window,
        future_window=future_window,
        kind=kind,
    )


def telnyx(
    *,
    secret: SecretSpec = None,
    public_key: SecretSpec = None,
    window: float = DEFAULT_WINDOW,
    future_window: float | None = None,
) -> Telnyx:
    """Telnyx API v2 webhooks (``telnyx-signature-ed25519`` + ``telnyx-timestamp``).

    Ed25519 over ``timestamp + "|" + body``; signature and public key in Base64.

    :param secret: the account's public key(s), Base64 (Mission Control portal).
    :param public_key: an alias of ``secret``; set one.
    :param window: seconds the timestamp may be old (default 300, the SDK's tolerance).
    :param future_window: seconds it may be ahead (default: ``window``).

    ``sign()`` takes the Base64 32-byte private seed as ``secret``. The body's ``data.id``
    is the event (its retries keep it).
    """
    return delivery(
        Telnyx(secret=secret, public_key=public_key, window=window, future_window=future_window),
        event_id=("data", "id"),
    )


def sendgrid(
    *,
    secret: SecretSpec = None,
    public_key: SecretSpec = None,
    window: float = DEFAULT_WINDOW,
    future_window: float | None = None,
) -> SendGrid:
    """SendGrid signed Event Webhook (``X-Twilio-Email-Event-Webhook-Signature``/``-Timestamp``).

    ECDSA P-256 with SHA-256 over ``timestamp + body`` (the body ends with ``\\r\\n``; it is
    verified as received). The signature is Base64 DER.

    :param secret: the verification key(s): Base64 DER SubjectPublicKeyInfo as shown by
        SendGrid, or PEM.
    :param public_key: an alias of ``secret``; set one.
    :param window: seconds the timestamp may be old (default 300; SendGrid documents none).
    :param future_window: seconds it may be ahead (default: ``window``).

    ``sign()`` takes a P-256 private key (PEM, or Base64 DER PKCS#8) as ``secret``.
    """
    return SendGrid(
        secret=secret, public_key=public_key, window=window, future_window=future_window
    )


#: Every factory of this module by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "discord": discord,
    "sendgrid": sendgrid,
    "telnyx": telnyx,
}
