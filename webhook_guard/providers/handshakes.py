"""Handshakes: the subscription checks some providers send, answered by the guard itself.

A handshake is a small strategy on a provider row:

- ``before`` looks at a request before verification: only handshakes the provider does
  not sign, so each of them is opt-in (``option``) or bound to a credential (Meta's
  ``verify_token``): answering them proves nothing about the sender;
- ``after`` looks at a verified request and may answer it instead of the app (Slack,
  Zoom, Twitch, Discord, Okta): the provider signs these, so nothing is answered before
  the signature checks out (Zoom's answer is an HMAC under the route's key: answering
  unsigned validations would make the endpoint a signing oracle).

A handshake's answer is a verified ``Check`` with ``response`` set and ``details["handshake"]``
naming it; the app is not called. The unsigned, opt-in ones are in ``subscriptions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, Credential, Response, single_header
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._parse import (
    CHALLENGE_OK,
    JSON_TYPE,
    NO_STORE,
    TEXT_TYPE,
    json_object,
)

if TYPE_CHECKING:
    from webhook_guard.providers._base import Family

__all__ = (
    "DiscordPing",
    "Handshake",
    "OktaChallenge",
    "SlackChallenge",
    "TwitchChallenge",
    "ZoomValidation",
    "answered",
)

#: Handshake bodies are small; larger bodies are never parsed for one.
MAX_HANDSHAKE_BODY = 16 * 1024
#: Slack's url_verification and ssl_check are a few hundred bytes: an event body larger
#: than this is not even searched for them.
_SLACK_HANDSHAKE = 1024
_BAD_REQUEST = Check(Reason.BAD_REQUEST)


def answered(
    result: Check | None, response: Response, handshake: str, key_id: str | None = None, **extra: Any
) -> Check:
    """A verified ``Check`` answering handshake ``handshake`` with ``response``."""
    return Check(
        Reason.VERIFIED,
        key_id=result.key_id if result is not None else key_id,
        timestamp=result.timestamp if result is not None else None,
        message_id=result.message_id if result is not None else None,
        details={"handshake": handshake, **extra},
        response=response,
    )


class Handshake:
    """A provider's subscription check (see the module docstring).

    :param option: the factory keyword that turns it on (None: always on).
    :param default: whether it is on when ``option`` is not given.
    """

    #: Whether the provider signs it (then it is answered only after verification).
    signed = True
    #: Credentials it needs (Meta's verify_token).
    credentials: tuple[Credential, ...] = ()
    #: What the provider sends (the README's handshake table).
    label = ""
    #: Whether ``before`` looks at requests (unsigned handshakes); signed ones only
    #: answer after verification.
    looks_before = False
    #: The README's description (the provider table).
    summary = ""

    def __init__(self, *, option: str | None = None, default: bool = True) -> None:
        self.option = option
        self.default = default

    def option_names(self) -> tuple[str, ...]:
        return (self.option,) if self.option is not None else ()

    def table(self) -> tuple[str, str, str]:
        """(default, what the provider sends, when it is answered): the README's table."""
        if self.option is None:
            default = "on"
        elif self.default:
            default = f"on (`{self.option}=False` turns it off)"
        else:
            default = f"off: `{self.option}=True`"
        answered = (
            "after the signature verifies"
            if self.signed
            else "unsigned by the provider: turn it on while subscribing, then off"
        )
        return default, self.label, answered

    def configure(self, scheme: Family, options: dict[str, Any]) -> Handshake | None:
        """This handshake for a route (None when the route turns it off)."""
        if self.option is None:
            return self
        value = options.pop(self.option, None)
        on = self.default if value is None else bool(value)
        setattr(scheme, self.option, on)
        return self if on else None

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        """The answer to an unsigned handshake, a refusal, or None (verify as usual)."""
        return None

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        """``result`` (verified), or the handshake's answer."""
        return result

    def describe(self) -> dict[str, Any]:
        return {}


# -- signed: answered after verification -----------------------------------------------------------


class SlackChallenge(Handshake):
    """Slack's ``url_verification`` (answered ``{"challenge": ..}``) and ``ssl_check=1``
    (answered 200, empty), both signed."""

    label = "`url_verification`, `ssl_check`"
    summary = (
        '`url_verification` answered `{"challenge": ..}`, `ssl_check=1` answered 200 empty,'
        " both only after verification"
    )

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        body = request.body
        # Both handshakes are small and name themselves literally: look before parsing
        # (parsing every verified event would cost more than its HMAC).
        if len(body) > _SLACK_HANDSHAKE or (
            b"url_verification" not in body and b"ssl_check" not in body
        ):
            return result
        if body[:1] == b"{":
            data = json_object(body)
            if data is None or data.get("type") != "url_verification":
                return result
            challenge = data.get("challenge")
            if not isinstance(challenge, str) or not challenge or len(challenge) > 256:
                return _BAD_REQUEST
            answer = json.dumps({"challenge": challenge}).encode()
            return answered(result, (200, JSON_TYPE, answer), "url_verification")
        try:
            form = parse_qsl(body.decode("ascii"), max_num_fields=64)
        except (UnicodeDecodeError, ValueError):
            return result
        if ("ssl_check", "1") in form:
            return answered(result, (200, (), b""), "ssl_check")
        return result


