"""Signature lists: ``<ts_key>=<ts><sep><sig_key>=<hex>...`` in one header over
``ts + joiner + body`` (hex HMAC-SHA256).

Stripe, Calendly, Mux, Persona, Paddle (``;``, ``ts``/``h1``), Buildkite and PagerDuty
(no timestamp) are rows of this family. One strict grammar for all of them:

- every pair is ``key=value`` with a lowercase alphanumeric key (at most 16 characters)
  and a visible-ASCII value without either separator (at most 512 characters);
- the timestamp key appears exactly once (when the row has one); at most
  ``MAX_SIGNATURES`` signatures; other keys (Stripe's ``v0``) are ignored, but at least
  one known signature is required; signatures are 64 lowercase hex digits;
- with ``groups`` (Persona during a rotation) the header holds several such lists
  separated by single spaces, and any of them may verify.

Parameters (``Provider.spec``): ``header``, ``separator`` (``,`` or ``;``), ``ts_key``
(None: no timestamp is signed, so no window), ``sig_key``, ``joiner``, ``groups``.
"""

from __future__ import annotations

from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import MAX_HEADER_LENGTH, Check, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._parse import is_hex

__all__ = ("MAX_SIGNATURES", "SignatureList")

#: Most signatures a list may carry (rotation overlaps need two or three).
MAX_SIGNATURES = 8
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_MALFORMED_TIMESTAMP = Check(Reason.MALFORMED_TIMESTAMP)
_STALE = Check(Reason.STALE_TIMESTAMP)
_FUTURE = Check(Reason.FUTURE_TIMESTAMP)
_BAD = Check(Reason.BAD_SIGNATURE)
_VERIFIED = Reason.VERIFIED


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= 16 and not key.strip(_KEY_CHARS)


def _valid_value(item: str) -> bool:
    return (
        0 < len(item) <= 512
        and item.isascii()
        and item.isprintable()
        and " " not in item
        and "," not in item
        and ";" not in item
    )


def _expected(key: Secret, message: tuple[bytes, bytes]) -> str:
    return key.mac("sha256", *message).hex()


class SignatureList(Family):
    """A list of signatures in one header (see the module docstring)."""

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        self.header: str = spec["header"]
        self.separator: str = spec.get("separator", ",")
        self.ts_key: str | None = spec.get("ts_key", "t")
        self.sig_key: str = spec.get("sig_key", "v1")
        self.joiner: str = spec.get("joiner", ".")
        self._groups = bool(spec.get("groups", False))
        self.timestamp_unit = "s" if self.ts_key is not None else None
        if self.separator not in (",", ";"):
            raise ConfigurationError(
                f"{self.name}: separator must be ',' or ';', not {self.separator!r}",
                code="webhook_guard.E004",
            )
        for key in (self.ts_key, self.sig_key):
            if key is not None and not _valid_key(key):
                raise ConfigurationError(
                    f"{self.name}: invalid signature-list key {key!r}", code="webhook_guard.E004"
                )
        if self.ts_key == self.sig_key or not self.joiner.isascii():
            raise ConfigurationError(
                f"{self.name}: ts_key and sig_key must differ; joiner must be ASCII",
                code="webhook_guard.E004",
            )
        if self.ts_key is None:
            self.set_window(None, None)

    def signature_present(self, request: WebhookRequest) -> bool:
        return bool(request.headers.getlist(self.header))

    def parse(self, value: str) -> tuple[str | None, list[str]] | None:
        """``(timestamp, signatures)``; None when the header is malformed (see the module
        docstring for the grammar). Signatures are not checked for hex here."""
        parsed = self._parse(value)
        return None if parsed is None else parsed[:2]

    def _parse(self, value: str) -> tuple[str | None, list[str], bool] | None:
        """``parse``, and whether every signature is known to be 64 lowercase hex digits."""
        ts_key, sig_key = self.ts_key, self.sig_key
        timestamp: str | None = None
        signatures: list[str] = []
        all_hex = True
        for part in value.split(self.separator):
            key, eq, item = part.partition("=")
            # The usual values (a hex signature, a short run of digits) are visible ASCII
            # without separators by construction: the general rule is checked otherwise.
            if key == sig_key:
                if not is_hex(item, 64):
                    if not _valid_value(item):
                        return None
                    all_hex = False
                signatures.append(item)
                if len(signatures) > MAX_SIGNATURES:
                    return None
            elif key == ts_key:
                usual = item.isascii() and item.isdigit() and len(item) <= 16
                if not usual and not _valid_value(item):
                    return None
                if timestamp is not None:
                    return None  # a second timestamp: which one was signed?
                timestamp = item
            elif not eq or not _valid_key(key) or not _valid_value(item):
                return None
        if ts_key is not None and timestamp is None:
            return None
        return timestamp, signatures, all_hex

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        values = request.headers.getlist(self.header)
        if not values:
            return _MISSING
        value = values[0]
        if len(values) > 1 or len(value) > MAX_HEADER_LENGTH:
            return _MALFORMED
        if " " in value and self._groups:
            return self._check_groups(value, request.body, keys, now)
        return self._check_list(value, request.body, keys, now)

    def _check_list(self, value: str, body: bytes, keys: KeySet, now: float) -> Check:
        parsed = self._parse(value)
        if parsed is None:
            return _MALFORMED
        raw_ts, signatures, all_hex = parsed
        timestamp = None
        head = b""
        if raw_ts is not None:
            timestamp = parse_timestamp(raw_ts)
            if timestamp is None:
                return _MALFORMED_TIMESTAMP
            window = self._window
            if window is not None:
                late = window.check(timestamp, now)
                if late is not None:
                    return _STALE if late is Reason.STALE_TIMESTAMP else _FUTURE
            head = (raw_ts + self.joiner).encode("ascii")
        if not signatures:
            return _BAD  # only unknown versions (Stripe's v0): nothing we trust
        if not all_hex:
            return _MALFORMED  # a signature that is not 64 lowercase hex digits
        return try_keys(keys, _expected, (head, body), signatures, timestamp)

    def _check_groups(self, value: str, body: bytes, keys: KeySet, now: float) -> Check:
        """Persona during a rotation: ``t=..,v1=.. t=..,v1=..``; any group may verify."""
        groups = value.split(" ")
        if len(groups) > MAX_SIGNATURES:
            return _MALFORMED
        first: Check | None = None
        for group in groups:
            result = self._check_list(group, body, keys, now)
            if result[0] is _VERIFIED:
                return result
            first = first or result
        return first or _MALFORMED

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The signature header for ``body`` (``timestamp`` in seconds, default now)."""
        key = Secret(secret, key_id="sign")
        if self.ts_key is None:
            value = f"{self.sig_key}={_expected(key, (b'', body))}"
        else:
            ts = str(int(now_or(timestamp)))
            signature = _expected(key, ((ts + self.joiner).encode("ascii"), body))
            value = f"{self.ts_key}={ts}{self.separator}{self.sig_key}={signature}"
        return self.signed({self.header: value}, body, url=url, content_type=content_type)
