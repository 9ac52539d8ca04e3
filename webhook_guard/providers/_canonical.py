"""How each URL-signed provider turns a request into the bytes it signs (its canonical form).

A canonical form is ``(request, extra) -> bytes`` where ``extra`` is the signed value the
scheme read first (HubSpot's timestamp, Plivo's nonce); it raises ``BadRequest`` when the
request cannot be canonicalised (answered ``bad_request``) and ``Mismatch`` when signed
content contradicts the body (Twilio's ``bodySHA256``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlparse, urlsplit, urlunparse

from webhook_guard.core.request import WebhookRequest
from webhook_guard.providers._parse import MAX_PARAMS, is_form, is_hex, parse_form

__all__ = ("CANONICAL", "BadRequest", "Canonical", "Mismatch", "hubspot_uri", "twilio_json_url")


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
        if len(hashes) != 1 or not is_hex(hashes[0], 64):
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
    """Every query parameter except ``signature`` rendered ``name=value`` (values decoded,
    a repeated name's values joined by ``,``), sorted, with no separator between them."""
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
    # Shopify sorts the rendered ``name=value`` strings (not the names: "a-b=" < "a=").
    return "".join(sorted(f"{k}={','.join(v)}" for k, v in groups.items())).encode("utf-8")


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
