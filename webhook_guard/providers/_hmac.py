"""The declarative HMAC building block most providers reuse.

A scheme is data: the signature header, digest, encoding and prefix, and a template
of the signed string over the body, a timestamp, a message id and other headers.
The expected signature is computed in its canonical encoding and compared in constant
time with the header as received; the attacker's text is never decoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from hmac import compare_digest
from types import MappingProxyType
from typing import Any, Literal

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Scheme,
    SecretSpec,
    check_window,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = ("ALGORITHMS", "ENCODINGS", "HMACScheme", "Template")

_MISSING_SIGNATURE = Check(Reason.MISSING_SIGNATURE)
_VERIFIED = Reason.VERIFIED
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_new_check = tuple.__new__
_MALFORMED_SIGNATURE = Check(Reason.MALFORMED_SIGNATURE)
_BAD_SIGNATURE = Check(Reason.BAD_SIGNATURE)

ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64", "base64url")
Encoding = Literal["hex", "base64", "base64url"]
Unit = Literal["s", "ms"]

_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "hex": binascii.hexlify,
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
}
_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([A-Za-z0-9_-]+))?\}|[{}]")
_FIELDS = ("body", "timestamp", "id", "method", "path", "query", "header")

# A template part: literal bytes, or the name of a request field (and a header name).
Part = tuple[str, str]


class Template:
    """A compiled signed-string template such as ``"v0:{timestamp}:{body}"``.

    Fields: ``{body}``, ``{timestamp}``, ``{id}``, ``{method}``, ``{path}``, ``{query}``
    and ``{header:Name}``; ``{{``/``}}`` are literal braces.
    """

    __slots__ = ("parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        parts: list[Part] = []
        literal: list[str] = []
        pos = 0
        # One left-to-right scan, as str.format does, so "{{{body}}}" is "{" + body + "}".
        for m in _TOKEN.finditer(source):
            literal.append(source[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            if m.group(1) is None:
                raise ValueError(f"unbalanced brace in template {source!r}")
            if m.group(1) not in _FIELDS or (m.group(1) == "header") != bool(m.group(2)):
                raise ValueError(f"unknown template field {token!r} in {source!r}")
            if any(literal):
                parts.append(("literal", "".join(literal)))
            literal = []
            parts.append((m.group(1), m.group(2) or ""))
        literal.append(source[pos:])
        if any(literal):
            parts.append(("literal", "".join(literal)))
        self.parts = tuple(parts)

    def uses(self, kind: str) -> bool:
        return any(k == kind for k, _ in self.parts)

    def render(self, fields: dict[str, bytes], headers: dict[str, str]) -> list[bytes]:
        """The signed message as a list of byte strings (fed to the MAC one by one)."""
        out: list[bytes] = []
        for kind, value in self.parts:
            if kind == "literal":
                out.append(value.encode("utf-8"))
            elif kind == "header":
                out.append(headers[value.lower()].encode("latin-1"))
            else:
                out.append(fields[kind])
        return out


class HMACScheme(Scheme):
    """A configurable HMAC scheme; the base of GitHub, SeaTable and the generic ``hmac``.

    :param header: the signature header.
    :param algorithm: ``sha1``, ``sha256`` or ``sha512``.
    :param encoding: ``hex`` (lowercase), ``base64`` or ``base64url`` (padded).
    :param prefix: literal text before the encoded MAC, e.g. ``"sha256="``.
    :param template: the signed string (default: the raw body).
    :param timestamp_header: header with the signed timestamp; enables the window.
    :param timestamp_unit: ``s`` or ``ms``.
    :param window: seconds a timestamp may lie in the past.
    :param future_window: seconds it may lie in the future (default: ``window``).
    :param id_header: header with the message id (``{id}`` in the template).
    """

    name = "hmac"

    def __init__(
        self,
        *,
        secret: SecretSpec,
        header: str,
        algorithm: str = "sha256",
        encoding: Encoding = "hex",
        prefix: str = "",
        template: str = "{body}",
        timestamp_header: str | None = None,
        timestamp_unit: Unit = "s",
        window: float = 300.0,
        future_window: float | None = None,
        id_header: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(secret=secret)
        if name is not None:
            self.name = name
        self.header = header
        self.algorithm = algorithm
        self.encoding = encoding
        self.prefix = prefix
        self.template_source = template
        self.timestamp_header = timestamp_header
        self.timestamp_unit = timestamp_unit
        self.window = float(window)
        self.future_window = float(window if future_window is None else future_window)
        self.id_header = id_header
        self.validate()
        self.template = Template(template)
        self._encode = _ENCODERS[encoding]
        size = hashlib.new(algorithm).digest_size
        self._sig_length = len(prefix) + len(self._encode(bytes(size)))
        self._body_only = self.template.parts == (("body", ""),)
        self._prefix = prefix.encode("ascii")
        self._plain_mac = type(self)._mac is HMACScheme._mac

    def validate(self) -> None:
        def fail(message: str) -> ConfigurationError:
            return ConfigurationError(f"{self.name}: {message}", code="webhook_guard.E004")

        if not self.header or not _is_token(self.header):
            raise fail(f"invalid signature header name {self.header!r}")
        if self.algorithm not in ALGORITHMS:
            raise fail(f"algorithm must be one of {ALGORITHMS}, not {self.algorithm!r}")
        if self.encoding not in ENCODINGS:
            raise fail(f"encoding must be one of {ENCODINGS}, not {self.encoding!r}")
        if self.timestamp_unit not in ("s", "ms"):
            raise fail(f"timestamp_unit must be 's' or 'ms', not {self.timestamp_unit!r}")
        if not 0 < self.window <= 86400 or not 0 <= self.future_window <= 86400:
            raise fail("window must be in (0, 86400] and future_window in [0, 86400] seconds")
        try:
            template = Template(self.template_source)
        except ValueError as exc:
            raise fail(str(exc)) from None
        if template.uses("timestamp") and not self.timestamp_header:
            raise fail("template uses {timestamp} but no timestamp_header is set")
        if template.uses("id") and not self.id_header:
            raise fail("template uses {id} but no id_header is set")
        if self.timestamp_header and not template.uses("timestamp"):
            raise fail("timestamp_header is set but the template does not sign {timestamp}")

    def replay_ttl(self) -> float | None:
        return self.window + self.future_window if self.timestamp_header else None

    def _mac(self, key: Secret, message: Sequence[bytes]) -> bytes:
        return self._prefix + self._encode(key.mac(self.algorithm, *message))

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        headers = request.headers
        values = headers.getlist(self.header)
        if not values:
            return _MISSING_SIGNATURE
        signature = values[0]
        if len(values) > 1 or len(signature) != self._sig_length or not signature.startswith(self.prefix):
            return _MALFORMED_SIGNATURE
        timestamp = None
        message_id = None
        if self._body_only:
            message: Sequence[bytes] = (request.body,)
        else:
            found = self._message(request, now)
            if isinstance(found, Check):
                return found
            message, timestamp, message_id = found
        if not signature.isascii():  # compare_digest would raise on non-ASCII text
            return _BAD_SIGNATURE
        received = signature.encode("ascii")
        plain = self._plain_mac
        algorithm, prefix, encode = self.algorithm, self._prefix, self._encode
        identity = None  # the MAC under the first key, whichever key matches
        for key in keys:
            if plain:
                expected = prefix + encode(key.mac(algorithm, *message))
            else:
                expected = self._mac(key, message)
            if identity is None:
                identity = expected
            if compare_digest(expected, received):
                return _new_check(  # verified(...), inlined
                    Check, (_VERIFIED, key.key_id, identity, timestamp, message_id, _EMPTY, None)
                )
        return _BAD_SIGNATURE

    def _message(
        self, request: WebhookRequest, now: float
    ) -> tuple[Sequence[bytes], int | None, str | None] | Check:
        """The signed bytes of a templated scheme, its timestamp and message id, or the
        refusal."""
        headers = request.headers
        timestamp = None
        fields = {"body": request.body}
        if self.timestamp_header:
            raw_ts, ok = single_header(headers, self.timestamp_header)
            if raw_ts is None:
                return Check(Reason.MISSING_TIMESTAMP)
            timestamp = parse_timestamp(raw_ts) if ok else None
            if timestamp is None:
                return Check(Reason.MALFORMED_TIMESTAMP)
            seconds = timestamp / 1000 if self.timestamp_unit == "ms" else timestamp
            late = check_window(seconds, now, self.window, self.future_window)
            if late is not None:
                return Check(late)
            fields["timestamp"] = raw_ts.encode("ascii")
        message_id = None
        if self.id_header:
            message_id, ok = single_header(headers, self.id_header)
            if message_id is None or not ok or not message_id.isascii():
                return Check(Reason.MISSING_SIGNATURE if message_id is None else Reason.BAD_REQUEST)
            fields["id"] = message_id.encode("ascii")
        wanted = {v.lower() for k, v in self.template.parts if k == "header"}
        extra: dict[str, str] = {}
        for name in wanted:
            value, ok = single_header(headers, name)
            if value is None or not ok:
                return Check(Reason.MISSING_SIGNATURE if value is None else Reason.BAD_REQUEST)
            extra[name] = value
        try:  # a non-ASCII method or a value outside latin-1 is a bad request, not a 500
            fields["method"] = request.method.encode("ascii")
            fields["path"] = request.path.encode("utf-8", "surrogateescape")
            fields["query"] = request.query.encode("latin-1")
            message = self.template.render(fields, extra)
        except UnicodeEncodeError:
            return Check(Reason.BAD_REQUEST)
        return message, timestamp, message_id

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        message_id: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        path: str = "/",
        query: str = "",
    ) -> dict[str, str]:
        """Headers a genuine sender would add. ``timestamp`` is in seconds."""
        out: dict[str, str] = {}
        fields = {
            "body": body,
            "method": method.encode("ascii"),
            "path": path.encode("utf-8"),
            "query": query.encode("latin-1"),
        }
        if self.timestamp_header:
            if timestamp is None:
                raise ValueError(f"{self.name}: sign() needs a timestamp")
            raw = str(int(timestamp * 1000) if self.timestamp_unit == "ms" else int(timestamp))
            out[self.timestamp_header] = raw
            fields["timestamp"] = raw.encode("ascii")
        if self.id_header:
            if message_id is None:
                raise ValueError(f"{self.name}: sign() needs a message_id")
            out[self.id_header] = message_id
            fields["id"] = message_id.encode("ascii")
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        message = self.template.render(fields, extra)
        signature = self._mac(Secret(secret, key_id="sign"), message)
        out[self.header] = signature.decode("ascii")
        return out


def _is_token(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name))
