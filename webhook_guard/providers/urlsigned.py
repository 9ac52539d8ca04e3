"""URL-signed providers: Twilio, Square, Mandrill, Plivo, HubSpot, Trello, Shopify's app proxy.

These providers sign the public URL they called, so the family sets ``needs_url`` and
the WSGI/ASGI adapters fill ``request.url``: the route's ``public_url`` plus the
request's query string, or a URL rebuilt from the ``Host`` header and the server's
scheme. ``X-Forwarded-Proto``/``X-Forwarded-Host`` count only when the peer is one of
``Guard(trusted_proxies=...)``. A request whose URL is empty fails closed (``BAD_REQUEST``).

Rules shared by the family (stricter than the providers' SDKs, on purpose):

- **Exactly one URL.** Twilio's SDK also accepts the signature computed with the
  default port added or *any* port removed; here the URL is used as is. Set the route's
  ``public_url`` to the URL exactly as entered in the provider's console. Nothing tries
  a list of URL variants (SECURITY.md section 1.17).
- **URLs are ASCII.** A URL with non-ASCII characters is refused (``BAD_REQUEST``).
- **Form parameters are parsed from the raw body** (UTF-8, ``+`` is a space) only when
  the ``Content-Type`` is ``application/x-www-form-urlencoded``. A non-empty body that
  the scheme cannot sign is refused with ``BAD_REQUEST``.
- **Ambiguous forms are refused**: Twilio's SDK signs ``set(values)``, so ``a=1&a=1``
  and ``a=1`` share a signature: a repeated identical pair is ``BAD_REQUEST``. Mandrill
  (PHP ``$_POST``, the last value wins) refuses any repeated name.
- Known limit of the providers' design: Twilio and Mandrill concatenate names and values
  without separators, so ``ab=c`` and ``a=bc`` sign the same string. Such a re-split copy
  carries the *same* signature, hence the same replay key: refused as a duplicate.

Parameters (``Provider.spec``): ``canonical`` (how the request becomes the signed bytes:
a ``Canonical`` from ``CANONICAL``), ``header`` (or ``query``: Shopify's app proxy signs
into the query), ``algorithm``, ``encoding`` (``base64`` or ``hex``), ``hash`` (``hmac``,
or ``prefixed``: HubSpot v1/v2's plain SHA-256 of secret + message), ``timestamp_header``
(milliseconds, HubSpot v3), ``nonce_header`` and ``list`` (Plivo).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest, guess_content_type
from webhook_guard.core.timestamps import UNITS
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family, Provider, now_or
from webhook_guard.providers._canonical import (
    CANONICAL,
    BadRequest,
    Mismatch,
    hubspot_uri,
    twilio_json_url,
)
from webhook_guard.providers._parse import (
    B64_OK,
    has_headers,
    is_hex,
    one_query,
)

__all__ = ("CANONICAL", "BadRequest", "Mismatch", "URLSigned", "hubspot_uri", "twilio_json_url")

#: Most signatures in one list (Plivo's comma-separated header).
MAX_SIGNATURES = 8
#: Longest single signature looked at (Base64 SHA-256 is 44 characters, hex 64).
_MAX_SIGNATURE = 128
_MAX_NONCE = 128
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
_BAD = Check(Reason.BAD_SIGNATURE)


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class URLSigned(Family):
    """A signature over the public URL and the request (see the module docstring)."""

    needs_url = True

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        self.header: str | None = spec.get("header")
        self.query: str | None = spec.get("query")
        self.algorithm: str = spec.get("algorithm", "sha256")
        self.encoding: str = spec.get("encoding", "base64")
        self.timestamp_header: str | None = spec.get("timestamp_header")
        self.nonce_header: str | None = spec.get("nonce_header")
        self.content_type: str | None = spec.get("content_type")
        self._list = bool(spec.get("list", False))
        self._canonical = CANONICAL[spec["canonical"]]
        self._prefixed = spec.get("hash", "hmac") == "prefixed"
        self.needs_url = spec.get("url", True)
        self.body_signed = spec.get("body_signed", True)
        self._required: tuple[tuple[str, str], ...] = tuple(spec.get("required", ()))
        self.timestamp_param: str | None = spec.get("timestamp_param")
        if self.timestamp_header is not None:
            self.timestamp_unit = "ms"
        elif self.timestamp_param is not None:
            self.timestamp_unit = "s"
        algorithm, hex_, prefixed = self.algorithm, self.encoding == "hex", self._prefixed
        self._hex_length = hashlib.new(algorithm).digest_size * 2 if hex_ else 0

        def expected(key: Secret, message: bytes) -> str:
            if prefixed:  # HubSpot v1/v2: a plain hash of secret + message
                digest = hashlib.new(algorithm, key.value + message).digest()
            else:
                digest = key.mac(algorithm, message)
            return digest.hex() if hex_ else base64.b64encode(digest).decode("ascii")

        self._expected = expected

    @classmethod
    def unit_of(cls, row: Provider[Any], options: Mapping[str, Any]) -> str:
        return "ms" if row.spec.get("timestamp_header") else "s"

    def signature_present(self, request: WebhookRequest) -> bool:
        if self.header is None:
            return "signature=" in request.query
        return bool(request.headers.getlist(self.header))

    def _received(self, request: WebhookRequest) -> str | list[str] | Check:
        if self.query is not None:
            value, ok = one_query(request, self.query)
        else:
            value, ok = single_header(request.headers, self.header or "")
        if value is None:
            return _MISSING
        if not ok:
            return _MALFORMED
        candidates = value.split(",") if self._list else [value]
        if len(candidates) > MAX_SIGNATURES:
            return _MALFORMED
        for candidate in candidates:
            if len(candidate) > _MAX_SIGNATURE:
                return _MALFORMED
            if self._hex_length:
                if not is_hex(candidate, self._hex_length):
                    return _MALFORMED
            elif not B64_OK(candidate):
                return _MALFORMED
        return candidates if self._list else candidates[0]

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        received = self._received(request)
        if isinstance(received, Check):
            return received
        extra = ""
        timestamp = None
        message_id = None
        if self.nonce_header is not None:
            nonce, ok = single_header(request.headers, self.nonce_header)
            if not nonce or not ok or len(nonce) > _MAX_NONCE or not nonce.isascii():
                return _MALFORMED if nonce else _MISSING
            extra = message_id = nonce
        if not has_headers(request.headers, self._required):
            return _MALFORMED  # HubSpot's signature version
        if self.timestamp_header is not None:
            stamp = self._window.read(request.headers, self.timestamp_header, UNITS["ms"], now)  # type: ignore[union-attr]
            if isinstance(stamp, Reason):
                return Check(stamp)
            extra = stamp[0]
            timestamp = int(extra)
        elif self.timestamp_param is not None:  # Shopify's app proxy: signed among the params
            raw, ok = one_query(request, self.timestamp_param)
            if raw is None:
                return Check(Reason.MISSING_TIMESTAMP)
            seconds = UNITS["s"](raw) if ok else None
            if seconds is None:
                return Check(Reason.MALFORMED_TIMESTAMP)
            late = self._window.check(seconds, now)  # type: ignore[union-attr]
            if late is not None:
                return Check(late)
            timestamp = int(seconds)
        if self._prefixed and not _utf8(request.body):
            # HubSpot v1/v2 hash secret + message with plain SHA-256, which a length
            # extension appends to without the secret: "body + padding + anything" gets a
            # computable hash. The padding opens with 0x80 right after the genuine bytes,
            # never valid UTF-8 there, and HubSpot sends JSON: refuse what is not UTF-8.
            return _BAD_REQUEST
        try:
            message = self._canonical(request, extra)
        except BadRequest:
            return _BAD_REQUEST
        except Mismatch:
            return _BAD
        return try_keys(keys, self._expected, message, received, timestamp, message_id)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        method: str = "POST",
        content_type: str | None = None,
        nonce: str = "12345678901234567890",
    ) -> SignedRequest:
        """The request for ``body`` sent with ``method`` to ``url`` (the public URL);
        ``timestamp`` in seconds (HubSpot v3 sends milliseconds)."""
        if not url and self.needs_url:
            raise ValueError(f"{self.name}: sign() needs url=: the public URL the provider calls")
        url = url or ""
        kind = content_type
        if kind is None and body:  # what the canonical form is computed for
            json_url = "bodySHA256=" in url
            kind = self.content_type or (
                "application/json" if json_url else guess_content_type(body, form=True)
            )
        headers = Headers([("Content-Type", kind)] if kind else [])
        query = urlsplit(url).query
        if self.timestamp_param is not None:  # signed among the query parameters
            stamp = f"{self.timestamp_param}={int(now_or(timestamp))}"
            kept = [p for p in query.split("&") if p and not p.startswith(self.timestamp_param + "=")]
            query = "&".join([*kept, stamp])
            url = url.split("?", 1)[0] + "?" + query if url else ""
        request = WebhookRequest(method, "/", headers, body, query, url)
        out: dict[str, str] = dict(self._required)
        extra = ""
        if self.nonce_header is not None:
            extra = nonce
            out[self.nonce_header] = nonce
        if self.timestamp_header is not None:
            extra = str(int(now_or(timestamp) * 1000))
            out[self.timestamp_header] = extra
        signature = self._expected(Secret(secret, key_id="sign"), self._canonical(request, extra))
        if self.query is not None:
            query = f"{query}&{self.query}={signature}" if query else f"{self.query}={signature}"
            url = url.split("?", 1)[0] + "?" + query if url else ""
        else:
            out[self.header or ""] = signature
        sent = {"Content-Type": content_type} if content_type else {}  # named by the caller
        return SignedRequest({**sent, **out}, body, query, url, method)

