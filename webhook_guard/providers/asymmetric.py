"""Asymmetric signatures: Ed25519 (Discord, Telnyx) and ECDSA P-256 / SHA-256 (SendGrid).

The sender signs ``timestamp + separator + body`` with its private key; the route is
configured with the sender's **public key** (not a secret, so it may also be given as
``public_key=``: the two options are aliases, set exactly one). A list of keys means
rotation, as for secrets. ``sign`` takes the private key as ``secret``.

Rules of the family:

- public keys are checked when a literal is configured and when the guard resolves a
  reference: a malformed or wrong-length key is ``webhook_guard.E002``;
- the signature header must occur once, in its canonical spelling (128 lowercase hex
  digits; standard padded Base64 of 64 bytes; standard padded Base64 of a canonical DER
  ``SEQUENCE{r, s}``): decoded strictly and re-encoded, anything else is
  ``MALFORMED_SIGNATURE``, so one signature has one accepted spelling;
- the timestamp is strict ASCII digits (seconds) inside the window (300 s each way);
- the replay key comes from the signed message (``timestamp + body``), never from the
  signature: ECDSA signatures are malleable (``(r, n - s)`` also verifies).

Parameters (``Provider.spec``): ``signature_header``, ``timestamp_header``,
``separator`` and ``key``: ``ed25519-hex``, ``ed25519-base64`` or ``p256``.

The ``crypto`` extra (``cryptography``) is needed; a missing one is reported when the
factory is called, not at the first request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any, NamedTuple

from webhook_guard.core.keys import DerivedKeys, KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, Provider, now_or
from webhook_guard.providers._cipher import require_crypto
from webhook_guard.providers._parse import b64_canonical, is_hex

__all__ = ("KEYS", "Asymmetric", "KeyFormat", "require_crypto")

_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)


def _text(value: str | bytes) -> str:
    return (value.decode("utf-8") if isinstance(value, bytes) else value).strip()


# -- key formats --------------------------------------------------------------------------------


def _ed25519_public(raw: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _ed25519_private(seed: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if len(seed) != 32:
        raise ValueError(f"an Ed25519 private key is a 32-byte seed, not {len(seed)} bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _ed25519_verify(key: Any, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _hex_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError("not hex") from None


def _b64_bytes(text: str) -> bytes:
    data = b64_canonical(text)
    if data is None:
        raise ValueError("not canonical Base64")
    return data


def _p256_public(text: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode("ascii"))
    else:
        der = b64_canonical("".join(text.split()), limit=4096)
        if der is None:
            raise ValueError("not Base64")
        key = load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 (secp256r1) key")
    return key


def _p256_private(text: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        load_der_private_key,
        load_pem_private_key,
    )

    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = load_der_private_key(base64.b64decode(text), password=None)
    except ValueError:
        raise ValueError("the private key is a P-256 key in PEM or Base64 DER (PKCS#8)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the private key is not an EC (P-256) key")
    return key


def _p256_signature(raw: str) -> bytes | None:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    der = b64_canonical(raw, limit=256)
    if der is None:
        return None
    try:
        r, s = decode_dss_signature(der)
    except ValueError:
        return None
    return der if encode_dss_signature(r, s) == der else None  # no BER variants


def _p256_verify(key: Any, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _p256_sign(key: Any, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return bytes(key.sign(message, ec.ECDSA(hashes.SHA256())))


def _p256_public_text(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _p256_generate() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


class KeyFormat(NamedTuple):
    """How one provider writes keys and signatures."""

    #: How the public key is written (for error messages).
    description: str
    #: The configured public key's text to a key object (``ValueError`` when malformed).
    load_public: Callable[[str], Any]
    #: The received signature to bytes, None unless in canonical spelling.
    decode_signature: Callable[[str], bytes | None]
    verify: Callable[[Any, bytes, bytes], bool]
    #: The private key's text to a key object.
    load_private: Callable[[str], Any]
    sign: Callable[[Any, bytes], bytes]
    encode_signature: Callable[[bytes], str]
    #: The public key text a route is configured with, from the private key object.
    public_text: Callable[[Any], str]
    #: A new private key, as ``load_private`` reads it.
    generate: Callable[[], str]


def _seed(decode: Callable[[str], bytes], what: str) -> Callable[[str], Any]:
    def load(text: str) -> Any:
        try:
            seed = decode(text)
        except ValueError:
            raise ValueError(f"the private key is the {what} 32-byte Ed25519 seed") from None
        return _ed25519_private(seed)

    return load


def _b64_loose(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


KEYS: dict[str, KeyFormat] = {
    "ed25519-hex": KeyFormat(
        "a hex Ed25519 public key (64 hex digits)",
        lambda text: _ed25519_public(_hex_bytes(text)),
        lambda raw: bytes.fromhex(raw) if is_hex(raw, 128) else None,
        _ed25519_verify,
        _seed(_hex_bytes, "hex"),
        lambda key, message: bytes(key.sign(message)),
        bytes.hex,
        lambda key: str(key.public_key().public_bytes_raw().hex()),
        lambda: secrets.token_bytes(32).hex(),
    ),
    "ed25519-base64": KeyFormat(
        "a Base64 Ed25519 public key (32 bytes)",
        lambda text: _ed25519_public(_b64_bytes(text)),
        lambda raw: b64_canonical(raw, size=64, limit=88),
        _ed25519_verify,
        _seed(_b64_loose, "Base64"),
        lambda key, message: bytes(key.sign(message)),
        lambda sig: base64.b64encode(sig).decode("ascii"),
        lambda key: base64.b64encode(key.public_key().public_bytes_raw()).decode("ascii"),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
    ),
    "p256": KeyFormat(
        "a P-256 public key (Base64 DER SubjectPublicKeyInfo or PEM)",
        _p256_public,
        _p256_signature,
        _p256_verify,
        _p256_private,
        _p256_sign,
        lambda sig: base64.b64encode(sig).decode("ascii"),
        _p256_public_text,
        _p256_generate,
    ),
}


class Asymmetric(Family):
    """A public-key signature over ``timestamp + separator + body`` (see the module
    docstring)."""

    options = ("public_key",)
    timestamp_unit = "s"
    asymmetric = True

    def configure(self, options: dict[str, Any]) -> None:
        public_key = options.pop("public_key", None)
        if (self.secret is None) == (public_key is None):
            raise ConfigurationError(
                f"{self.name}: give the sender's public key as secret= or public_key= (exactly one)",
                code="webhook_guard.E003" if self.secret is None else "webhook_guard.E004",
            )
        if public_key is not None:
            self.secret = public_key
        require_crypto()
        spec = self.spec
        self.signature_header: str = spec["signature_header"]
        self.timestamp_header: str = spec["timestamp_header"]
        self._separator: bytes = spec.get("separator", b"")
        self._format = KEYS[spec["key"]]
        self.key_format = self._format.description
        self._key = DerivedKeys(self._load_key)
        self.check_literal_secrets()

    @classmethod
    def public_key(cls, row: Provider[Any], private_key: str | bytes) -> str:
        """The public key a route verifies ``private_key``'s signatures with, written as
        the provider's console shows it."""
        key_format = KEYS[row.spec["key"]]
        try:
            return key_format.public_text(key_format.load_private(_text(private_key)))
        except ValueError as exc:
            raise ValueError(f"{row.name}: {exc}") from None

    @classmethod
    def generate_private_key(cls, row: Provider[Any]) -> str:
        """A new private key in the form ``sign`` takes."""
        return KEYS[row.spec["key"]].generate()

    @classmethod
    def route_credentials(cls, row: Provider[Any], signing: str | bytes) -> dict[str, Any]:
        return {"secret": cls.public_key(row, signing)}

    def check_secret(self, value: bytes) -> str | None:
        try:
            self._format.load_public(_text(value))
        except Exception as exc:  # any parsing error of the key's text
            return f"the public key is not {self.key_format} ({exc})"
        return None

    def _load_key(self, secret: Secret) -> Any:
        try:
            return self._format.load_public(_text(secret.value))
        except Exception:  # a malformed key (re-read from a file) verifies nothing
            return None

    def _expected(self, secret: Secret, message: tuple[bytes, bytes]) -> bytes | None:
        """The received signature when ``secret``'s public key verifies it (a public key
        cannot recompute a signature), else None."""
        key = self._key(secret)
        if key is None:
            return None
        signed, signature = message
        try:
            ok = self._format.verify(key, signature, signed)
        except Exception:
            ok = False
        return signature if ok else None

    def signature_present(self, request: WebhookRequest) -> bool:
        return bool(request.headers.getlist(self.signature_header))

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        values = request.headers.getlist(self.signature_header)
        if not values:
            return _MISSING
        signature = self._format.decode_signature(values[0]) if len(values) == 1 else None
        if signature is None:
            return _MALFORMED
        stamp = self._window.read(request.headers, self.timestamp_header, parse_timestamp, now)  # type: ignore[union-attr]
        if isinstance(stamp, Reason):
            return Check(stamp)
        raw_ts, seconds = stamp
        message = raw_ts.encode("ascii") + self._separator + request.body
        material = raw_ts.encode("ascii") + b"\n" + hashlib.sha256(request.body).digest()
        return try_keys(
            keys, self._expected, (message, signature), signature, int(seconds), None, material
        )

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The headers for ``body``; ``secret`` is the sender's **private** key (Discord:
        the hex 32-byte seed; Telnyx: its Base64; SendGrid: a PEM or Base64 DER PKCS#8
        P-256 key)."""
        raw_ts = str(int(now_or(timestamp)))
        try:
            key = self._format.load_private(_text(secret))
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        signature = self._format.sign(key, raw_ts.encode("ascii") + self._separator + body)
        headers = {
            self.signature_header: self._format.encode_signature(signature),
            self.timestamp_header: raw_ts,
        }
        return self.signed(headers, body, url=url, content_type=content_type)
