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
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlparse, urlsplit, urlunparse

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest, guess_content_type
from webhook_guard.core.timestamps import UNITS
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family, Provider, now_or
from webhook_guard.providers._parse import (
    B64_OK,
    MAX_PARAMS,
    is_form,
    is_hex,
    one_query,
    parse_form,
)

__all__ = ("CANONICAL", "BadRequest", "Mismatch", "URLSigned", "hubspot_uri", "twilio_json_url")

#: Most signatures in one list (Plivo's comma-separated header).
MAX_SIGNATURES = 8
#: Longest single signature looked at (Base64 SHA-256 is 44 characters, hex 64).
_MAX_SIGNATURE = 128
_MAX_NONCE = 128
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
_BAD = Check(Reason.BAD_SIGNATURE)


class BadRequest(ValueError):
    """The request cannot be canonicalised (answered with ``BAD_REQUEST``)."""


class Mismatch(ValueError):
    """Signed content (Twilio's ``bodySHA256``) does not match the body."""


def _url_bytes(url: str) -> bytes:
    if not url:
        raise BadRequest("no URL")
    try:
        return url.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest("non-ASCII URL") from None


def _form(request: WebhookRequest) -> list[tuple[str, str]]:
    if not is_form(request.headers):
        raise BadRequest("unsigned body")
    pairs = parse_form(request.body)
    if pairs is None:
        raise BadRequest("unparseable form")
    return pairs


