"""Timestamped HMAC providers: the timestamp is signed with the body, and checked against a
window both ways (stricter than the Stripe, HubSpot and Box SDKs, which let future timestamps
through).

Shapes:

- a signature list in one header, ``t=<ts>,v1=<hex>[,v1=<hex>...]`` (Stripe, Calendly,
  Mux, Persona, Paddle with ``;`` and ``ts``/``h1``, Buildkite, PagerDuty without a
  timestamp): one strict parser, ``SignatureList.parse``: every pair well formed, the
  timestamp exactly once, at most 8 signatures, unknown keys (Stripe's ``v0``) ignored but
  at least one known signature required, lowercase hex compared canonically;
- separate signature and timestamp headers (Slack, Zoom, Frame.io), built on
  ``HMACScheme``, with the providers' signed handshakes answered after verification;
- RFC 3339 timestamps (Twitch EventSub, Zendesk, Box), parsed strictly by ``parse_rfc3339``;
- Linear: body-only signature, freshness from the signed ``webhookTimestamp`` body field.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac as _hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl

from webhook_guard.core.keys import KeySet, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Response,
    Scheme,
    SecretSpec,
    WindowedScheme,
    check_window,
    delivery,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._hmac import HMACScheme

__all__ = (
    "FACTORIES",
    "MAX_SIGNATURES",
    "RFC3339HMAC",
    "SignatureList",
    "Twitch",
    "box",
    "buildkite",
    "calendly",
    "frameio",
    "linear",
    "mux",
    "paddle",
    "pagerduty",
    "parse_rfc3339",
    "persona",
    "slack",
    "stripe",
    "twitch",
    "zendesk",
    "zoom",
)

#: Most signatures a list may carry (rotation overlaps need two or three).
MAX_SIGNATURES = 8
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[a-z0-9]{1,16}")
#: A pair's value: visible ASCII except either separator (``,`` ``;``).
_VALUE = re.compile(r"[\x21-\x2b\x2d-\x3a\x3c-\x7e]{1,512}")
#: Handshake bodies are small; larger bodies are never parsed for one.
_MAX_HANDSHAKE_BODY = 16 * 1024
HOUR = 3600.0
DAY = 24 * HOUR
_JSON = (("Content-Type", "application/json"),)
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def parse_rfc3339(raw: str) -> float | None:
    """Seconds since the epoch for an RFC 3339 date-time, else None (never raises).

    Strict: ASCII digits only, upper-case ``T``/``Z``, at most 9 fractional digits, an
    explicit offset; no leap second, no lenient ISO 8601 forms (week dates, missing
    seconds, ``+0000``, spaces).
    """
    if len(raw) > 40 or not raw.isascii():
        return None
    m = _RFC3339.fullmatch(raw)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    offset = 0
    if zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if zone[0] == "+" else -1)
    try:
        moment = _dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=_dt.timezone.utc,
        )
    except ValueError:
        return None
    return moment.timestamp() - offset + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def format_rfc3339(seconds: float) -> str:
    """``seconds`` as RFC 3339 UTC with microseconds (``2026-01-02T03:04:05.000000Z``)."""
    moment = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SignatureList(WindowedScheme):
    """``<ts_key>=<ts><sep><sig_key>=<hex>...`` in one header over ``ts + joiner + body``.

    :param header: the signature header.
    :param separator: between pairs (``","`` or ``";"``); no whitespace is allowed around pairs.
    :param ts_key: the timestamp's key (``t``, ``ts``, ``timestamp``); None when the
        provider signs no timestamp (PagerDuty): the body alone is signed, no window.
    :param sig_key: the signature's key (``v1``, ``h1``, ``signature``); may repeat.
    :param joiner: text between the timestamp and the body in the signed message.
    :param window: seconds a timestamp may lie in the past; ``future_window`` ahead.
    """

    name = "signature_list"

    def __init__(
        self,
        *,
        secret: SecretSpec,
        header: str,
        separator: str = ",",
        ts_key: str | None = "t",
        sig_key: str = "v1",
        joiner: str = ".",
        window: float = 300.0,
        future_window: float | None = None,
        name: str | None = None,
    ) -> None:
        if name is not None:
            self.name = name
        self.header = header
        self.separator = separator
        self.ts_key = ts_key
        self.sig_key = sig_key
        self.joiner = joiner
        super().__init__(secret=secret, window=window, future_window=future_window)

    def validate(self) -> None:
        if self.separator not in (",", ";"):
            raise ConfigurationError(
                f"{self.name}: separator must be ',' or ';', not {self.separator!r}",
                code="webhook_guard.E004",
            )
        for key in (self.ts_key, self.sig_key):
            if key is not None and not _KEY.fullmatch(key):
                raise ConfigurationError(
                    f"{self.name}: invalid signature-list key {key!r}", code="webhook_guard.E004"
                )
        if self.ts_key == self.sig_key or not self.joiner.isascii():
            raise ConfigurationError(
                f"{self.name}: ts_key and sig_key must differ; joiner must be ASCII",
                code="webhook_guard.E004",
            )
        super().validate()

    def replay_ttl(self) -> float | None:
        return super().replay_ttl() if self.ts_key else None

    def parse(self, value: str) -> tuple[str | None, list[str]] | None:
        """``(timestamp, signatures)``; None when the header is malformed.

        Every pair is ``key=value`` with a lowercase key and a visible-ASCII value; the
        timestamp key appears exactly once (when the scheme has one); at most
        ``MAX_SIGNATURES`` signatures; other keys are ignored.
        """
        timestamp: str | None = None
        signatures: list[str] = []
        for part in value.split(self.separator):
            key, eq, item = part.partition("=")
            if not eq or not _KEY.fullmatch(key) or not _VALUE.fullmatch(item):
                return None
            if key == self.ts_key:
                if timestamp is not None:
                    return None  # a second timestamp: which one was signed?
                timestamp = item
            elif key == self.sig_key:
                signatures.append(item)
                if len(signatures) > MAX_SIGNATURES:
                    return None
        if self.ts_key is not None and timestamp is None:
            return None
        return timestamp, signatures

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        value, ok = single_header(request.headers, self.header)
        if value is None:
            return Check(Reason.MISSING_SIGNATURE)
        parsed = self.parse(value) if ok else None
        if parsed is None:
            return Check(Reason.MALFORMED_SIGNATURE)
        raw_ts, signatures = parsed
        timestamp: int | None = None
        head = b""
        if raw_ts is not None:
            timestamp = parse_timestamp(raw_ts)
            if timestamp is None:
                return Check(Reason.MALFORMED_TIMESTAMP)
            late = check_window(timestamp, now, self.window, self.future_window)
            if late is not None:
                return Check(late)
            head = raw_ts.encode("ascii") + self.joiner.encode("ascii")
        if not signatures:
            return Check(Reason.BAD_SIGNATURE)  # only unknown versions (Stripe's v0)
        if not all(_HEX64.fullmatch(s) for s in signatures):
            return Check(Reason.MALFORMED_SIGNATURE)
        identity = None  # the MAC under the first key: the same for any subset of signatures
        for key in keys:
            mac = key.hmac("sha256")
            mac.update(head)
            mac.update(request.body)
            expected = mac.hexdigest().encode("ascii")
            if identity is None:
                identity = expected
            found = False
            for candidate in signatures:  # no early exit: every candidate is compared
                found |= compare(expected, candidate)
            if found:
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=identity,
                    timestamp=timestamp,
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if self.ts_key is None:
            signature = _hmac.new(key, body, hashlib.sha256).hexdigest()
            return {self.header: f"{self.sig_key}={signature}"}
        ts = str(int(time.time() if timestamp is None else timestamp))
        message = ts.encode("ascii") + self.joiner.encode("ascii") + body
        signature = _hmac.new(key, message, hashlib.sha256).hexdigest()
        return {self.header: f"{self.ts_key}={ts}{self.separator}{self.sig_key}={signature}"}


class Persona(SignatureList):
    """Persona: during a rotation, several ``t=..,v1=..`` groups separated by single spaces."""

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        value, ok = single_header(request.headers, self.header)
        if value is None or not ok:
            return super().check(request, keys, now)
        groups = value.split(" ")
        if len(groups) > MAX_SIGNATURES:
            return Check(Reason.MALFORMED_SIGNATURE)
        first: Check | None = None
        for group in groups:
            result = super().check(_with_header(request, self.header, group), keys, now)
            if result.reason is Reason.VERIFIED:
                return result
            first = first or result
        assert first is not None
        return first


def _with_header(request: WebhookRequest, name: str, value: str) -> WebhookRequest:
    from webhook_guard.core.request import Headers

    pairs = [(k, v) for k, v in request.headers.items_raw() if k.lower() != name.lower()]
    return request._replace(headers=Headers([*pairs, (name, value)]))


# -- separate signature and timestamp headers ---------------------------------------------------


def _json_object(body: bytes, limit: int | None = _MAX_HANDSHAKE_BODY) -> dict[str, Any] | None:
    if limit is not None and len(body) > limit:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _answered(result: Check, response: Response, handshake: str) -> Check:
    """``result`` (verified) with a handshake answer the guard sends itself."""
    return Check(
        Reason.VERIFIED,
        key_id=result.key_id,
        timestamp=result.timestamp,
        message_id=result.message_id,
        details={"handshake": handshake},
        response=response,
    )


class Slack(HMACScheme):
    """Slack: ``v0=<hex>`` over ``v0:ts:body``; url_verification and ssl_check answered after
    verification (Slack signs both)."""

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        result = super().check(request, keys, now)
        if result.reason is not Reason.VERIFIED or len(request.body) > _MAX_HANDSHAKE_BODY:
            return result
        if request.body[:1] == b"{":
            data = _json_object(request.body)
            if data is not None and data.get("type") == "url_verification":
                challenge = data.get("challenge")
                if not isinstance(challenge, str) or not challenge or len(challenge) > 256:
                    return Check(Reason.BAD_REQUEST)
                answer = json.dumps({"challenge": challenge}).encode()
                return _answered(result, (200, _JSON, answer), "url_verification")
            return result
        try:
            form = parse_qsl(request.body.decode("ascii"), max_num_fields=64)
        except (UnicodeDecodeError, ValueError):
            return result
        if ("ssl_check", "1") in form:
            return _answered(result, (200, (), b""), "ssl_check")
        return result


class Zoom(HMACScheme):
    """Zoom: ``v0=<hex>`` over ``v0:ts:body``. ``endpoint.url_validation`` is answered with
    ``HMAC(secret, plainToken)`` only after the request itself verifies: answering unsigned
    validations would make the endpoint a signing oracle for Zoom's own primitive."""

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        result = super().check(request, keys, now)
        if result.reason is not Reason.VERIFIED:
            return result
        data = _json_object(request.body)
        if data is None or data.get("event") != "endpoint.url_validation":
            return result
        payload = data.get("payload")
        token = payload.get("plainToken") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token or len(token) > 256:
            return Check(Reason.BAD_REQUEST)
        key = next((k for k in keys if k.key_id == result.key_id), None)
        if key is None:  # pragma: no cover - the key just verified the request
            return Check(Reason.BAD_SIGNATURE)
        mac = key.hmac("sha256")
        mac.update(token.encode("utf-8"))
        body = json.dumps({"plainToken": token, "encryptedToken": mac.hexdigest()}).encode()
        return _answered(result, (200, _JSON, body), "url_validation")


