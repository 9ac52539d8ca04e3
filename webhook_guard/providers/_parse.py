"""Strict, total parsers the families share: Base64, JSON objects, query parameters, forms.

Every function here returns None (or raises only its documented ``ValueError``
subclass) on anything malformed; none decodes the attacker's signature leniently.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import MAX_HEADER_LENGTH, single_header
from webhook_guard.core.signing import FORM

__all__ = (
    "B64_OK",
    "CHALLENGE_OK",
    "ECHO_TYPE",
    "FORM",
    "HEX",
    "JSON_TYPE",
    "NO_STORE",
    "MAX_PARAMS",
    "TEXT_TYPE",
    "Duplicate",
    "b64_canonical",
    "b64_strict",
    "has_headers",
    "is_form",
    "is_hex",
    "json_object",
    "no_duplicates",
    "one_query",
    "parse_form",
)

#: Most form parameters parsed from one body.
MAX_PARAMS = 1000
HEX = "0123456789abcdef"
JSON_TYPE: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
TEXT_TYPE: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain; charset=utf-8"),)
#: An answer no cache may keep (it carries a one-time value).
NO_STORE: tuple[tuple[str, str], ...] = (("Cache-Control", "no-store"),)
#: An unsigned value echoed back (Meta, Dropbox): never sniffed, never cached.
ECHO_TYPE: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("X-Content-Type-Options", "nosniff"),
    *NO_STORE,
)

#: A handshake challenge that may be echoed (no markup, no CR/LF), as a predicate.
CHALLENGE_OK: Callable[[str], object] = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}").fullmatch
#: Standard padded Base64 text, as a predicate.
B64_OK: Callable[[str], object] = re.compile(r"[A-Za-z0-9+/]+={0,2}").fullmatch


def is_hex(text: str, length: int) -> bool:
    """Whether ``text`` is exactly ``length`` lowercase hex digits (decoded and re-encoded:
    a third of the cost of a regex, and ``str.strip`` with a character set)."""
    if len(text) != length:
        return False
    try:
        return binascii.unhexlify(text).hex() == text
    except (ValueError, binascii.Error):  # odd length, non-hex or non-ASCII characters
        return False


def b64_strict(text: str | bytes, limit: int = 4 * 1024 * 1024) -> bytes | None:
    """Standard Base64 (padding required, no other characters), or None."""
    if not text or len(text) > limit:
        return None
    if isinstance(text, str):
        if not text.isascii():
            return None
        text = text.encode("ascii")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def b64_canonical(raw: str, *, size: int | None = None, limit: int = 512) -> bytes | None:
    """Strict standard Base64: decoded bytes, or None unless ``raw`` is the canonical
    spelling (so one value has one accepted spelling)."""
    if not raw or len(raw) > limit or not B64_OK(raw):
        return None
    data = b64_strict(raw, limit)
    if data is None or base64.b64encode(data).decode("ascii") != raw:
        return None  # the unused low bits of the last character were not zero
    if size is not None and len(data) != size:
        return None
    return data


class Duplicate(ValueError):
    """A JSON object or form repeats a key (ambiguous: which one was meant?)."""


def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing repeated keys."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Duplicate(key)
        out[key] = value
    return out


def json_object(
    body: bytes | str, *, limit: int | None = 16 * 1024, unique: bool = False
) -> dict[str, Any] | None:
    """A JSON object (at most ``limit`` bytes; with ``unique``, no repeated key), or None."""
    if limit is not None and len(body) > limit:
        return None
    try:
        data = json.loads(body, object_pairs_hook=no_duplicates if unique else None)
    except (ValueError, RecursionError):  # Duplicate and UnicodeDecodeError are ValueErrors
        return None
    return data if isinstance(data, dict) else None


def one_query(request: WebhookRequest, *names: str) -> tuple[str | None, bool]:
    """The one value of a query parameter sent under any of ``names`` (aliases):
    ``(value, ok)`` as ``single_header``."""
    if not request.query:
        return None, True
    try:  # one parse for every alias
        values = [v for k, v in parse_qsl(request.query, keep_blank_values=True) if k in names]
    except Exception:  # parse_qsl is lenient, but a parser must stay total
        return None, False
    if not values:
        return None, True
    return values[0], len(values) == 1 and len(values[0]) <= MAX_HEADER_LENGTH


def has_headers(headers: Headers, pairs: tuple[tuple[str, str], ...]) -> bool:
    """Whether each ``(name, value)`` of ``pairs`` was sent, exactly once and exactly so
    (a version or algorithm header a scheme requires)."""
    for name, wanted in pairs:
        value, ok = single_header(headers, name)
        if value != wanted or not ok:
            return False
    return True


def is_form(headers: Headers) -> bool:
    """Whether the one ``Content-Type`` is ``application/x-www-form-urlencoded``."""
    values = headers.getlist("content-type")
    if len(values) != 1:
        return False
    return values[0].split(";", 1)[0].strip().lower() == FORM


def parse_form(body: bytes | str, *, strict: bool = False) -> list[tuple[str, str]] | None:
    """Form parameters in order (UTF-8, ``+`` is a space), or None when the body is not
    UTF-8, has more than ``MAX_PARAMS`` fields or (``strict``) a malformed pair."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=strict,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMS,
        )
    except ValueError:  # UnicodeDecodeError is a ValueError
        return None
