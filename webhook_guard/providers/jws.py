"""JWS (compact JSON Web Signature, HS256) over a hash of the body: Netlify.

The header carries ``<header>.<payload>.<signature>`` (base64url, no padding). Verified
strictly, before anything in it is trusted:

- exactly three parts, each canonical base64url without padding (one spelling per value);
- the protected header is a JSON object whose ``alg`` is ``HS256``, nothing else (no
  ``none``, no algorithm chosen by the sender), without critical extensions (``crit``);
- the signature is ``HMAC-SHA256(secret, header + "." + payload)``, compared in constant
  time with every active key;
- then the payload: a JSON object whose ``iss`` is the provider's issuer and whose body
  claim (Netlify: ``sha256``) is the hex SHA-256 of the raw body (constant time); an
  ``exp`` or ``nbf`` claim, when present, is honoured (Netlify sends neither).

No timestamp is signed: the replay key is the token itself, kept ``retry_horizon``.

Parameters (``Provider.spec``): ``header``, ``issuer``, ``body_claim``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from hmac import compare_digest
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import MAX_HEADER_LENGTH, Check, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family
from webhook_guard.providers._parse import json_object

__all__ = ("JWS", "b64url_canonical")

_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD = Check(Reason.BAD_SIGNATURE)
_VERIFIED = Reason.VERIFIED


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_canonical(text: str) -> bytes | None:
    """Base64url without padding, decoded only when ``text`` is its one spelling."""
    if not text or not text.isascii() or "=" in text:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64url(data) == text else None


def _expected(key: Secret, signing_input: bytes) -> str:
    return _b64url(key.mac("sha256", signing_input))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expired(claims: dict[str, Any], now: float) -> Reason | None:
    """``exp``/``nbf`` when the sender sets them (Netlify documents neither): a token
    past its ``exp`` is stale, one before its ``nbf`` is from the future (no leeway)."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None and (not _number(exp) or exp <= now):
        return Reason.STALE_TIMESTAMP if _number(exp) else Reason.MALFORMED_TIMESTAMP
    if nbf is not None and (not _number(nbf) or nbf > now):
        return Reason.FUTURE_TIMESTAMP if _number(nbf) else Reason.MALFORMED_TIMESTAMP
    return None


class JWS(Family):
    """A JWS (HS256) whose payload commits to the body (see the module docstring)."""

    def configure(self, options: dict[str, Any]) -> None:
        self.header: str = self.spec["header"]
        self.issuer: str = self.spec["issuer"]
        self.body_claim: str = self.spec.get("body_claim", "sha256")

    def signature_present(self, request: WebhookRequest) -> bool:
        return bool(request.headers.getlist(self.header))

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        values = request.headers.getlist(self.header)
        if not values:
            return _MISSING
        token = values[0]
        if len(values) > 1 or len(token) > MAX_HEADER_LENGTH:
            return _MALFORMED
        parts = token.split(".")
        if len(parts) != 3:
            return _MALFORMED
        protected, payload, signature = (b64url_canonical(p) for p in parts)
        if protected is None or payload is None or signature is None or len(signature) != 32:
            return _MALFORMED
        header = json_object(protected, unique=True)
        if header is None or header.get("alg") != "HS256" or "crit" in header:
            return _MALFORMED  # only HS256: never "none", nor the sender's choice of algorithm
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        result = try_keys(keys, _expected, signing_input, parts[2])
        if result[0] is not _VERIFIED:
            return result
        claims = json_object(payload, unique=True)
        if claims is None or claims.get("iss") != self.issuer:
            return _BAD
        late = _expired(claims, now)
        if late is not None:
            return Check(late)
        digest = claims.get(self.body_claim)
        expected = hashlib.sha256(request.body).hexdigest()
        if (
            not isinstance(digest, str)
            or not digest.isascii()
            or not compare_digest(expected, digest)
        ):
            return _BAD  # a genuine token, but for another body
        return result

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The JWS header for ``body`` (``timestamp`` is ignored: none is signed)."""
        protected = _b64url(
            json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode()
        )
        claims = {"iss": self.issuer, self.body_claim: hashlib.sha256(body).hexdigest()}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = _expected(Secret(secret, key_id="sign"), f"{protected}.{payload}".encode())
        token = f"{protected}.{payload}.{signature}"
        return self.signed({self.header: token}, body, url=url, content_type=content_type)