# -- RFC 3339 timestamps ------------------------------------------------------------------------


class Twitch(WindowedScheme):
    """Twitch EventSub (webhook transport): ``sha256=<hex>`` over ``id + timestamp + body``.

    The message id is signed, so it is the replay key (Twitch retries keep it).
    ``webhook_callback_verification`` is answered with the raw challenge as text/plain after
    the request verifies; ``revocation`` and ``notification`` reach the app.
    """

    name = "twitch"
    ID = "Twitch-Eventsub-Message-Id"
    TIMESTAMP = "Twitch-Eventsub-Message-Timestamp"
    SIGNATURE = "Twitch-Eventsub-Message-Signature"
    TYPE = "Twitch-Eventsub-Message-Type"
    _PREFIX = "sha256="
    default_window = 600.0

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        headers = request.headers
        signature, ok = single_header(headers, self.SIGNATURE)
        if signature is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok or len(signature) != len(self._PREFIX) + 64:
            return Check(Reason.MALFORMED_SIGNATURE)
        if not signature.startswith(self._PREFIX):
            return Check(Reason.MALFORMED_SIGNATURE)
        stamp = self.fresh(headers, self.TIMESTAMP, parse_rfc3339, now)
        if isinstance(stamp, Check):
            return stamp
        raw_ts, seconds = stamp
        message_id, ok = single_header(headers, self.ID)
        if message_id is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok or not message_id or len(message_id) > 256 or not message_id.isascii():
            return Check(Reason.BAD_REQUEST)
        head = message_id.encode("ascii") + raw_ts.encode("ascii")
        for key in keys:
            mac = key.hmac("sha256")
            mac.update(head)
            mac.update(request.body)
            expected = (self._PREFIX + mac.hexdigest()).encode("ascii")
            if compare(expected, signature):
                result = Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=message_id.encode("ascii"),
                    timestamp=int(seconds),
                    message_id=message_id,
                )
                return self._handshake(request, result)
        return Check(Reason.BAD_SIGNATURE)

    def _handshake(self, request: WebhookRequest, result: Check) -> Check:
        kind, ok = single_header(request.headers, self.TYPE)
        if not ok:
            return Check(Reason.BAD_REQUEST)
        if kind != "webhook_callback_verification":
            return result
        data = _json_object(request.body)
        challenge = data.get("challenge") if data is not None else None
        if not isinstance(challenge, str) or not challenge or len(challenge) > 1024:
            return Check(Reason.BAD_REQUEST)
        return _answered(
            result, (200, _TEXT, challenge.encode("utf-8")), "webhook_callback_verification"
        )

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        message_id: str = "e76c6bd4-55c9-4987-8304-da1588d8988b",
        message_type: str = "notification",
    ) -> dict[str, str]:
        raw_ts = format_rfc3339(time.time() if timestamp is None else timestamp)
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        message = message_id.encode("ascii") + raw_ts.encode("ascii") + body
        return {
            self.ID: message_id,
            self.TIMESTAMP: raw_ts,
            self.SIGNATURE: self._PREFIX + _hmac.new(key, message, hashlib.sha256).hexdigest(),
            self.TYPE: message_type,
        }


