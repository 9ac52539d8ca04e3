"""Body HMAC: one header carrying ``prefix + encode(HMAC(key, raw body))``.

GitHub, SeaTable, Shopify, Bitbucket, Meta and some thirty more are rows of this family
(see ``catalogue``). The signature covers the raw body and nothing else: no freshness,
so the replay key is the identity of the body (its MAC under the route's first key),
kept for the provider's retry horizon or the guard's ``replay_ttl``.

Parameters (``Provider.spec``):

- ``header``: the signature header;
- ``aliases``: other names of the same header (Shopify's newer ``shopify-hmac-sha256``):
  exactly one of the names may be present;
- ``algorithm``: ``sha1``, ``sha256`` or ``sha512``;
- ``encoding``: ``hex`` (lowercase), ``base64`` or ``base64url`` (padded);
- ``prefix``: literal text before the encoded MAC (``sha256=``);
- ``key``: ``raw`` (the secret's bytes) or ``base64`` (Airtable's ``macSecretBase64``).

The expected signature is computed in its canonical encoding and compared in constant
time with the header as received; the attacker's text is never decoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from typing import Any

from webhook_guard.core.keys import DerivedKeys, KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family

__all__ = ("ALGORITHMS", "ENCODINGS", "BodyHMAC", "decode_key", "encoder", "is_token")

ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64", "base64url")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD = Check(Reason.BAD_SIGNATURE)
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "hex": binascii.hexlify,
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
}


def is_token(name: object) -> bool:
    """Whether ``name`` is a valid HTTP header name (RFC 9110 token)."""
    return isinstance(name, str) and bool(_TOKEN.fullmatch(name))


def encoder(encoding: str) -> Callable[[bytes], bytes]:
    """The canonical encoder of a MAC: lowercase hex, padded Base64 or Base64url."""
    return _ENCODERS[encoding]


def signature_length(algorithm: str, encoding: str, prefix: str) -> int:
    """The length of a signature header value: ``prefix`` and the encoded MAC."""
    return len(prefix) + len(_ENCODERS[encoding](bytes(hashlib.new(algorithm).digest_size)))


def decode_key(value: bytes, how: str) -> bytes | None:
    """The HMAC key of a configured secret: itself (``raw``), or its Base64 decoding."""
    if how == "raw":
        return value
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded or None


def check_options(name: str, algorithm: object, encoding: object, header: object) -> None:
    """E004 for an unknown digest or encoding, or an invalid header name."""
    if not is_token(header):
        problem = f"invalid signature header name {header!r}"
    elif algorithm not in ALGORITHMS:
        problem = f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}"
    elif encoding not in ENCODINGS:
        problem = f"encoding must be one of {ENCODINGS}, not {encoding!r}"
    else:
        return
    raise ConfigurationError(f"{name}: {problem}", code="webhook_guard.E004")


class BodyHMAC(Family):
    """A MAC of the raw body in one header (see the module docstring)."""

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        self.header: str = spec.get("header", "")
        self.algorithm: str = spec.get("algorithm", "sha256")
        self.encoding: str = spec.get("encoding", "hex")
        self.prefix: str = spec.get("prefix", "")
        self.key: str = spec.get("key", "raw")
        self._names = (self.header, *spec.get("aliases", ()))
        check_options(self.name, self.algorithm, self.encoding, self.header)
        if not isinstance(self.prefix, str) or not self.prefix.isascii():
            raise ConfigurationError(f"{self.name}: the prefix must be ASCII text", code="webhook_guard.E004")
        self._length = signature_length(self.algorithm, self.encoding, self.prefix)
        self._expected = self._make_expected()
        if self.key != "raw":
            self.check_literal_secrets()

    def _make_expected(self) -> Callable[[Secret, Any], bytes | None]:
        algorithm, encode, prefix = self.algorithm, _ENCODERS[self.encoding], self.prefix.encode()
        if self.key == "raw":
            if prefix:
                return lambda key, body: prefix + encode(key.mac(algorithm, body))
            return lambda key, body: encode(key.mac(algorithm, body))
        how = self.key

        def decoded_key(key: Secret) -> Secret | None:
            raw = decode_key(key.value, how)
            return Secret(raw, key_id=key.key_id) if raw else None

        decoded = DerivedKeys(decoded_key)

        def expected(key: Secret, body: bytes) -> bytes | None:
            secret = decoded(key)
            if secret is None:  # a key that does not decode matches nothing
                return None
            return prefix + encode(secret.mac(algorithm, body))

        return expected

    def check_secret(self, value: bytes) -> str | None:
        if decode_key(value, self.key) is None:
            return "the secret must be the base64 macSecretBase64 value"
        return None

    def signature_present(self, request: WebhookRequest) -> bool:
        return any(request.headers.getlist(name) for name in self._names)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        values = request.headers.getlist(self.header)
        if len(self._names) > 1:
            for alias in self._names[1:]:
                more = request.headers.getlist(alias)
                if more and values:
                    return _MALFORMED  # both spellings: which one was signed?
                values = values or more
        if not values:
            return _MISSING
        signature = values[0]
        if len(values) > 1 or len(signature) != self._length or not signature.startswith(self.prefix):
            return _MALFORMED
        if not signature.isascii():
            return _BAD
        return try_keys(keys, self._expected, request.body, signature.encode("ascii"))

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The signature header for ``body`` (``timestamp`` is ignored: none is signed)."""
        signature = self._expected(Secret(secret, key_id="sign"), body)
        if signature is None:
            raise ValueError(f"{self.name}: the secret is not a valid key ({self.key})")
        return self.signed({self.header: signature.decode("ascii")}, body, url=url, content_type=content_type)
