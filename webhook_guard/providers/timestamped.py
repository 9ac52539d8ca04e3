"""Timestamped HMAC providers: the timestamp is signed with the body, and checked against a
window both ways (stricter than the Stripe SDK, which lets future timestamps through).

Two shapes:

- a signature list in one header, ``t=<ts>,v1=<hex>[,v1=<hex>...]`` (Stripe, Calendly,
  Mux, Persona, Paddle with ``;`` and ``ts``/``h1``, Buildkite): every pair well formed,
  the timestamp exactly once, at most 8 signatures, unknown keys (Stripe's ``v0``) ignored;
- separate signature and timestamp headers (Slack, Zoom, Frame.io), built on
  ``HMACScheme``, with the providers' signed handshakes answered after verification.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

from webhook_guard.core.keys import KeySet, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    Check,
    Response,
    Scheme,
    SecretSpec,
    check_window,
    parse_timestamp,
    single_header,
    validate_window,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._hmac import HMACScheme

__all__ = (
    "FACTORIES",
    "SignatureList",
    "buildkite",
    "calendly",
    "frameio",
    "mux",
    "paddle",
    "persona",
    "slack",
    "stripe",
    "zoom",
)

MAX_SIGNATURES = 8
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[a-z0-9]{1,16}")
#: Handshake bodies are small; larger bodies are never parsed for one.
_MAX_HANDSHAKE_BODY = 16 * 1024
_JSON = (("Content-Type", "application/json"),)


class SignatureList(Scheme):
    """``<ts_key>=<ts><sep><sig_key>=<hex>...`` in one header over ``ts + joiner + body``.

    :param header: the signature header.
    :param separator: between pairs (``","`` or ``";"``).
    :param ts_key: the timestamp's key (``t``, ``ts``, ``timestamp``).
    :param sig_key: the signature's key (``v1``, ``h1``, ``signature``); may repeat.
    :param joiner: bytes between the timestamp and the body in the signed message.
    :param window: seconds a timestamp may lie in the past; ``future_window`` ahead.
    """

    name = "signature_list"

    def __init__(
        self,
        *,
        secret: SecretSpec,
        header: str,
        separator: str = ",",
        ts_key: str = "t",
        sig_key: str = "v1",
        joiner: str = ".",
        window: float = 300.0,
        future_window: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(secret=secret)
        if name is not None:
            self.name = name
        self.header = header
        self.separator = separator
        self.ts_key = ts_key
        self.sig_key = sig_key
        self.joiner = joiner
        self.window = float(window)
        self.future_window = float(window if future_window is None else future_window)
        self.validate()

    def validate(self) -> None:
        validate_window(self.name, self.window, self.future_window)

    def replay_ttl(self) -> float:
        return self.window + self.future_window

    def parse(self, value: str) -> tuple[str, list[str]] | None:
        """``(timestamp, signatures)``; None when the header is malformed."""
        timestamp: str | None = None
        signatures: list[str] = []
        for part in value.split(self.separator):
            key, eq, item = part.strip(" ").partition("=")
            if not eq or not _KEY.fullmatch(key) or not item:
                return None
            if key == self.ts_key:
                if timestamp is not None:
                    return None  # a second timestamp: which one was signed?
                timestamp = item
            elif key == self.sig_key:
                signatures.append(item)
        if timestamp is None or len(signatures) > MAX_SIGNATURES:
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
        timestamp = parse_timestamp(raw_ts)
        if timestamp is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(timestamp, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        if not signatures or not all(_HEX64.fullmatch(s) for s in signatures):
            return Check(Reason.MALFORMED_SIGNATURE if signatures else Reason.BAD_SIGNATURE)
        head = raw_ts.encode("ascii") + self.joiner.encode("ascii")
        for key in keys:
            mac = key.hmac("sha256")
            mac.update(head)
            mac.update(request.body)
            expected = mac.hexdigest().encode("ascii")
            found = False
            for candidate in signatures:  # no early exit: every candidate is compared
                found |= compare(expected, candidate)
            if found:
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=expected,
                    timestamp=timestamp,
                )
        return Check(Reason.BAD_SIGNATURE)

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time() if timestamp is None else timestamp))
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        message = ts.encode("ascii") + self.joiner.encode("ascii") + body
        signature = _hmac.new(key, message, hashlib.sha256).hexdigest()
        return {self.header: f"{self.ts_key}={ts}{self.separator}{self.sig_key}={signature}"}


class Persona(SignatureList):
    """Persona: during a rotation, several ``t=..,v1=..`` groups separated by spaces."""

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
    from dataclasses import replace

    from webhook_guard.core.request import Headers

    pairs = [(k, v) for k, v in request.headers.items_raw() if k.lower() != name.lower()]
    return replace(request, headers=Headers([*pairs, (name, value)]))


# -- separate signature and timestamp headers ---------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any] | None:
    if len(body) > _MAX_HANDSHAKE_BODY:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


class Slack(HMACScheme):
    """Slack: ``v0=<hex>`` over ``v0:ts:body``; url_verification and ssl_check answered after
    verification (Slack signs both)."""

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        result = super().check(request, keys, now)
        if result.reason is not Reason.VERIFIED:
            return result
        response: Response | None = None
        data = _json_object(request.body) if request.body[:1] == b"{" else None
        if data is not None and data.get("type") == "url_verification":
            challenge = data.get("challenge")
            if isinstance(challenge, str):
                response = (200, _JSON, json.dumps({"challenge": challenge}).encode())
        elif request.body.startswith(b"ssl_check=1"):
            response = (200, (), b"")
        if response is None:
            return result
        return Check(
            Reason.VERIFIED, key_id=result.key_id, timestamp=result.timestamp, response=response
        )


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
        key = next(k for k in keys if k.key_id == result.key_id)
        mac = key.hmac("sha256")
        mac.update(token.encode("utf-8"))
        body = json.dumps({"plainToken": token, "encryptedToken": mac.hexdigest()}).encode()
        return Check(
            Reason.VERIFIED,
            key_id=result.key_id,
            timestamp=result.timestamp,
            response=(200, _JSON, body),
        )


# -- factories ---------------------------------------------------------------------------------


def stripe(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Stripe: ``Stripe-Signature: t=..,v1=..``; the key is the whole ``whsec_`` string."""
    return SignatureList(
        secret=secret, header="Stripe-Signature", window=window, name="stripe", **options
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
    """Mux: ``Mux-Signature: t=..,v1=..`` over ``t.body``."""
    return SignatureList(
        secret=secret, header="Mux-Signature", window=window, name="mux", **options
    )


def persona(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> SignatureList:
    """Persona: ``Persona-Signature: t=..,v1=..`` (space-separated groups while rotating)."""
    return Persona(
        secret=secret, header="Persona-Signature", window=window, name="persona", **options
    )


def paddle(*, secret: SecretSpec, window: float = 5.0, **options: Any) -> SignatureList:
    """Paddle Billing: ``Paddle-Signature: ts=..;h1=..`` over ``ts:body`` (SDK window 5 s)."""
    return SignatureList(
        secret=secret,
        header="Paddle-Signature",
        separator=";",
        ts_key="ts",
        sig_key="h1",
        joiner=":",
        window=window,
        name="paddle",
        **options,
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


def slack(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> Slack:
    """Slack: ``X-Slack-Signature: v0=<hex>``, ``X-Slack-Request-Timestamp``."""
    return Slack(
        secret=secret,
        header="X-Slack-Signature",
        prefix="v0=",
        template="v0:{timestamp}:{body}",
        timestamp_header="X-Slack-Request-Timestamp",
        window=window,
        name="slack",
        **options,
    )


def zoom(*, secret: SecretSpec, window: float = 300.0, **options: Any) -> Zoom:
    """Zoom: ``x-zm-signature: v0=<hex>``, ``x-zm-request-timestamp``; url_validation answered."""
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


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "stripe": stripe,
    "slack": slack,
    "paddle": paddle,
    "zoom": zoom,
    "calendly": calendly,
    "mux": mux,
    "persona": persona,
    "buildkite": buildkite,
    "frameio": frameio,
}
