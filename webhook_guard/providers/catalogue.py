"""Body-HMAC providers (a signature over the raw body, no timestamp), Mailgun, and
static-token presets: most are one row of data over ``HMACScheme`` or ``Token``.

Body-HMAC schemes carry no freshness: the replay key is the signature (the body digest),
kept for the route's ``replay_ttl``. Pass the provider's delivery id downstream to
de-duplicate across longer periods.

Handshakes:

- Meta (and the ``whatsapp``/``instagram`` aliases): with ``verify_token=`` set, the
  ``GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`` subscription check is
  answered by the guard (token compared in constant time, challenge echoed as text/plain).
- Dropbox: ``answer_challenge=True`` answers ``GET ?challenge=..`` (unsigned; opt-in).
- Asana: ``handshake=True`` answers the first request carrying ``X-Hook-Secret`` by
  echoing it (unsigned; opt-in, enable it only while creating the webhook). The secret is
  in ``verdict.details["hook_secret"]`` (``on_verified``) so it can be stored.
- Okta: the one-time ``X-Okta-Verification-Challenge`` GET is answered after the static
  authorization header verifies.
- Notion: ``verification=True`` answers the one-time unsigned ``verification_token`` POST
  (opt-in); the token is in ``verdict.details["verification_token"]``.

Xero's refusals are an empty 401 (its "intent to receive" check requires it).
"""

from __future__ import annotations

import base64
import binascii
import hmac as _hmac
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from webhook_guard.core.keys import KeySet, Secret, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    MAX_HEADER_LENGTH,
    Check,
    Response,
    Scheme,
    SecretSpec,
    WindowedScheme,
    check_window,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._hmac import Encoding, HMACScheme
from webhook_guard.providers.token import Token

__all__ = (
    "BODY_HMAC",
    "FACTORIES",
    "TOKENS",
    "Airtable",
    "Asana",
    "BodyHMAC",
    "BodyHMACScheme",
    "Dropbox",
    "Mailgun",
    "Meta",
    "Notion",
    "Okta",
    "Shopify",
    "TokenPreset",
    "Xero",
    "mailgun",
)

#: Characters a handshake challenge may have before it is echoed (no markup, no CR/LF).
_CHALLENGE = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")
HOUR = 3600.0
DAY = 24 * HOUR
_TEXT: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
)


class BodyHMACScheme(HMACScheme):
    """An ``HMACScheme`` over the raw body, fixed by a ``BodyHMAC`` row."""

    def __init__(self, *, secret: SecretSpec, spec: BodyHMAC, name: str) -> None:
        super().__init__(
            secret=secret,
            header=spec.header,
            algorithm=spec.algorithm,
            encoding=spec.encoding,
            prefix=spec.prefix,
            name=name,
        )
        self.event_id = spec.event_id
        self.retry_horizon = spec.retry_horizon


def _one_query(request: WebhookRequest, name: str) -> tuple[str | None, bool]:
    """The one value of query parameter ``name``: ``(value, ok)`` as ``single_header``."""
    try:
        values = request.query_values(name)
    except Exception:  # parse_qsl is lenient, but a parser must stay total
        return None, False
    if not values:
        return None, True
    return values[0], len(values) == 1 and len(values[0]) <= MAX_HEADER_LENGTH


def _handshake(response: Response, kind: str, key_id: str | None = None, **extra: str) -> Check:
    return Check(
        Reason.VERIFIED, key_id=key_id, details={"handshake": kind, **extra}, response=response
    )


