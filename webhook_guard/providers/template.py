"""Timestamped template HMAC: a signature header over a signed-string template.

Slack, Zoom, Frame.io, Twitch, Zendesk, Box, Linear, the DingTalk robot and the generic
``hmac`` are rows of this family. The signed string is a ``Template`` over request
fields: ``{body}``, ``{timestamp}``, ``{id}``, ``{method}``, ``{path}``, ``{query}``,
``{header:Name}`` and ``{secret}`` (DingTalk signs its own secret, not the body).

Parameters (``Provider.spec``; the generic ``hmac`` takes them as options):

- ``header``, or ``headers`` (several, any present one may match: Box's primary and
  secondary signature), ``algorithm``, ``encoding``, ``prefix``: as ``BodyHMAC``;
- ``template``: the signed string (default ``{body}``);
- ``timestamp_header`` and ``timestamp_unit`` (``s``, ``ms``, ``rfc3339``), checked
  against the window both ways; or ``timestamp_field``: a key of the signed JSON body
  holding milliseconds (Linear), checked after verification;
- ``id_header``: the header of ``{id}``; ``identity="id"`` makes that signed id the
  event's identity (Twitch), ``identity="timestamp"`` prefixes the MAC's identity with
  the signed timestamp (DingTalk: the signed pair);
- ``required``: header values that must be present exactly (Box's version and algorithm);
- ``quoted``: also accept the signature URL-encoded (DingTalk's outgoing robot URLs);
- ``max_signature``: the longest signature looked at, instead of the exact length;
- ``fraction``: RFC 3339 timestamps are sent with microseconds (Twitch).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, unquote

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import UNITS, format_rfc3339, format_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._parse import has_headers
from webhook_guard.providers._template import Template
from webhook_guard.providers.body import check_options, encoder, signature_length

__all__ = ("HMACScheme", "Template", "TemplateHMAC")

_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD = Check(Reason.BAD_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
_VERIFIED = Reason.VERIFIED
_SIGN_CHARS = re.compile(r"[A-Za-z0-9+/=%]+")
#: Where the route's key goes in a message that signs the secret itself (DingTalk).
_SECRET = object()

class TemplateHMAC(Family):
    """A MAC over a signed-string template (see the module docstring)."""

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        headers = spec.get("headers") or (spec.get("header", ""),)
        self.header: str = headers[0]
        self.signature_headers: tuple[str, ...] = tuple(headers)
        self.algorithm: str = spec.get("algorithm", "sha256")
        self.encoding: str = spec.get("encoding", "hex")
        self.prefix: str = spec.get("prefix", "")
        self.template_source: str = spec.get("template", "{body}")
        self.timestamp_header: str | None = spec.get("timestamp_header")
        self.timestamp_field: str | None = spec.get("timestamp_field")
        self.timestamp_unit = spec.get("timestamp_unit", "s") if (
            self.timestamp_header or self.timestamp_field) else None  # fmt: skip
        self.id_header: str | None = spec.get("id_header")
        self._identity = spec.get("identity", "mac")
        self._required: tuple[tuple[str, str], ...] = tuple(spec.get("required", ()))
        self._quoted = bool(spec.get("quoted", False))
        self._max_signature: int | None = spec.get("max_signature")
        for name in self.signature_headers:
            check_options(self.name, self.algorithm, self.encoding, name)
        problem = self._problem()
        if problem is not None:
            raise ConfigurationError(f"{self.name}: {problem}", code="webhook_guard.E004")
        if self.timestamp_header is None and self.timestamp_field is None:
            if self.window_options != (None, None):  # still a configuration error if invalid
                past, future = self.window_options
                self.set_window(300.0 if past is None else past, future)
            self.set_window(None, None)  # a window without a signed timestamp means nothing
        elif self._window is None:
            self.set_window(300.0, self.window_options[1])
        self.template = Template(self.template_source)
        self.body_signed = self.template.uses("body")  # DingTalk signs its secret, not the body
        self._split = self.template.split()
        self._parse_ts = UNITS[self.timestamp_unit or "s"]
        self._encode = encoder(self.encoding)
        self._length = signature_length(self.algorithm, self.encoding, self.prefix)
        self._signs_secret = self.template.uses("secret")
        self._header_fields = tuple(v.lower() for k, v in self.template.parts if k == "header")
        algorithm: str = self.algorithm
        encode: Callable[[bytes], bytes] = self._encode
        prefix: bytes = self.prefix.encode()

        def expected(key: Secret, message: Sequence[Any]) -> bytes:
            return prefix + encode(key.mac(algorithm, *message))

        def expected_with_secret(key: Secret, message: Sequence[Any]) -> bytes:
            message = [key.value if p is _SECRET else p for p in message]
            return prefix + encode(key.mac(algorithm, *message))

        self._expected: Callable[[Secret, Any], bytes] = (
            expected_with_secret if self._signs_secret else expected
        )
        fast = self._fast_shape()
        if fast is not None:  # Slack, Zoom, Frame.io: one header, "<a>{timestamp}<b>{body}"
            self._pre, self._post = fast
            self._checker = self._check_fast

    def _fast_shape(self) -> tuple[str, str] | None:
        """``(before, after)`` the timestamp when the template is ASCII text, the timestamp,
        ASCII text, then the body, with one signature header and nothing else to check."""
        split = self._split
        if (
            split is None
            or split[1]
            or len(self.signature_headers) != 1
            or self.timestamp_header is None
            or self.timestamp_unit == "rfc3339"
            or self.id_header
            or self._required
            or self._max_signature is not None
            or self._identity != "mac"
            or self.timestamp_field is not None
            or split[0].count("{0}") != 1
            or "{1}" in split[0]
            or not split[0].isascii()
        ):
            return None
        pre, post = split[0].split("{0}")
        if "{" in pre + post or "}" in pre + post:
            return None  # escaped braces: leave them to str.format
        return pre, post

    def _check_fast(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        """``check`` for the common shape (see ``_fast_shape``): the same rules, fewer steps."""
        headers = request.headers
        values = headers.getlist(self.header)
        if len(values) != 1:
            return _MALFORMED if values else _MISSING
        signature = values[0]
        if len(signature) != self._length or not signature.startswith(self.prefix):
            return _MALFORMED
        if not signature.isascii():
            return _BAD
        stamp = self._window.read(headers, self.timestamp_header, self._parse_ts, now)  # type: ignore[union-attr, arg-type]
        if stamp.__class__ is not tuple:
            return Check(stamp)  # type: ignore[arg-type]
        raw_ts = stamp[0]
        head = (self._pre + raw_ts + self._post).encode("ascii")
        return try_keys(
            keys, self._expected, (head, request.body), signature.encode("ascii"), int(raw_ts)
        )

    def _problem(self) -> str | None:
        source: Any = self.template_source
        if not isinstance(source, str):
            return "the template must be text"
        try:
            template = Template(source)
        except ValueError as exc:
            return str(exc)
        if self.timestamp_unit not in (None, "s", "ms", "rfc3339"):
            return f"timestamp_unit must be 's', 'ms' or 'rfc3339', not {self.timestamp_unit!r}"
        if template.uses("timestamp") and not self.timestamp_header:
            return "template uses {timestamp} but no timestamp_header is set"
        if template.uses("id") and not self.id_header:
            return "template uses {id} but no id_header is set"
        if self.timestamp_header and not template.uses("timestamp"):
            return "timestamp_header is set but the template does not sign {timestamp}"
        if any(not re.fullmatch(r"[A-Za-z0-9-]+", v) for k, v in template.parts if k == "header"):
            return "invalid header name in the template"
        return None

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if len(self.signature_headers) > 1:
            described["signature_headers"] = list(self.signature_headers)
        return described

    def signature_present(self, request: WebhookRequest) -> bool:
        return any(request.headers.getlist(name) for name in self.signature_headers)

    # -- verification ----------------------------------------------------------------------

    def _signatures(self, request: WebhookRequest) -> list[bytes] | Check:
        found: list[bytes] = []
        for name in self.signature_headers:
            values = request.headers.getlist(name)
            if not values:
                continue
            value = values[0]
            if len(values) > 1 or not value.startswith(self.prefix):
                return _MALFORMED
            if self._max_signature is not None:
                if len(value) > self._max_signature or not _SIGN_CHARS.fullmatch(value):
                    return _MALFORMED
                if self._quoted and "%" in value:  # URL-encoded: its canonical spelling only
                    plain = unquote(value)
                    value = plain if quote(plain, safe="") == value else ""
            elif len(value) != self._length:
                return _MALFORMED
            if not value.isascii():
                return _BAD
            found.append(value.encode("ascii"))
        return found if found else _MISSING

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        signatures = self._signatures(request)
        if isinstance(signatures, Check):
            return signatures
        headers = request.headers
        if not has_headers(headers, self._required):
            return _MALFORMED
        raw_ts = mid = ""
        timestamp = None
        if self.timestamp_header is not None:
            stamp = self._window.read(headers, self.timestamp_header, self._parse_ts, now)  # type: ignore[union-attr]
            if isinstance(stamp, Reason):
                return Check(stamp)
            raw_ts, seconds = stamp
            timestamp = int(raw_ts) if self.timestamp_unit != "rfc3339" else int(seconds)
        if self.id_header is not None:
            values = headers.getlist(self.id_header)
            if not values:
                return _MISSING
            mid = values[0]
            if len(values) > 1 or not mid or len(mid) > 256 or not mid.isascii():
                return _BAD_REQUEST
        message = self._message(request, raw_ts, mid)
        if isinstance(message, Check):
            return message
        received = signatures[0] if len(signatures) == 1 else signatures
        material = mid.encode("ascii") if self._identity == "id" else None
        result = try_keys(
            keys, self._expected, message, received, timestamp, mid or None, material
        )
        if result[0] is not _VERIFIED:
            return result
        if self._identity == "timestamp":
            return result._replace(replay_material=raw_ts.encode() + b"\n" + (result[2] or b""))
        if self.timestamp_field is not None:
            return self._body_timestamp(request, result, now)
        return result

    def _message(self, request: WebhookRequest, raw_ts: str, mid: str) -> Any:
        split = self._split
        if split is not None:
            before, after = split
            head = before.format(raw_ts, mid).encode("utf-8") if before else b""
            if after:
                return (head, request.body, after.format(raw_ts, mid).encode("utf-8"))
            return (head, request.body) if head else (request.body,)
        extra: dict[str, str] = {}
        for name in self._header_fields:
            value, ok = single_header(request.headers, name)
            if value is None or not ok:
                return _MISSING if value is None else _BAD_REQUEST
            extra[name] = value
        try:  # a non-ASCII method or a value outside latin-1 is a bad request, not a 500
            fields = {
                "body": request.body,
                "timestamp": raw_ts.encode("ascii"),
                "id": mid.encode("ascii"),
                "method": request.method.encode("ascii"),
                "path": request.path.encode("utf-8", "surrogateescape"),
                "query": request.query.encode("latin-1"),
                "secret": _SECRET,
            }
            return self.template.render(fields, extra)
        except UnicodeEncodeError:
            return _BAD_REQUEST

    def _body_timestamp(self, request: WebhookRequest, result: Check, now: float) -> Check:
        """Freshness from a signed body field in milliseconds (Linear's ``webhookTimestamp``)."""
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):
            data = None
        raw = data.get(self.timestamp_field) if isinstance(data, dict) else None
        if raw is None:
            return Check(Reason.MISSING_TIMESTAMP)
        if type(raw) is not int or not 0 <= raw < 10**16:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = self._window.check(raw / 1000, now)  # type: ignore[union-attr]
        if late is not None:
            return Check(late)
        return result._replace(timestamp=raw)

    # -- signing ---------------------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        message_id: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        path: str = "/",
        query: str = "",
        secondary: str | bytes | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The request for ``body``: ``timestamp`` in seconds (default now), ``message_id``
        for ``{id}`` (default: a new one), the request's own ``headers`` that
        ``{header:Name}`` signs (the sender sends them; they are not repeated here),
        ``secondary`` signing the second signature header (Box)."""
        out: dict[str, str] = dict(self._required)
        raw_ts = ""
        if self.timestamp_header is not None:
            seconds = now_or(timestamp)
            raw_ts = (
                format_rfc3339(seconds, fraction=bool(self.spec.get("fraction")))
                if self.timestamp_unit == "rfc3339"
                else format_timestamp(seconds, self.timestamp_unit or "s")
            )
            out[self.timestamp_header] = raw_ts
        if self.id_header is not None:
            message_id = message_id or "msg_" + secrets.token_hex(12)
            out[self.id_header] = message_id
        out.update(self.spec.get("sign_headers", ()))
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        fields = {
            "body": body,
            "timestamp": raw_ts.encode("ascii"),
            "id": (message_id or "").encode("ascii"),
            "method": method.encode("ascii"),
            "path": path.encode("utf-8"),
            "query": query.encode("latin-1"),
            "secret": _SECRET,
        }
        message = self.template.render(fields, extra)
        for name, key in zip(self.signature_headers, (secret, secondary), strict=False):
            if key is not None:
                value = self._expected(Secret(key, key_id="sign"), message)
                out[name] = value.decode("ascii")
        return self.signed(out, body, url=url, content_type=content_type, query=query, method=method)


#: The generic configurable HMAC scheme's class (``webhook_guard.providers.hmac``).
HMACScheme = TemplateHMAC
