"""URL-signed providers (Twilio, Square, Mandrill, Plivo, HubSpot v3).

These providers sign the public URL they called, so every scheme here sets
``needs_url = True`` and the WSGI/ASGI adapters fill ``request.url``: the route's
``public_url`` plus the request's query string, or a URL rebuilt from the ``Host``
header and the server's scheme. ``X-Forwarded-Proto``/``X-Forwarded-Host`` count only
when the peer is one of ``Guard(trusted_proxies=...)``. A request whose URL is empty
(a scheme used outside the adapters without one) fails closed with ``BAD_REQUEST``.

Rules shared by the family (stricter than the providers' SDKs, on purpose):

- **Exactly one URL.** Twilio's SDK also accepts the signature computed with the
  default port added or *any* port removed (``https://host:1234/x`` verifies a signature
  made for ``https://host/x``); here the URL is used as is. Set the route's ``public_url``
  to the URL exactly as entered in the provider's console (with ``:443`` only if you
  typed it there). Nothing tries a list of URL variants (SECURITY.md section 1.17).
- **URLs are ASCII.** A URL with non-ASCII characters is refused (``BAD_REQUEST``);
  configure the percent-encoded / punycode form.
- **Form parameters are parsed from the raw body** (UTF-8, ``+`` is a space) only when
  the ``Content-Type`` is ``application/x-www-form-urlencoded``. A non-empty body that
  the scheme cannot sign (JSON to Twilio without ``bodySHA256``, JSON to Mandrill or
  Plivo) is refused with ``BAD_REQUEST``: it would otherwise reach the app unauthenticated.
- **Ambiguous forms are refused**: Twilio's SDK signs ``set(values)``, so ``a=1&a=1``
  and ``a=1`` share a signature: a repeated identical pair is ``BAD_REQUEST``. Mandrill
  (PHP ``$_POST``, the last value wins) refuses any repeated name.
- No provider here signs a timestamp except HubSpot v3; the replay key is the matched
  signature (the signed content), so a replay store refuses a captured copy.
- Known limit of the providers' design: Twilio and Mandrill concatenate names and values
  without separators, so ``ab=c`` and ``a=bc`` (or a query/form split moved by one
  character) sign the same string. Such a re-split copy carries the *same* signature,
  hence the same replay key: with replay protection on it is refused as a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlparse, urlsplit, urlunparse

from webhook_guard.core.keys import KeySet, Secret, compare
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Scheme,
    SecretSpec,
    WindowedScheme,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = (
    "FACTORIES",
    "HubSpot",
    "Mandrill",
    "Plivo",
    "Square",
    "Twilio",
    "hubspot",
    "hubspot_uri",
    "mandrill",
    "plivo",
    "square",
    "twilio",
    "twilio_json_url",
)

#: Most form parameters parsed from one body.
MAX_PARAMS = 1000
#: Most signatures in one list (Plivo's comma-separated header).
MAX_SIGNATURES = 8
#: Longest single Base64 signature looked at (SHA-256 is 44 characters).
_MAX_SIGNATURE = 128
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FORM = "application/x-www-form-urlencoded"


class _BadRequest(ValueError):
    """Internal: the request cannot be canonicalised (answered with BAD_REQUEST)."""


def _signature(headers: Headers, name: str) -> tuple[str | None, Reason | None]:
    """One Base64 signature header: ``(value, None)`` or ``(None, reason)``."""
    value, ok = single_header(headers, name)
    if value is None:
        return None, Reason.MISSING_SIGNATURE
    if not ok or len(value) > _MAX_SIGNATURE or not _B64.fullmatch(value):
        return None, Reason.MALFORMED_SIGNATURE
    return value, None


def _url_bytes(url: str) -> bytes:
    if not url:
        raise _BadRequest("no URL")
    try:
        return url.encode("ascii")
    except UnicodeEncodeError:
        raise _BadRequest("non-ASCII URL") from None


def _is_form(headers: Headers) -> bool:
    values = headers.getlist("content-type")
    if len(values) != 1:
        return False
    return values[0].split(";", 1)[0].strip().lower() == _FORM


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    """Form parameters in body order; ``_BadRequest`` when not UTF-8 or too many."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMS,
        )
    except ValueError:  # UnicodeDecodeError is a ValueError
        raise _BadRequest("unparseable form") from None