class Meta(BodyHMACScheme):
    """Meta (Facebook, Instagram, WhatsApp): ``X-Hub-Signature-256: sha256=<hex>``; with
    ``verify_token`` set, the ``hub.challenge`` subscription GET is answered by the guard."""

    def __init__(
        self,
        *,
        secret: SecretSpec,
        spec: BodyHMAC,
        name: str,
        verify_token: str | bytes | None = None,
    ) -> None:
        """``verify_token``: the subscription token (a literal, ``env:NAME`` or ``file:/path``)."""
        super().__init__(secret=secret, spec=spec, name=name)
        token = None
        if verify_token is not None:
            from webhook_guard.keysources import resolve_one

            # A literal, "env:NAME" or "file:/path", read now; empty is refused (E002).
            token = resolve_one(verify_token, route=name, what="verify_token")
        self._verify_token = token  # private: describe() never shows it
        self.answers_subscription = verify_token is not None

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if request.method == "GET" and "hub." in request.query:
            return self._subscription(request)
        return super().check(request, keys, now)

    def _subscription(self, request: WebhookRequest) -> Check:
        if self._verify_token is None:
            return Check(Reason.MISSING_SIGNATURE)
        mode, ok_mode = _one_query(request, "hub.mode")
        token, ok_token = _one_query(request, "hub.verify_token")
        challenge, ok_challenge = _one_query(request, "hub.challenge")
        if token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok_token:
            return Check(Reason.MALFORMED_SIGNATURE)
        if not _hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self._verify_token):
            return Check(Reason.BAD_SIGNATURE)
        if (
            mode != "subscribe"
            or not ok_mode
            or challenge is None
            or not ok_challenge
            or not _CHALLENGE.fullmatch(challenge)
            or request.body
        ):
            return Check(Reason.BAD_REQUEST)
        return _handshake((200, _TEXT, challenge.encode("ascii")), "hub.challenge", "verify_token")


class Dropbox(BodyHMACScheme):
    """Dropbox: ``X-Dropbox-Signature: <hex>``; ``answer_challenge=True`` echoes the
    (unsigned) ``GET ?challenge=`` verification request."""

    def __init__(
        self, *, secret: SecretSpec, spec: BodyHMAC, name: str, answer_challenge: bool = False
    ) -> None:
        super().__init__(secret=secret, spec=spec, name=name)
        self.answer_challenge = bool(answer_challenge)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if (
            self.answer_challenge
            and request.method == "GET"
            and not request.body
            and not request.headers.getlist(self.header)
        ):
            challenge, ok = _one_query(request, "challenge")
            if challenge is not None:
                if not ok or not _CHALLENGE.fullmatch(challenge):
                    return Check(Reason.BAD_REQUEST)
                return _handshake((200, _TEXT, challenge.encode("ascii")), "challenge")
        return super().check(request, keys, now)


class Asana(BodyHMACScheme):
    """Asana: ``X-Hook-Signature: <hex>``; ``handshake=True`` echoes ``X-Hook-Secret``."""

    def __init__(
        self, *, secret: SecretSpec, spec: BodyHMAC, name: str, handshake: bool = False
    ) -> None:
        super().__init__(secret=secret, spec=spec, name=name)
        self.handshake = bool(handshake)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if self.handshake and not request.headers.getlist(self.header):
            hook_secret, ok = single_header(request.headers, "X-Hook-Secret")
            if hook_secret is not None:
                if not ok or not _CHALLENGE.fullmatch(hook_secret):
                    return Check(Reason.BAD_REQUEST)
                return _handshake(
                    (200, (("X-Hook-Secret", hook_secret),), b""),
                    "x-hook-secret",
                    hook_secret=hook_secret,
                )
        return super().check(request, keys, now)


class Shopify(BodyHMACScheme):
    """Shopify: ``X-Shopify-Hmac-Sha256: <base64>``, or the same signature under the
    unprefixed ``shopify-hmac-sha256`` name of Shopify's newer event format. Exactly one
    of the two names may be present; both at once is a malformed request."""

    NEXT_GEN = "shopify-hmac-sha256"

    def __init__(self, *, secret: SecretSpec, spec: BodyHMAC, name: str) -> None:
        super().__init__(secret=secret, spec=spec, name=name)
        self._next_gen = BodyHMACScheme(
            secret=secret, spec=spec._replace(header=self.NEXT_GEN), name=name
        )

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        classic = request.headers.getlist(self.header)
        next_gen = request.headers.getlist(self.NEXT_GEN)
        if classic and next_gen:
            return Check(Reason.MALFORMED_SIGNATURE)
        if next_gen:
            return self._next_gen.check(request, keys, now)
        return super().check(request, keys, now)


class Xero(BodyHMACScheme):
    """Xero: ``x-xero-signature: <base64>``. Xero's "intent to receive" check sends signed
    and mis-signed requests and wants 200 and an *empty* 401, so refusals carry no body."""

    refusal_body = False