class ZoomValidation(Handshake):
    """Zoom's ``endpoint.url_validation``: ``{"plainToken", "encryptedToken": hex(HMAC(
    secret, plainToken))}``, only after the request itself verifies (no signing oracle)."""

    label = "`endpoint.url_validation`"
    summary = (
        '`endpoint.url_validation` answered `{"plainToken", "encryptedToken"}` only after'
        " the request verifies (no signing oracle)"
    )

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        if b"endpoint.url_validation" not in request.body:
            return result  # not one: no need to parse the event
        data = json_object(request.body, limit=MAX_HANDSHAKE_BODY)
        if data is None or data.get("event") != "endpoint.url_validation":
            return result
        payload = data.get("payload")
        token = payload.get("plainToken") if isinstance(payload, Mapping) else None
        if not isinstance(token, str) or not token or len(token) > 256:
            return _BAD_REQUEST
        key = next((k for k in keys if k.key_id == result.key_id), None)
        if key is None:  # pragma: no cover - the key just verified the request
            return Check(Reason.BAD_SIGNATURE)
        encrypted = key.mac("sha256", token.encode("utf-8")).hex()
        body = json.dumps({"plainToken": token, "encryptedToken": encrypted}).encode()
        return answered(result, (200, JSON_TYPE, body), "url_validation")


class TwitchChallenge(Handshake):
    """Twitch EventSub's ``webhook_callback_verification``: the raw challenge as
    text/plain, after verification; ``revocation`` and ``notification`` reach the app."""

    TYPE = "Twitch-Eventsub-Message-Type"
    label = "`webhook_callback_verification`"
    summary = (
        "`webhook_callback_verification` answered with the raw challenge (text/plain) after"
        " verification"
    )

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        kind, ok = single_header(request.headers, self.TYPE)
        if not ok:
            return _BAD_REQUEST
        if kind != "webhook_callback_verification":
            return result
        data = json_object(request.body, limit=MAX_HANDSHAKE_BODY)
        challenge = data.get("challenge") if data is not None else None
        if not isinstance(challenge, str) or not challenge or len(challenge) > 1024:
            return _BAD_REQUEST
        response = (200, TEXT_TYPE, challenge.encode("utf-8"))
        return answered(result, response, "webhook_callback_verification")


class DiscordPing(Handshake):
    """Discord's PING: interactions (``{"type": 1}``) answered ``{"type":1}``; Webhook
    Events (``kind="events"``, ``type`` 0) answered 204. Both after verification."""

    label = "PING"
    summary = 'PING answered `{"type":1}` after verification (on by default)'

    def option_names(self) -> tuple[str, ...]:
        return ("kind",)

    def configure(self, scheme: Family, options: dict[str, Any]) -> Handshake:
        kind = options.pop("kind", None) or "interactions"
        if kind not in ("interactions", "events"):
            from webhook_guard.exceptions import ConfigurationError

            raise ConfigurationError(
                f"discord: kind must be 'interactions' or 'events', not {kind!r}",
                code="webhook_guard.E004",
            )
        scheme.kind = kind  # type: ignore[attr-defined]
        return self

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        body = request.body
        if len(body) > MAX_HANDSHAKE_BODY or not body.lstrip().startswith(b"{"):
            return result
        data = json_object(body)
        kind = data.get("type") if data is not None else None
        if type(kind) is not int:  # bool is an int subclass, and not a type
            return result
        response: Response
        if scheme.kind == "interactions" and kind == 1:  # type: ignore[attr-defined]
            response = (200, JSON_TYPE, b'{"type":1}')  # PONG
        elif scheme.kind == "events" and kind == 0:  # type: ignore[attr-defined]
            response = (204, (), b"")
        else:
            return result
        return answered(result, response, "ping")


class OktaChallenge(Handshake):
    """Okta's one-time ``X-Okta-Verification-Challenge`` GET, answered
    ``{"verification": ..}`` once the static authorization header verifies."""

    HEADER = "X-Okta-Verification-Challenge"
    label = "`X-Okta-Verification-Challenge` GET"
    summary = (
        "one-time `X-Okta-Verification-Challenge` GET answered `{\"verification\": ..}` after"
        " the token verifies (on by default)"
    )

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        if request.method != "GET":
            return result
        challenge, ok = single_header(request.headers, self.HEADER)
        if challenge is None:
            return result
        if not ok or not CHALLENGE_OK(challenge):
            return _BAD_REQUEST
        body = json.dumps({"verification": challenge}).encode("ascii")
        headers = JSON_TYPE + NO_STORE
        return answered(result, (200, headers, body), "okta-verification")