def _b64mac(key: Secret, digest: str, message: bytes) -> bytes:
    mac = key.hmac(digest)
    mac.update(message)
    return base64.b64encode(mac.digest())


def _check_algorithm(name: str, algorithm: str, allowed: tuple[str, ...]) -> None:
    if algorithm not in allowed:
        raise ConfigurationError(
            f"{name}: algorithm must be one of {', '.join(map(repr, allowed))}, not {algorithm!r}",
            code="webhook_guard.E004",
        )


class _URLSigned(Scheme):
    """Shared machinery: one Base64 HMAC header over ``message(request)``."""

    needs_url = True
    header = ""
    algorithm = "sha256"

    def message(self, request: WebhookRequest) -> bytes:
        """The signed bytes; raises ``_BadRequest`` when they cannot be built."""
        raise NotImplementedError

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        signature, problem = _signature(request.headers, self.header)
        if signature is None:
            return Check(problem or Reason.MALFORMED_SIGNATURE)
        try:
            message = self.message(request)
        except _BadRequest:
            return Check(Reason.BAD_REQUEST)
        except _Mismatch:
            return Check(Reason.BAD_SIGNATURE)
        identity = None  # the MAC under the first key, whichever key matches
        for key in keys:
            expected = _b64mac(key, self.algorithm, message)
            if identity is None:
                identity = expected
            if compare(expected, signature):
                return Check(Reason.VERIFIED, key_id=key.key_id, replay_material=identity)
        return Check(Reason.BAD_SIGNATURE)

    def _sign_message(self, message: bytes, secret: str | bytes) -> str:
        return _b64mac(Secret(secret, key_id="sign"), self.algorithm, message).decode("ascii")


class _Mismatch(ValueError):
    """Internal: signed content (Twilio's bodySHA256) does not match the body."""


def _request(
    body: bytes, url: str, *, method: str = "POST", content_type: str | None = None
) -> WebhookRequest:
    if not url:
        raise ValueError("sign() needs url=: the public URL the provider calls")
    headers = Headers([("Content-Type", content_type)] if content_type else [])
    query = urlsplit(url).query
    return WebhookRequest(method=method, path="/", headers=headers, body=body, query=query, url=url)


# --------------------------------------------------------------------------- Twilio