class Notion(BodyHMACScheme):
    """Notion: ``X-Notion-Signature: sha256=<hex>``, keyed by the verification token.

    ``verification=True`` answers the one-time, unsigned ``{"verification_token": ..}``
    POST Notion sends when a subscription is created (opt-in: enable it only while
    setting the subscription up). The token is handed to ``on_verified`` in
    ``verdict.details["verification_token"]``; paste it into Notion, then configure it as
    the route's secret.
    """

    def __init__(
        self, *, secret: SecretSpec, spec: BodyHMAC, name: str, verification: bool = False
    ) -> None:
        super().__init__(secret=secret, spec=spec, name=name)
        self.verification = bool(verification)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if (
            self.verification
            and request.method == "POST"
            and not request.headers.getlist(self.header)
            and len(request.body) <= 4096
        ):
            try:
                data = json.loads(request.body, object_pairs_hook=_no_duplicates)
            except (ValueError, UnicodeDecodeError, RecursionError, _Duplicate):
                data = None
            if isinstance(data, dict) and set(data) == {"verification_token"}:
                token = data["verification_token"]
                if not isinstance(token, str) or not _CHALLENGE.fullmatch(token):
                    return Check(Reason.BAD_REQUEST)
                return _handshake(
                    (200, (("Cache-Control", "no-store"),), b""),
                    "verification_token",
                    verification_token=token,
                )
        return super().check(request, keys, now)


class Airtable(BodyHMACScheme):
    """Airtable: ``X-Airtable-Content-MAC: hmac-sha256=<hex>``; the key is the
    base64-decoded ``macSecretBase64`` (configure the base64 string Airtable returns)."""

    def __init__(self, *, secret: SecretSpec, spec: BodyHMAC, name: str) -> None:
        super().__init__(secret=secret, spec=spec, name=name)
        # A literal secret is checked now; references when the guard reads them.
        literal = secret.encode() if isinstance(secret, str) else secret
        if isinstance(literal, bytes) and not literal.startswith((b"env:", b"file:")):
            problem = self.check_secret(literal)
            if problem is not None:
                raise ConfigurationError(f"{name}: {problem}", code="webhook_guard.E002")

    def check_secret(self, value: bytes) -> str | None:
        if _b64_key(value) is None:
            return "the secret must be the base64 macSecretBase64 value"
        return None

    def _mac(self, key: Secret, message: Sequence[bytes]) -> bytes:
        decoded = _b64_key(key.value)
        if decoded is None:  # a key that is not base64 matches nothing
            return b""
        return super()._mac(Secret(decoded, key_id=key.key_id), message)


def _b64_key(value: bytes) -> bytes | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded or None


class BodyHMAC(NamedTuple):
    """One provider's body signature: header, digest, encoding, prefix, scheme class."""

    header: str
    algorithm: str = "sha256"
    encoding: Encoding = "hex"
    prefix: str = ""
    scheme: type[BodyHMACScheme] = BodyHMACScheme
    #: The signed event id's key path in the JSON body (see ``Scheme.event_id``): needed
    #: where retries change the body (an attempt counter), so the body's MAC differs.
    event_id: tuple[str, ...] | None = None
    #: Seconds the provider retries (``Scheme.retry_horizon``), from its documentation.
    retry_horizon: float | None = None


#: Meta retries for up to 36 hours; WhatsApp Cloud API notifications for up to 7 days.
_META = BodyHMAC("X-Hub-Signature-256", prefix="sha256=", scheme=Meta, retry_horizon=36 * HOUR)

