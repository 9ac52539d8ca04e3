"""Unsigned subscription checks: opt-in handshakes answered before verification.

The provider does not sign these requests, so answering them proves nothing about the
sender: each is off unless the route turns it on (``answer_challenge=True``,
``handshake=True``, ...) or configures the credential it checks (Meta's
``verify_token``). Turn them on while creating the subscription, then off.
"""

from __future__ import annotations

from hmac import compare_digest
from typing import TYPE_CHECKING, Any

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, Credential, single_header
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._parse import (
    CHALLENGE_OK,
    ECHO_TYPE,
    NO_STORE,
    json_object,
    one_query,
)
from webhook_guard.providers.handshakes import Handshake, answered

if TYPE_CHECKING:
    from webhook_guard.providers._base import Family

__all__ = (
    "HeadProbe",
    "HeaderEcho",
    "HubChallenge",
    "NotionVerification",
    "QueryEcho",
    "ValidationEcho",
)

_BAD_REQUEST = Check(Reason.BAD_REQUEST)



class QueryEcho(Handshake):
    """``GET ?<param>=<challenge>`` echoed as text/plain (Dropbox; opt-in: unsigned)."""

    signed = False
    looks_before = True

    def __init__(self, param: str, *, option: str, summary: str = "") -> None:
        super().__init__(option=option, default=False)
        self.param = param
        self.summary = summary
        self.label = f"`GET ?{param}=`"

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if request.method != "GET" or request.body or scheme.signature_present(request):
            return None
        challenge, ok = one_query(request, self.param)
        if challenge is None:
            return None
        if not ok or not CHALLENGE_OK(challenge):
            return _BAD_REQUEST
        return answered(None, (200, ECHO_TYPE, challenge.encode("ascii")), self.param)


class HeaderEcho(Handshake):
    """The first request's ``<header>`` echoed back in the same header (Asana; opt-in)."""

    signed = False
    looks_before = True

    def __init__(self, header: str, *, option: str, detail: str, summary: str = "") -> None:
        super().__init__(option=option, default=False)
        self.header = header
        self.detail = detail
        self.summary = summary
        self.label = f"`{header}`"

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if scheme.signature_present(request):
            return None
        value, ok = single_header(request.headers, self.header)
        if value is None:
            return None
        if not ok or not CHALLENGE_OK(value):
            return _BAD_REQUEST
        return answered(
            None, (200, ((self.header, value),), b""), self.header.lower(), **{self.detail: value}
        )


class NotionVerification(Handshake):
    """Notion's one-time unsigned ``{"verification_token": ..}`` POST, answered 200 with
    the token in ``verdict.details["verification_token"]`` (opt-in)."""

    signed = False
    looks_before = True
    label = '`{"verification_token": ..}` POST'
    summary = (
        'one-time unsigned `verification_token` POST answered 200 with `verification=True`'
        ' (opt-in; the token is in `verdict.details["verification_token"]`)'
    )

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if request.method != "POST" or scheme.signature_present(request):
            return None
        if len(request.body) > 4096:
            return None
        data = json_object(request.body, limit=4096, unique=True)
        if data is None or set(data) != {"verification_token"}:
            return None
        token = data["verification_token"]
        if not isinstance(token, str) or not CHALLENGE_OK(token):
            return _BAD_REQUEST
        return answered(
            None, (200, NO_STORE, b""), "verification_token", verification_token=token
        )


class HeadProbe(Handshake):
    """Mandrill's and Trello's unsigned ``HEAD`` "does this URL exist" probe: an empty 200
    (opt-in)."""

    signed = False
    looks_before = True
    label = "`HEAD` probe"
    summary = "`HEAD` probe answered 200 only with `answer_head=True` (unsigned; off by default)"

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if request.method != "HEAD" or request.body or scheme.signature_present(request):
            return None
        return answered(None, (200, (), b""), "head")


class HubChallenge(Handshake):
    """Meta's ``GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..``: answered
    with the challenge when ``verify_token`` is configured and matches (constant time)."""

    signed = False
    looks_before = True
    credentials = (Credential("verify_token", "the subscription's verify token", required=False),)
    label = "`hub.challenge` GET"
    summary = (
        "`GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..` answered with the"
        " challenge (text/plain, nosniff) when `verify_token=` (literal, `env:` or `file:`) is"
        " set and matches (constant time); otherwise such a GET is rejected"
    )

    def table(self) -> tuple[str, str, str]:
        return "off: set `verify_token=`", self.label, "when the verify token matches (constant time)"

    def configure(self, scheme: Family, options: dict[str, Any]) -> Handshake:
        scheme.answers_subscription = options.get("verify_token") is not None  # type: ignore[attr-defined]
        return self

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if request.method != "GET" or "hub." not in request.query:
            return None
        tokens = scheme.credential("verify_token")
        if not tokens:
            return Check(Reason.MISSING_SIGNATURE)
        mode, ok_mode = one_query(request, "hub.mode")
        token, ok_token = one_query(request, "hub.verify_token")
        challenge, ok_challenge = one_query(request, "hub.challenge")
        if token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok_token:
            return Check(Reason.MALFORMED_SIGNATURE)
        presented = token.encode("utf-8", "surrogatepass")
        if not any(compare_digest(presented, t.value) for t in tokens):
            return Check(Reason.BAD_SIGNATURE)
        if (
            mode != "subscribe"
            or not ok_mode
            or challenge is None
            or not ok_challenge
            or not CHALLENGE_OK(challenge)
            or request.body
        ):
            return _BAD_REQUEST
        return answered(
            None, (200, ECHO_TYPE, challenge.encode("ascii")), "hub.challenge", "verify_token"
        )


class ValidationEcho(Handshake):
    """Microsoft Graph's endpoint validation: ``POST ?validationToken=<token>`` (the body,
    normally empty, is never given to the app), answered 200 with the decoded token as text/plain within 10 seconds (opt-in: unsigned;
    Graph sends it when a subscription is created or its URL changes)."""

    signed = False
    looks_before = True
    label = "`?validationToken=` POST"
    summary = (
        "`?validationToken=` answered with the decoded token (text/plain, nosniff) with"
        " `answer_validation=True` (opt-in, unsigned: enable while creating the subscription)"
    )

    def before(self, scheme: Family, request: WebhookRequest, keys: KeySet) -> Check | None:
        if "validationToken" not in request.query:
            return None
        token, ok = one_query(request, "validationToken")
        if token is None:
            return None
        if not ok or not token.isprintable() or not 0 < len(token) <= 1024:
            return _BAD_REQUEST
        return answered(None, (200, ECHO_TYPE, token.encode("utf-8")), "validationToken")