def twilio_json_url(url: str, body: bytes) -> str:
    """``url`` with Twilio's ``bodySHA256=<hex SHA-256 of body>`` query parameter added."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{url}{'&' if urlsplit(url).query else '?'}bodySHA256={digest}"


class Twilio(_URLSigned):
    """``X-Twilio-Signature = Base64(HMAC-SHA1(auth token, url + sorted name+value))``.

    Three shapes, chosen from the request, never from a header the sender controls alone:

    - the URL carries ``bodySHA256`` (JSON bodies): the signature covers the URL only and
      the query value must equal the hex SHA-256 of the raw body (exactly one such value);
    - a form body (``application/x-www-form-urlencoded``): URL + every parameter sorted
      by name then value, ``name + value`` without separators;
    - no body (GET, status callbacks without parameters): the URL alone.
    """

    name = "twilio"
    header = "X-Twilio-Signature"

    def __init__(self, *, secret: SecretSpec, algorithm: str = "sha1") -> None:
        super().__init__(secret=secret)
        self.algorithm = algorithm
        self.validate()

    def validate(self) -> None:
        _check_algorithm(self.name, self.algorithm, ("sha1", "sha256"))

    def message(self, request: WebhookRequest) -> bytes:
        url = _url_bytes(request.url)
        hashes = [
            v
            for k, v in parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
            if k == "bodySHA256"
        ]
        if hashes:
            if len(hashes) != 1 or not _HEX64.fullmatch(hashes[0]):
                raise _BadRequest("bodySHA256")
            if not compare(hashlib.sha256(request.body).hexdigest().encode("ascii"), hashes[0]):
                raise _Mismatch
            return url
        if request.body and _is_form(request.headers):
            pairs = _parse_form(request.body)
            if len(set(pairs)) != len(pairs):
                raise _BadRequest("repeated identical parameter")
            return url + "".join(k + v for k, v in sorted(pairs)).encode("utf-8")
        if request.body:
            raise _BadRequest("unsigned body")
        return url

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str = "",
        content_type: str | None = None,
    ) -> dict[str, str]:
        """The ``X-Twilio-Signature`` header for ``body`` sent to ``url``.

        A URL with ``bodySHA256`` (see ``twilio_json_url``) signs the URL only; otherwise a
        non-empty body is a form. ``timestamp`` is ignored (Twilio signs none).
        """
        if content_type is None:
            content_type = _FORM if body and "bodySHA256=" not in url else "application/json"
        message = self.message(_request(body, url, content_type=content_type))
        return {self.header: self._sign_message(message, secret)}


def twilio(*, secret: SecretSpec, algorithm: str = "sha1") -> Twilio:
    """Twilio webhooks (Voice, Messaging, Studio, status callbacks...).

    :param secret: the account Auth Token (or a SharedKey secret) reference(s).
    :param algorithm: ``"sha1"`` (the Auth Token signature, default) or ``"sha256"``
        (SharedKey signing with ``algorithm=HMAC_SHA256``). One algorithm per route; the
        ``X-Twilio-Webhooks-Signature-Settings`` header cannot change it.
    """
    return Twilio(secret=secret, algorithm=algorithm)


# --------------------------------------------------------------------------- Square


class Square(_URLSigned):
    """``x-square-hmacsha256-signature = Base64(HMAC-SHA256(key, notification URL + body))``."""

    #: Square retries a failed notification for up to 72 hours (the same body: no
    #: timestamp is signed, so the body's MAC identifies the retries).
    retry_horizon = 72 * 3600.0

    name = "square"

    def __init__(self, *, secret: SecretSpec, algorithm: str = "sha256") -> None:
        super().__init__(secret=secret)
        self.algorithm = algorithm
        self.validate()

    def validate(self) -> None:
        _check_algorithm(self.name, self.algorithm, ("sha256", "sha1"))
        self.header = (
            "x-square-hmacsha256-signature" if self.algorithm == "sha256" else "x-square-signature"
        )

    def message(self, request: WebhookRequest) -> bytes:
        return _url_bytes(request.url) + request.body

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None, url: str = ""
    ) -> dict[str, str]:
        """The signature header for ``body`` delivered to ``url`` (the notification URL)."""
        return {self.header: self._sign_message(self.message(_request(body, url)), secret)}


def square(*, secret: SecretSpec, algorithm: str = "sha256") -> Square:
    """Square webhooks. Set the route's ``public_url`` to the subscription's notification URL.

    :param secret: the subscription's signature key reference(s).
    :param algorithm: ``"sha256"`` (``x-square-hmacsha256-signature``, default) or the
        legacy ``"sha1"`` (``x-square-signature``) *instead*, never as a fallback.
    """
    return Square(secret=secret, algorithm=algorithm)


# --------------------------------------------------------------------------- Mandrill


class Mandrill(_URLSigned):
    """``X-Mandrill-Signature = Base64(HMAC-SHA1(webhook key, url + sorted name+value))``."""

    name = "mandrill"
    header = "X-Mandrill-Signature"
    algorithm = "sha1"

    def __init__(self, *, secret: SecretSpec, answer_head: bool = False) -> None:
        super().__init__(secret=secret)
        self.answer_head = bool(answer_head)

    def message(self, request: WebhookRequest) -> bytes:
        url = _url_bytes(request.url)
        if not request.body:
            return url
        if not _is_form(request.headers):
            raise _BadRequest("unsigned body")
        pairs = _parse_form(request.body)
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            raise _BadRequest("repeated parameter")
        return url + "".join(k + v for k, v in sorted(pairs)).encode("utf-8")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if (
            self.answer_head
            and request.method == "HEAD"
            and not request.body
            and not request.headers.getlist(self.header)
        ):
            # Mandrill's unsigned "does this URL exist" probe when a webhook is added.
            return Check(Reason.VERIFIED, details={"handshake": "head"}, response=(200, (), b""))
        return super().check(request, keys, now)

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None, url: str = ""
    ) -> dict[str, str]:
        """The ``X-Mandrill-Signature`` header for a form ``body`` posted to ``url``."""
        message = self.message(_request(body, url, content_type=_FORM))
        return {self.header: self._sign_message(message, secret)}


def mandrill(*, secret: SecretSpec, answer_head: bool = False) -> Mandrill:
    """Mailchimp Transactional (Mandrill) webhooks.

    :param secret: the webhook's key reference(s).
    :param answer_head: answer Mandrill's unsigned ``HEAD`` probe (sent when a webhook is
        added) with an empty 200 from the guard itself, without calling the app. Off by
        default: the verdict of that probe says ``verified`` although nothing is signed.
    """
    return Mandrill(secret=secret, answer_head=answer_head)


# --------------------------------------------------------------------------- Plivo


class Plivo(_URLSigned):
    """Plivo V3: ``X-Plivo-Signature-V3`` (comma-separated list) and ``-V3-Nonce``.

    ``signature = Base64(HMAC-SHA256(auth token, base + "." + nonce))`` where, as in
    ``plivo.utils.signature_v3``: ``base`` is ``scheme://host/path`` plus, for GET,
    ``"?" + sorted(k=v)`` of the decoded query; for POST, ``"?"`` then the sorted query
    (and ``"."`` if both exist) then the sorted form parameters as ``name + value``.
    """

    name = "plivo"
    header = "X-Plivo-Signature-V3"
    nonce_header = "X-Plivo-Signature-V3-Nonce"
    _MAX_NONCE = 128

    def message(self, request: WebhookRequest) -> bytes:
        raise NotImplementedError  # check() is overridden: the header is a list

    @staticmethod
    def _grouped(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
        groups: dict[str, list[str]] = {}
        for k, v in pairs:
            groups.setdefault(k, []).append(v)
        return [(k, sorted(groups[k])) for k in sorted(groups)]

    def base(self, request: WebhookRequest) -> bytes:
        _url_bytes(request.url)
        parsed = urlparse(request.url)
        base = urlunparse((parsed.scheme, parsed.netloc, parsed.path, "", "", ""))
        try:
            query = parse_qsl(
                parsed.query, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS
            )
        except ValueError:
            raise _BadRequest("query") from None
        sorted_query = "&".join(f"{k}={v}" for k, vs in self._grouped(query) for v in vs)
        if request.method == "GET":
            if request.body:
                raise _BadRequest("unsigned body")
            return (base + ("?" + sorted_query if sorted_query else "")).encode("utf-8")
        if request.method != "POST":
            raise _BadRequest("method")
        params: list[tuple[str, str]] = []
        if request.body:
            if not _is_form(request.headers):
                raise _BadRequest("unsigned body")
            params = _parse_form(request.body)
        if sorted_query or params:
            base += "?" + sorted_query
        if sorted_query and params:
            base += "."
        base += "".join(k + v for k, vs in self._grouped(params) for v in vs)
        return base.encode("utf-8")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        raw, ok = single_header(request.headers, self.header)
        if raw is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok:
            return Check(Reason.MALFORMED_SIGNATURE)
        candidates = raw.split(",")
        if len(candidates) > MAX_SIGNATURES or not all(
            len(c) <= _MAX_SIGNATURE and _B64.fullmatch(c) for c in candidates
        ):
            return Check(Reason.MALFORMED_SIGNATURE)
        nonce, nonce_ok = single_header(request.headers, self.nonce_header)
        if not nonce or not nonce_ok or len(nonce) > self._MAX_NONCE or not nonce.isascii():
            return Check(Reason.MALFORMED_SIGNATURE if nonce else Reason.MISSING_SIGNATURE)
        try:
            message = self.base(request) + b"." + nonce.encode("ascii")
        except _BadRequest:
            return Check(Reason.BAD_REQUEST)
        identity = None  # the MAC under the first key: the same for any subset of signatures
        for key in keys:
            expected = _b64mac(key, "sha256", message)
            if identity is None:
                identity = expected
            # Every candidate is compared (no early exit on the attacker's list order).
            hits = [compare(expected, c) for c in candidates]
            if any(hits):
                return Check(
                    Reason.VERIFIED, key_id=key.key_id, replay_material=identity, message_id=nonce
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str = "",
        nonce: str = "12345678901234567890",
        method: str = "POST",
    ) -> dict[str, str]:
        """The V3 headers for a form ``body`` sent to ``url`` with ``method``."""
        request = _request(body, url, method=method, content_type=_FORM)
        message = self.base(request) + b"." + nonce.encode("ascii")
        return {self.header: self._sign_message(message, secret), self.nonce_header: nonce}


def plivo(*, secret: SecretSpec) -> Plivo:
    """Plivo callbacks, signature V3 (form POSTs and GETs).

    :param secret: the (sub)account Auth Token reference(s).
    """
    return Plivo(secret=secret)


# --------------------------------------------------------------------------- HubSpot


#: HubSpot's list of escapes decoded in the URI before signing; every other escape
#: (``%20``, ``%26``, ``%25``...) stays as sent. One pass, so ``%253A`` stays ``%253A``.
_HUBSPOT_DECODE = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


def _millis(raw: str) -> float | None:
    millis = parse_timestamp(raw)
    return None if millis is None else millis / 1000


def hubspot_uri(url: str) -> str:
    """The URI HubSpot signs: ``url`` with only its listed percent-escapes decoded."""
    return _HUBSPOT_DECODE.sub(lambda m: chr(int(m.group(1), 16)), url)


class HubSpot(WindowedScheme):
    """HubSpot v3: ``X-HubSpot-Signature-v3 = Base64(HMAC-SHA256(client secret,
    method + uri + body + timestamp))`` with ``X-HubSpot-Request-Timestamp`` in ms.

    ``uri`` is the public URL with HubSpot's listed escapes decoded (``hubspot_uri``), as
    HubSpot's docs specify; the Python SDK decodes nothing, so both agree only on URLs
    without those escapes. Timestamps are refused in both directions (the SDK only
    refuses old ones)."""

    name = "hubspot"
    needs_url = True
    header = "X-HubSpot-Signature-v3"
    timestamp_header = "X-HubSpot-Request-Timestamp"

    @staticmethod
    def _message(method: str, url: str, body: bytes, raw_ts: str) -> bytes:
        uri = _url_bytes(hubspot_uri(url))
        return method.encode("ascii") + uri + body + raw_ts.encode("ascii")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        signature, problem = _signature(request.headers, self.header)
        if signature is None:
            return Check(problem or Reason.MALFORMED_SIGNATURE)
        stamp = self.fresh(request.headers, self.timestamp_header, _millis, now)
        if isinstance(stamp, Check):
            return stamp
        raw_ts, _ = stamp
        millis = int(raw_ts)
        try:
            message = self._message(request.method, request.url, request.body, raw_ts)
        except (_BadRequest, UnicodeEncodeError):
            return Check(Reason.BAD_REQUEST)
        identity = None  # the MAC under the first key, whichever key matches
        for key in keys:
            expected = _b64mac(key, "sha256", message)
            if identity is None:
                identity = expected
            if compare(expected, signature):
                return Check(
                    Reason.VERIFIED, key_id=key.key_id, replay_material=identity, timestamp=millis
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str = "",
        method: str = "POST",
    ) -> dict[str, str]:
        """The v3 headers for ``body`` sent with ``method`` to ``url`` (``timestamp`` in s)."""
        if timestamp is None:
            raise ValueError("hubspot: sign() needs a timestamp")
        if not url:
            raise ValueError("hubspot: sign() needs url=: the public URL HubSpot calls")
        raw_ts = str(int(timestamp * 1000))
        mac = _b64mac(
            Secret(secret, key_id="sign"), "sha256", self._message(method, url, body, raw_ts)
        )
        return {self.header: mac.decode("ascii"), self.timestamp_header: raw_ts}


def hubspot(
    *, secret: SecretSpec, window: float = 300.0, future_window: float | None = None
) -> HubSpot:
    """HubSpot v3 signatures (webhooks, CRM cards, workflow actions).

    :param secret: the app's client secret reference(s).
    :param window: seconds a timestamp may be old (HubSpot: 5 minutes).
    :param future_window: seconds it may be ahead (default: ``window``; HubSpot's SDK does
        not check this direction at all).
    """
    return HubSpot(secret=secret, window=window, future_window=future_window)


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "twilio": twilio,
    "square": square,
    "mandrill": mandrill,
    "plivo": plivo,
    "hubspot": hubspot,
}