#: Registry name -> scheme (``shared/providers.md`` has the sources).
BODY_HMAC: dict[str, BodyHMAC] = {
    "shopify": BodyHMAC("X-Shopify-Hmac-Sha256", encoding="base64", scheme=Shopify),
    "bitbucket": BodyHMAC("X-Hub-Signature", prefix="sha256="),
    "jira": BodyHMAC("X-Hub-Signature", prefix="sha256="),
    "gitea": BodyHMAC("X-Gitea-Signature"),
    "gogs": BodyHMAC("X-Gogs-Signature"),
    "forgejo": BodyHMAC("X-Forgejo-Signature"),
    # The notification body counts delivery_attempts: the id ties the attempts together.
    "intercom": BodyHMAC("X-Hub-Signature", algorithm="sha1", prefix="sha1=", event_id=("id",)),
    "typeform": BodyHMAC("Typeform-Signature", encoding="base64", prefix="sha256="),
    "razorpay": BodyHMAC("X-Razorpay-Signature"),
    "paystack": BodyHMAC("x-paystack-signature", algorithm="sha512", retry_horizon=72 * HOUR),
    "line": BodyHMAC("x-line-signature", encoding="base64"),
    "dropbox": BodyHMAC("X-Dropbox-Signature", scheme=Dropbox),
    "asana": BodyHMAC("X-Hook-Signature", scheme=Asana),
    "xero": BodyHMAC("x-xero-signature", encoding="base64", scheme=Xero),
    "quickbooks": BodyHMAC("intuit-signature", encoding="base64"),
    "meta": _META,
    "whatsapp": _META._replace(retry_horizon=7 * DAY),
    "instagram": _META,
    "vercel": BodyHMAC("x-vercel-signature", algorithm="sha1"),
    "sentry": BodyHMAC("Sentry-Hook-Signature"),
    "woocommerce": BodyHMAC("X-WC-Webhook-Signature", encoding="base64"),
    "lemon_squeezy": BodyHMAC("X-Signature"),
    # attempt_number changes per attempt (up to 8 over about a day); the event id does not.
    "notion": BodyHMAC(
        "X-Notion-Signature",
        prefix="sha256=",
        scheme=Notion,
        event_id=("id",),
        retry_horizon=26 * HOUR,
    ),
    "airtable": BodyHMAC("X-Airtable-Content-MAC", prefix="hmac-sha256=", scheme=Airtable),
    "segment": BodyHMAC("X-Signature", algorithm="sha1"),
    # attempt_number changes per attempt; retried with back-off for up to three days.
    "coinbase_commerce": BodyHMAC(
        "X-CC-Webhook-Signature", event_id=("event", "id"), retry_horizon=72 * HOUR
    ),
    # CircleCI documents the body id as the de-duplication key.
    "circleci": BodyHMAC("circleci-signature", prefix="v1=", event_id=("id",)),
    "bolt": BodyHMAC("X-Bolt-Hmac-Sha256", encoding="base64"),
}


# --------------------------------------------------------------------------- Mailgun


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class Mailgun(WindowedScheme):
    """Mailgun: ``signature = hex(HMAC-SHA256(key, timestamp + token))`` inside the body
    (JSON ``{"signature": {"timestamp", "token", "signature"}}`` or the legacy form fields).

    The event data is **not** signed (``body_signed=False``); the token is the replay key.
    """

    name = "mailgun"
    body_signed = False
    _MAX_TOKEN = 256

    def _fields(self, request: WebhookRequest) -> dict[str, Any] | Reason:
        content_type, _ = single_header(request.headers, "Content-Type")
        if content_type and content_type.split(";")[0].strip().lower() == (
            "application/x-www-form-urlencoded"
        ):
            try:
                pairs = parse_qsl(
                    request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True
                )
                return _no_duplicates(
                    [(k, v) for k, v in pairs if k in ("timestamp", "token", "signature")]
                )
            except (ValueError, UnicodeDecodeError):
                return Reason.BAD_REQUEST
        try:
            data = json.loads(request.body, object_pairs_hook=_no_duplicates)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return Reason.BAD_REQUEST
        if not isinstance(data, dict) or "signature" not in data:
            return Reason.MISSING_SIGNATURE
        fields = data["signature"]
        return fields if isinstance(fields, dict) else Reason.MALFORMED_SIGNATURE

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        fields = self._fields(request)
        if isinstance(fields, Reason):
            return Check(fields)
        signature, token, raw_ts = (fields.get(k) for k in ("signature", "token", "timestamp"))
        if signature is None or token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if (
            not isinstance(signature, str)
            or len(signature) != 64
            or not isinstance(token, str)
            or not 0 < len(token) <= self._MAX_TOKEN
            or not token.isascii()
            or not token.isprintable()
        ):
            return Check(Reason.MALFORMED_SIGNATURE)
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        timestamp = parse_timestamp(raw_ts) if isinstance(raw_ts, str) else None
        if timestamp is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(timestamp, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        message = raw_ts.encode("ascii") + token.encode("ascii")
        for key in keys:
            mac = key.hmac("sha256")
            mac.update(message)
            if compare(mac.hexdigest().encode("ascii"), signature):
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    replay_material=b"mailgun-token\x00" + token.encode("ascii"),
                    timestamp=timestamp,
                    message_id=token,
                )
        return Check(Reason.BAD_SIGNATURE)

    @staticmethod
    def signature(*, secret: str | bytes, timestamp: str, token: str) -> str:
        """``hex(HMAC-SHA256(secret, timestamp + token))``."""
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        return _hmac.new(key, (timestamp + token).encode("ascii"), "sha256").hexdigest()

    def signed_body(
        self,
        event_data: Any,
        *,
        secret: str | bytes,
        timestamp: float,
        token: str,
    ) -> bytes:
        """A JSON webhook body as Mailgun sends it (the signature is inside the body)."""
        ts = str(int(timestamp))
        return json.dumps(
            {
                "signature": {
                    "timestamp": ts,
                    "token": token,
                    "signature": self.signature(secret=secret, timestamp=ts, token=token),
                },
                "event-data": event_data,
            }
        ).encode("utf-8")

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """No headers: Mailgun signs inside the body (use ``signed_body``)."""
        return {}