class RFC3339HMAC(WindowedScheme):
    """Base64 HMAC-SHA256 in one or more headers over the body and an RFC 3339 timestamp
    header (Zendesk: ``timestamp + body``; Box: ``body + timestamp``).

    :param signature_headers: headers that may carry a signature; any present one may
        match (Box sends primary and secondary); each at most once.
    :param order: ``"timestamp_body"`` or ``"body_timestamp"``.
    :param required: header values that must be present exactly (e.g. Box's version).
    """

    def __init__(
        self,
        *,
        secret: SecretSpec,
        name: str,
        signature_headers: tuple[str, ...],
        timestamp_header: str,
        order: Literal["timestamp_body", "body_timestamp"],
        window: float,
        future_window: float | None = None,
        required: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.name = name
        self.signature_headers = signature_headers
        self.timestamp_header = timestamp_header
        self.order = order
        self.required = required
        super().__init__(secret=secret, window=window, future_window=future_window)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "signature_headers": list(self.signature_headers)}

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        headers = request.headers
        signatures: list[str] = []
        for name in self.signature_headers:
            value, ok = single_header(headers, name)
            if value is None:
                continue
            if not ok or len(value) != 44:  # base64 of 32 bytes
                return Check(Reason.MALFORMED_SIGNATURE)
            signatures.append(value)
        if not signatures:
            return Check(Reason.MISSING_SIGNATURE)
        for name, wanted in self.required:
            value, ok = single_header(headers, name)
            if value != wanted or not ok:
                return Check(Reason.MALFORMED_SIGNATURE)
        stamp = self.fresh(headers, self.timestamp_header, parse_rfc3339, now)
        if isinstance(stamp, Check):
            return stamp
        raw_ts, seconds = stamp
        ts = raw_ts.encode("ascii")
        parts = (ts, request.body) if self.order == "timestamp_body" else (request.body, ts)
        identity = None  # the MAC under the first key: the same for either header
        for key in keys:
            mac = key.hmac("sha256")
            for part in parts:
                mac.update(part)
            expected = base64.b64encode(mac.digest())
            if identity is None:
                identity = expected
            found = False
            for candidate in signatures:  # no early exit
                found |= compare(expected, candidate)
            if found:
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=identity,
                    timestamp=int(seconds),
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        secondary: str | bytes | None = None,
    ) -> dict[str, str]:
        """Headers for ``body``; ``secondary`` signs the second signature header (Box)."""
        raw_ts = _dt.datetime.fromtimestamp(
            time.time() if timestamp is None else timestamp, _dt.timezone.utc
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = {self.timestamp_header: raw_ts, **dict(self.required)}
        for name, key in zip(self.signature_headers, (secret, secondary), strict=False):
            if key is None:
                continue
            raw = key.encode("utf-8") if isinstance(key, str) else key
            ts = raw_ts.encode("ascii")
            message = ts + body if self.order == "timestamp_body" else body + ts
            out[name] = base64.b64encode(_hmac.new(raw, message, hashlib.sha256).digest()).decode()
        return out


class Linear(HMACScheme):
    """Linear: hex HMAC-SHA256 of the raw body in ``Linear-Signature``; freshness from the
    signed body field ``webhookTimestamp`` (milliseconds), checked after verification."""

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        result = super().check(request, keys, now)
        if result.reason is not Reason.VERIFIED:
            return result
        data = _json_object(request.body, limit=None)
        if data is None:
            return Check(Reason.MISSING_TIMESTAMP)
        raw = data.get("webhookTimestamp")
        if raw is None:
            return Check(Reason.MISSING_TIMESTAMP)
        if type(raw) is not int or not 0 <= raw < 10**16:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(raw / 1000, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        return Check(
            Reason.VERIFIED,
            key_id=result.key_id,
            replay_material=result.replay_material,
            timestamp=raw,
        )

    def replay_ttl(self) -> float:
        return self.window + self.future_window


# -- factories ---------------------------------------------------------------------------------


def stripe(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Stripe: ``Stripe-Signature: t=..,v1=..[,v1=..]``; the key is the whole ``whsec_``
    string as UTF-8 (not decoded). ``window`` bounds both directions (the SDK only the past).
    Retries (up to 3 days, re-signed) are the same event: the body's ``id`` is the key."""
    return delivery(
        SignatureList(
            secret=secret, header="Stripe-Signature", window=window, name="stripe", **options
        ),
        event_id=("id",),
        retry_horizon=3 * DAY,
    )


def calendly(*, secret: SecretSpec, window: float = 180.0, **options: Any) -> SignatureList:
    """Calendly: ``Calendly-Webhook-Signature: t=..,v1=..`` over ``t.body``."""
    return SignatureList(
        secret=secret,
        header="Calendly-Webhook-Signature",
        window=window,
        name="calendly",
        **options,
    )


def mux(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Mux: ``Mux-Signature: t=..,v1=..`` over ``t.body``; the body's ``id`` is the event
    (its ``attempts`` list changes per attempt)."""
    return delivery(
        SignatureList(secret=secret, header="Mux-Signature", window=window, name="mux", **options),
        event_id=("id",),
        retry_horizon=DAY,
    )


def persona(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Persona: ``Persona-Signature: t=..,v1=..`` (space-separated groups while rotating);
    the event is the body's ``data.id``."""
    return delivery(
        Persona(
            secret=secret, header="Persona-Signature", window=window, name="persona", **options
        ),
        event_id=("data", "id"),
        retry_horizon=3 * DAY,
    )


def paddle(*, secret: SecretSpec, window: float = 5.0, **options: Any) -> SignatureList:
    """Paddle Billing: ``Paddle-Signature: ts=..;h1=..`` over ``ts:body`` (SDK window 5 s);
    retries (up to 60 over 3 days, re-signed) carry the same body ``event_id``."""
    return delivery(
        SignatureList(
            secret=secret,
            header="Paddle-Signature",
            separator=";",
            ts_key="ts",
            sig_key="h1",
            joiner=":",
            window=window,
            name="paddle",
            **options,
        ),
        event_id=("event_id",),
        retry_horizon=3 * DAY,
    )


def buildkite(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Buildkite: ``X-Buildkite-Signature: timestamp=..,signature=..`` over ``ts.body``."""
    return SignatureList(
        secret=secret,
        header="X-Buildkite-Signature",
        ts_key="timestamp",
        sig_key="signature",
        window=window,
        name="buildkite",
        **options,
    )


def pagerduty(*, secret: SecretSpec) -> SignatureList:
    """PagerDuty (v3): ``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`` over the raw body.

    No timestamp is signed: there is no freshness window. The replay key is the body's
    ``event.id``, else the identity of the body (the same for any subset of the listed
    signatures)."""
    return delivery(
        SignatureList(secret=secret, header="X-PagerDuty-Signature", ts_key=None, name="pagerduty"),
        event_id=("event", "id"),
        retry_horizon=HOUR,
    )


def slack(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> Slack:
    """Slack: ``X-Slack-Signature: v0=<hex>``, ``X-Slack-Request-Timestamp``. Events API
    retries (re-signed, ``X-Slack-Retry-Num``) carry the same body ``event_id``; slash
    commands and interactivity payloads have none (their signed message is the key)."""
    return delivery(
        Slack(
            secret=secret,
            header="X-Slack-Signature",
            prefix="v0=",
            template="v0:{timestamp}:{body}",
            timestamp_header="X-Slack-Request-Timestamp",
            window=window,
            name="slack",
            **options,
        ),
        event_id=("event_id",),
        retry_horizon=HOUR,
    )


def zoom(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> Zoom:
    """Zoom: ``x-zm-signature: v0=<hex>``, ``x-zm-request-timestamp`` (seconds; pass
    ``timestamp_unit="ms"`` for millisecond senders); url_validation answered after
    verification."""
    return Zoom(
        secret=secret,
        header="x-zm-signature",
        prefix="v0=",
        template="v0:{timestamp}:{body}",
        timestamp_header="x-zm-request-timestamp",
        window=window,
        name="zoom",
        **options,
    )


def frameio(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> HMACScheme:
    """Frame.io: ``X-Frameio-Signature: v0=<hex>`` over ``v0:ts:body``."""
    return HMACScheme(
        secret=secret,
        header="X-Frameio-Signature",
        prefix="v0=",
        template="v0:{timestamp}:{body}",
        timestamp_header="X-Frameio-Request-Timestamp",
        window=window,
        name="frameio",
        **options,
    )


def twitch(
    *, secret: SecretSpec, window: float = 600.0, future_window: float | None = None
) -> Twitch:
    """Twitch EventSub: ``Twitch-Eventsub-Message-Signature: sha256=<hex>`` over
    id + RFC 3339 timestamp + body; 10 minutes; replay key = the (signed) message id."""
    return Twitch(secret=secret, window=window, future_window=future_window)


def zendesk(
    *, secret: SecretSpec, window: float = 300.0, future_window: float | None = None
) -> RFC3339HMAC:
    """Zendesk: ``X-Zendesk-Webhook-Signature`` = Base64 HMAC-SHA256 of timestamp + body,
    ``X-Zendesk-Webhook-Signature-Timestamp`` (RFC 3339). Zendesk sets no window; 300 s here."""
    return RFC3339HMAC(
        secret=secret,
        name="zendesk",
        signature_headers=("X-Zendesk-Webhook-Signature",),
        timestamp_header="X-Zendesk-Webhook-Signature-Timestamp",
        order="timestamp_body",
        window=window,
        future_window=future_window,
    )


def box(*, secret: SecretSpec, window: float = 600.0, future_window: float = 60.0) -> RFC3339HMAC:
    """Box: ``BOX-SIGNATURE-PRIMARY``/``-SECONDARY`` = Base64 HMAC-SHA256 of body +
    ``BOX-DELIVERY-TIMESTAMP`` (RFC 3339); configure both keys as a list (either may match
    either header); ``BOX-SIGNATURE-VERSION: 1`` and ``-ALGORITHM: HmacSHA256`` required.
    10 minutes past as Box's SDK; 60 s ahead for clock skew (the SDK allows none). Box
    retries (12 times over 2 hours) keep the body ``id`` (the ``BOX-DELIVERY-ID`` header
    changes)."""
    return delivery(
        RFC3339HMAC(
            secret=secret,
            name="box",
            signature_headers=("BOX-SIGNATURE-PRIMARY", "BOX-SIGNATURE-SECONDARY"),
            timestamp_header="BOX-DELIVERY-TIMESTAMP",
            order="body_timestamp",
            window=window,
            future_window=future_window,
            required=(("BOX-SIGNATURE-VERSION", "1"), ("BOX-SIGNATURE-ALGORITHM", "HmacSHA256")),
        ),
        event_id=("id",),
        retry_horizon=2.5 * HOUR,
    )



def linear(
    *, secret: SecretSpec, window: float = 60.0, future_window: float | None = None
) -> Linear:
    """Linear: ``Linear-Signature: <hex>`` over the raw body; the signed body field
    ``webhookTimestamp`` (ms) must lie within ``window`` seconds (60, as Linear's SDK)."""
    return Linear(
        secret=secret,
        header="Linear-Signature",
        window=window,
        future_window=future_window,
        name="linear",
    )


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "stripe": stripe,
    "slack": slack,
    "paddle": paddle,
    "zoom": zoom,
    "twitch": twitch,
    "calendly": calendly,
    "zendesk": zendesk,
    "box": box,
    "buildkite": buildkite,
    "persona": persona,
    "mux": mux,
    "frameio": frameio,
    "pagerduty": pagerduty,
    "linear": linear,
}