def twilio_json_url(url: str, body: bytes) -> str:
    """``url`` with Twilio's ``bodySHA256=<hex SHA-256 of body>`` query parameter added."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{url}{'&' if urlsplit(url).query else '?'}bodySHA256={digest}"


#: HubSpot's list of escapes decoded in the URI before signing; every other escape
#: (``%20``, ``%26``, ``%25``...) stays as sent. One pass, so ``%253A`` stays ``%253A``.
_HUBSPOT_DECODE = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


def hubspot_uri(url: str) -> str:
    """The URI HubSpot signs: ``url`` with only its listed percent-escapes decoded."""
    return _HUBSPOT_DECODE.sub(lambda m: chr(int(m.group(1), 16)), url)


# -- how each provider turns a request into the signed bytes ------------------------------------
# (request, the signed extra value: HubSpot's timestamp, Plivo's nonce) -> bytes; raises
# BadRequest or Mismatch.

Canonical = Callable[[WebhookRequest, str], bytes]


def _twilio(request: WebhookRequest, extra: str) -> bytes:
    """URL + every form parameter sorted by name then value as ``name + value``; a URL
    with ``bodySHA256`` (JSON bodies) signs the URL only and the hash must match."""
    url = _url_bytes(request.url)
    # The parameter appears decoded only if it is written out or escaped: parse only then.
    query = urlsplit(request.url).query if "bodySHA256" in request.url or "%" in request.url else ""
    hashes = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "bodySHA256"]
    if hashes:
        if len(hashes) != 1 or not _HEX64.fullmatch(hashes[0]):
            raise BadRequest("bodySHA256")
        if hashlib.sha256(request.body).hexdigest() != hashes[0]:
            raise Mismatch
        return url
    if request.body and is_form(request.headers):
        pairs = _form(request)
        if len(set(pairs)) != len(pairs):
            raise BadRequest("repeated identical parameter")
        return url + "".join(k + v for k, v in sorted(pairs)).encode("utf-8")
    if request.body:
        raise BadRequest("unsigned body")
    return url


def _mandrill(request: WebhookRequest, extra: str) -> bytes:
    """URL + the POST parameters sorted by name as ``name + value``; no repeated name."""
    url = _url_bytes(request.url)
    if not request.body:
        return url
    pairs = _form(request)
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise BadRequest("repeated parameter")
    return url + "".join(k + v for k, v in sorted(pairs)).encode("utf-8")


def _url_body(request: WebhookRequest, extra: str) -> bytes:
    """The notification URL then the raw body (Square)."""
    return _url_bytes(request.url) + request.body


def _body_url(request: WebhookRequest, extra: str) -> bytes:
    """The raw body then the callback URL (Trello)."""
    return request.body + _url_bytes(request.url)


def _grouped(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for k, v in pairs:
        groups.setdefault(k, []).append(v)
    return [(k, sorted(groups[k])) for k in sorted(groups)]


def _plivo(request: WebhookRequest, nonce: str) -> bytes:
    """As ``plivo.utils.signature_v3``: ``scheme://host/path`` plus, for GET, ``"?" +
    sorted(k=v)`` of the decoded query; for POST, ``"?"`` then the sorted query (and
    ``"."`` if both exist) then the sorted form parameters as ``name + value``; then
    ``"." + nonce``."""
    _url_bytes(request.url)
    parsed = urlparse(request.url)
    base = urlunparse((parsed.scheme, parsed.netloc, parsed.path, "", "", ""))
    try:
        query = parse_qsl(
            parsed.query, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS
        )
    except ValueError:
        raise BadRequest("query") from None
    sorted_query = "&".join(f"{k}={v}" for k, vs in _grouped(query) for v in vs)
    if request.method == "GET":
        if request.body:
            raise BadRequest("unsigned body")
        base += "?" + sorted_query if sorted_query else ""
    elif request.method == "POST":
        params = _form(request) if request.body else []
        if sorted_query or params:
            base += "?" + sorted_query
        if sorted_query and params:
            base += "."
        base += "".join(k + v for k, vs in _grouped(params) for v in vs)
    else:
        raise BadRequest("method")
    return base.encode("utf-8") + b"." + nonce.encode("ascii")


def _hubspot_v3(request: WebhookRequest, raw_ts: str) -> bytes:
    """method + URI (listed escapes decoded) + body + timestamp (milliseconds)."""
    try:
        method = request.method.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest("method") from None
    return method + _url_bytes(hubspot_uri(request.url)) + request.body + raw_ts.encode("ascii")


def _hubspot_v2(request: WebhookRequest, extra: str) -> bytes:
    """method + URI + body (signed with the client secret in front, not an HMAC)."""
    try:
        method = request.method.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest("method") from None
    return method + _url_bytes(request.url) + request.body


def _body(request: WebhookRequest, extra: str) -> bytes:
    """The raw body (HubSpot v1: the client secret in front, not an HMAC)."""
    return request.body


def _shopify_proxy(request: WebhookRequest, extra: str) -> bytes:
    """Every query parameter except ``signature``, sorted by name, rendered ``name=value``
    with repeated names joined by ``,`` and no separator between pairs (values decoded)."""
    try:
        pairs = parse_qsl(
            request.query, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS
        )
    except ValueError:
        raise BadRequest("query") from None
    groups: dict[str, list[str]] = {}
    for k, v in pairs:
        if k != "signature":
            groups.setdefault(k, []).append(v)
    return "".join(f"{k}={','.join(groups[k])}" for k in sorted(groups)).encode("utf-8")


#: Canonical forms by name (``Provider.spec["canonical"]``).
CANONICAL: dict[str, Canonical] = {
    "twilio": _twilio,
    "mandrill": _mandrill,
    "url_body": _url_body,
    "body_url": _body_url,
    "plivo": _plivo,
    "hubspot_v3": _hubspot_v3,
    "hubspot_v2": _hubspot_v2,
    "body": _body,
    "shopify_proxy": _shopify_proxy,
}


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
        if self.timestamp_header is not None:
            self.timestamp_unit = "ms"
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
        if self.timestamp_header is not None:
            stamp = self._window.read(request.headers, self.timestamp_header, UNITS["ms"], now)  # type: ignore[union-attr]
            if isinstance(stamp, Reason):
                return Check(stamp)
            extra = stamp[0]
            timestamp = int(extra)
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
        request = WebhookRequest(method, "/", headers, body, query, url)
        out: dict[str, str] = {}
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