def mailgun(
    *, secret: SecretSpec, window: float = 300.0, future_window: float | None = None
) -> Mailgun:
    """Mailgun webhooks (JSON, or legacy form posts with ``timestamp``/``token``/``signature``).

    :param secret: the HTTP webhook signing key reference(s).
    :param window: seconds the body's timestamp may lie in the past (app-defined by Mailgun).
    :param future_window: seconds it may lie in the future (default: ``window``).
    """
    return Mailgun(secret=secret, window=window, future_window=future_window)


# --------------------------------------------------------------------------- tokens


class Okta(Token):
    """Okta event hooks: a static ``Authorization`` value; the one-time verification GET
    (``X-Okta-Verification-Challenge``) is answered with ``{"verification": ...}`` once the
    token verifies."""

    _CHALLENGE_HEADER = "X-Okta-Verification-Challenge"

    def __init__(
        self,
        *,
        secret: SecretSpec,
        header: str = "Authorization",
        prefix: str = "",
        answer_verification: bool = True,
    ) -> None:
        super().__init__(secret=secret, header=header, prefix=prefix, name="okta")
        self.answer_verification = bool(answer_verification)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        result = super().check(request, keys, now)
        if (
            result.reason is not Reason.VERIFIED
            or not self.answer_verification
            or request.method != "GET"
        ):
            return result
        challenge, ok = single_header(request.headers, self._CHALLENGE_HEADER)
        if challenge is None:
            return result
        if not ok or not _CHALLENGE.fullmatch(challenge):
            return Check(Reason.BAD_REQUEST)
        body = json.dumps({"verification": challenge}).encode("ascii")
        return _handshake(
            (200, (("Content-Type", "application/json"), ("Cache-Control", "no-store")), body),
            "okta-verification",
            result.key_id,
        )


class TokenPreset(NamedTuple):
    """A static token sent verbatim in a header."""

    header: str
    prefix: str = ""


TOKENS: dict[str, TokenPreset] = {
    "gitlab": TokenPreset("X-Gitlab-Token"),
    "telegram": TokenPreset("X-Telegram-Bot-Api-Secret-Token"),
    "okta": TokenPreset("Authorization"),
    "cloudflare": TokenPreset("cf-webhook-auth"),
}


def _body_hmac(name: str, spec: BodyHMAC) -> Callable[..., Scheme]:
    def factory(*, secret: SecretSpec, **options: Any) -> BodyHMACScheme:
        return spec.scheme(secret=secret, spec=spec, name=name, **options)

    factory.__name__ = name
    factory.__qualname__ = name
    factory.__doc__ = (
        f"{name}: ``{spec.header}: {spec.prefix}<{spec.encoding} "
        f"HMAC-{spec.algorithm.upper()} of the raw body>``."
    )
    return factory


def _token(name: str, spec: TokenPreset) -> Callable[..., Scheme]:
    def factory(*, secret: SecretSpec, prefix: str = spec.prefix) -> Token:
        return Token(secret=secret, header=spec.header, prefix=prefix, name=name)

    factory.__name__ = name
    factory.__qualname__ = name
    factory.__doc__ = f"{name}: a static token in ``{spec.header}`` (compared in constant time)."
    return factory


def okta(
    *,
    secret: SecretSpec,
    header: str = "Authorization",
    prefix: str = "",
    answer_verification: bool = True,
) -> Okta:
    """Okta event/inline hooks: the configured authentication header value, verbatim.

    :param header: the authentication field name configured in Okta.
    :param prefix: text before the secret in that header (e.g. ``"Bearer "``).
    :param answer_verification: answer the one-time verification GET after the token verifies.
    """
    return Okta(
        secret=secret, header=header, prefix=prefix, answer_verification=answer_verification
    )


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    **{name: _body_hmac(name, spec) for name, spec in BODY_HMAC.items()},
    **{name: _token(name, spec) for name, spec in TOKENS.items()},
    "okta": okta,
    "mailgun": mailgun,
}
