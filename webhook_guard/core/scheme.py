"""The contract every provider scheme implements, and what the schemes share.

- ``Scheme``: a provider's configured verifier and signer (``check`` and ``sign``).
- ``Check`` and ``verified``: a scheme's answer for one request.
- ``try_keys``: the one loop over a route's active keys.
- ``Credential``: a credential a scheme needs besides ``secret``, declared by the scheme
  and resolved by the configuration layer (``webhook_guard.keysources``).
- Strict shared parsers: ``single_header``, ``json_event_id``; timestamps and the
  acceptance window live in ``core.timestamps`` (re-exported here).
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Callable, Mapping, Sequence
from hmac import compare_digest
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from webhook_guard.core.credentials import Credential, KeyProvider, RemoteKeys, is_reference
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import (
    MAX_TIMESTAMP_DIGITS,
    MAX_WINDOW,
    Window,
    check_window,
    parse_timestamp,
    validate_window,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = (
    "MAX_HEADER_LENGTH",
    "MAX_TIMESTAMP_DIGITS",
    "MAX_WINDOW",
    "Check",
    "Credential",
    "Response",
    "Scheme",
    "SecretRef",
    "SecretSpec",
    "SignedRequest",
    "Window",
    "check_window",
    "delivery",
    "is_reference",
    "json_event_id",
    "parse_timestamp",
    "single_header",
    "try_keys",
    "validate_window",
    "verified",
)

#: A secret reference: a literal, ``"env:NAME"``, ``"file:/path"``, or a callable
#: returning the current value(s). A list means rotation (newest first); a mapping
#: names each key (``{"2026-q4": "env:NEW", "2026-q3": "env:OLD"}``); ``RemoteKeys``
#: declares keys fetched from the URLs the sender names (AWS SNS).
SecretRef = str | bytes | Callable[[], Any]
SecretSpec = SecretRef | Sequence[SecretRef] | Mapping[str, SecretRef] | RemoteKeys | None

#: Longest header value a scheme will look at; longer values are malformed.
MAX_HEADER_LENGTH = 4096

_EMPTY: Mapping[str, Any] = MappingProxyType({})

#: An HTTP answer: status, header pairs, body.
Response = tuple[int, tuple[tuple[str, str], ...], bytes]


class Check(NamedTuple):
    """A scheme's answer for one request (an immutable record).

    :param reason: ``Reason.VERIFIED`` or why not.
    :param key_id: the key that verified the request.
    :param replay_material: signed bytes identifying this event (None: no replay key).
        The provider's signed event id where the scheme has one (a signed header);
        otherwise the identity of the signed message, never which of several
        signatures or keys matched: for HMAC schemes the MAC of the signed bytes under
        the route's *first* active key, computed whichever key matched.
    :param timestamp: the signed timestamp, in the provider's unit.
    :param message_id: the provider's signed event id, when a signed header carries it.
    :param details: provider-specific extras for the verdict.
    :param response: a handshake answer ``(status, headers, body)`` sent by the guard
        itself after verification (Slack url_verification, Zoom url_validation, ...); the
        app is not called.
    """

    reason: Reason
    key_id: str | None = None
    replay_material: bytes | None = None
    timestamp: int | None = None
    message_id: str | None = None
    details: Mapping[str, Any] = _EMPTY
    response: Response | None = None


_new_check = tuple.__new__
_VERIFIED = Reason.VERIFIED
_BAD_SIGNATURE = Check(Reason.BAD_SIGNATURE)


def verified(
    key_id: str | None,
    material: bytes | None,
    timestamp: int | None = None,
    message_id: str | None = None,
) -> Check:
    """A verified ``Check``, built without keyword parsing (the hot path)."""
    return _new_check(Check, (_VERIFIED, key_id, material, timestamp, message_id, _EMPTY, None))


def try_keys(
    keys: KeySet,
    expected: Callable[[Secret, Any], bytes | str | None],
    message: Any,
    received: bytes | str | Sequence[bytes | str],
    timestamp: int | None = None,
    message_id: str | None = None,
    material: bytes | None = None,
    every: bool = False,  # noqa: FBT001, FBT002 - positional on the hot path
) -> Check:
    """Try every active key of a route: the one loop over ``keys``.

    ``expected(key, message)`` is the canonical signature under ``key`` (None when the key
    cannot verify anything, e.g. a malformed public key), compared in constant time with
    ``received``: one signature, or a list of candidates (each compared, no early exit on
    the attacker's order). The first matching key verifies.

    Returns the verified ``Check`` with the matched key's id and the message's identity:
    ``material`` when given (a signed event id), else the expected signature under the
    route's *first* key whichever key matched, so a copy signed with another key, or
    carrying a subset of the signatures, is the same message. Otherwise ``bad_signature``.

    ``every`` compares every key even after a match (static tokens: the timing does not
    say which of a route's tokens was presented).
    """
    identity: Any = None
    matched = None
    single = received.__class__ is str or received.__class__ is bytes
    if received.__class__ is str and not received.isascii():
        return _BAD_SIGNATURE  # compare_digest raises on non-ASCII text
    for key in keys:
        value = expected(key, message)
        if value is None:
            continue
        if identity is None:
            identity = value
        if single:
            found = compare_digest(value, received)  # type: ignore[arg-type]
        else:
            found = False
            for candidate in received:
                if candidate.__class__ is bytes or candidate.isascii():  # type: ignore[union-attr]
                    found |= compare_digest(value, candidate)  # type: ignore[arg-type]
        if found and matched is None:
            matched = key
            if not every:
                break
    if matched is None:
        return _BAD_SIGNATURE
    key = matched
    if material is None:
        material = identity.encode("ascii") if identity.__class__ is str else identity
    return _new_check(
        Check, (_VERIFIED, key.key_id, material, timestamp, message_id, _EMPTY, None)
    )


class Scheme(abc.ABC):
    """A provider's verification scheme. Subclasses are configured once, then shared.

    - ``check`` must be total: any request gives a ``Check``, never an exception.
    - ``sign`` produces the request a genuine sender would send (for tests and the CLI):
      ``sign(body, *, secret, timestamp=None, url=None, **options) -> SignedRequest``,
      with ``timestamp`` in seconds and, for asymmetric schemes, the private key as
      ``secret``.
    """

    #: Registry name, e.g. ``"github"``.
    name: str = ""
    #: Whether the signature covers the body.
    body_signed: bool = True
    #: Whether routes using this scheme need a secret.
    needs_secret: bool = True
    #: Whether the scheme signs the public URL (the adapter then fills ``request.url``).
    needs_url: bool = False
    #: Whether authentication failures carry the JSON reason body. Providers that check
    #: the refusal itself (Xero's "intent to receive" wants a 401 with an empty body) set
    #: this to False; the status and the logged reason are unchanged.
    refusal_body: bool = True
    #: The status of authentication failures when the route sets none (None: 401), or
    #: one per reason (the reasons it does not name: 401).
    refusal_status: int | Mapping[Reason, int] | None = None
    #: Where the provider's event id sits in the signed JSON body (a key path such as
    #: ``("id",)`` for Stripe or ``("event", "id")`` for PagerDuty). After verification
    #: it becomes the verdict's ``message_id`` and the replay key, so the provider's
    #: retries (same event, new timestamp and signature) are duplicates. A body without
    #: it falls back to the identity of the signed message.
    event_id: tuple[str, ...] | None = None
    #: Seconds the provider keeps retrying a failed delivery (its documentation); a
    #: processed event's replay key is kept at least this long. None: the guard's default.
    retry_horizon: float | None = None
    #: The largest payload the provider documents, the route's default body limit when
    #: neither the route nor the guard sets one (None: the guard's default, 1 MiB).
    max_body: int | None = None
    #: How the sender writes its signed timestamp: ``"s"``, ``"ms"``, ``"rfc3339"``, or
    #: None when none is signed.
    timestamp_unit: str | None = None
    #: An opt-in legacy scheme: why it is weak (warned about when a guard uses it).
    legacy: str | None = None
    #: Credentials besides ``secret`` (see ``Credential``).
    credentials: tuple[Credential, ...] = ()

    def __init__(self, *, secret: SecretSpec) -> None:
        self.secret = secret
        self._credentials: dict[str, KeySet | KeyProvider | None] = {}
        self._references: dict[str, Any] = {}

    @abc.abstractmethod
    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        """Verify ``request`` with ``keys`` at time ``now`` (seconds since the epoch)."""

    @abc.abstractmethod
    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
    ) -> SignedRequest:
        """The request that makes ``body`` verify under ``secret`` (``timestamp`` in
        seconds, default now; ``url`` the public URL for URL-signed schemes). Schemes
        add their own keyword options (a ``message_id``, a ``nonce``, ``content_type``)."""

    def validate(self) -> None:  # noqa: B027 - optional hook
        """Raise ``ConfigurationError`` for invalid options (called at start-up)."""

    def replay_ttl(self) -> float | None:
        """How long replay keys must live; None when the route's own TTL applies."""
        return None

    def check_secret(self, value: bytes) -> str | None:
        """Why ``value`` cannot be a key of this scheme (e.g. a ``whsec_`` secret that is
        not base64), or None. Called at start-up for every configured key, so a key that
        would verify nothing is a configuration error, not a 401 on every request."""
        return None

    # -- credentials besides ``secret`` ------------------------------------------------

    def take_credentials(self, given: Mapping[str, Any]) -> None:
        """Record the declared credentials from the factory's keywords: literals are
        checked and used as given, references left to ``bind`` (E003 when a required one
        is missing, E002 when a literal is malformed)."""
        for credential in self.credentials:
            value = given.get(credential.name)
            if value is None:
                if credential.required:
                    raise ConfigurationError(
                        f"{self.name}: {credential.name}= is required ({credential.what})",
                        code="webhook_guard.E003",
                    )
                continue
            if is_reference(value):
                self._references[credential.name] = value
                self._credentials[credential.name] = None
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            keys = []
            for index, item in enumerate(values):
                raw = item.encode("utf-8") if isinstance(item, str) else item
                problem = self.credential_problem(credential.name, raw)
                if problem is not None:
                    raise ConfigurationError(f"{self.name}: {problem}", code="webhook_guard.E002")
                keys.append(Secret(raw, key_id=f"{credential.name}#{index}"))
            self._credentials[credential.name] = KeySet(keys)

    def credential_problem(self, name: str, value: bytes) -> str | None:
        """Why ``value`` cannot be credential ``name`` (None when it can)."""
        credential = next(c for c in self.credentials if c.name == name)
        if not value.strip():
            return f"{credential.what} ({name}=) is empty"
        problem = credential.check(value) if credential.check is not None else None
        return None if problem is None else f"{credential.what} ({name}=): {problem}"

    def references(self) -> dict[str, Any]:
        """The credentials still to be resolved by the configuration layer, by name."""
        return dict(self._references)

    def bind(self, name: str, keys: KeySet | KeyProvider) -> None:
        """Give credential ``name`` its resolved keys (or a source of its current ones)."""
        self._credentials[name] = keys
        self._references.pop(name, None)

    def credential(self, name: str) -> KeySet:
        """The current values of credential ``name`` (empty when unset or unresolved)."""
        value = self._credentials.get(name)
        if value is None:
            return _NO_KEYS
        if isinstance(value, KeySet):
            return value
        return value.current()

    def has_credential(self, name: str) -> bool:
        """Whether credential ``name`` was configured."""
        return name in self._credentials

    # -- introspection ---------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The scheme's public options as plain data (never secrets)."""
        return {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_")
            and k != "secret"
            and isinstance(v, (str, int, float, bool, type(None)))
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} scheme {self.name!r}>"


_NO_KEYS = KeySet(())


def single_header(headers: Headers, name: str) -> tuple[str | None, bool]:
    """The one value of a security header: ``(value, ok)``.

    ``ok`` is False when the header repeats (ASGI shows both; WSGI servers join them
    with ``,``, which each scheme's grammar then rejects) or is longer than the cap.
    """
    values = headers.getlist(name)
    if not values:
        return None, True
    if len(values) > 1 or len(values[0]) > MAX_HEADER_LENGTH:
        return values[0], False
    return values[0], True


#: Longest event id taken from a body; longer values are not an identity.
MAX_EVENT_ID = 256
# Stripe-style bodies open with the event id: ``{"id": "evt_..."`` (the first key of the
# top-level object), read without parsing the rest.
_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*"([\x21\x23-\x5b\x5d-\x7e]{1,256})"[\s,}]')


def json_event_id(body: bytes, path: tuple[str, ...]) -> str | None:
    """The event id at key ``path`` of a JSON object body, or None (never raises).

    Only printable ASCII strings (or integers) of at most ``MAX_EVENT_ID`` characters
    count. Call it on *verified* bodies only: the id is trusted because the body is signed.
    """
    if path == ("id",):
        m = _LEADING_ID.match(body)
        if m is not None:
            return m.group(1).decode("ascii")
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    if isinstance(data, int) and not isinstance(data, bool):
        data = str(data)
    if (
        isinstance(data, str)
        and 0 < len(data) <= MAX_EVENT_ID
        and data.isascii()
        and data.isprintable()
    ):
        return data
    return None


S = TypeVar("S", bound=Scheme)


def delivery(
    scheme: S, *, event_id: tuple[str, ...] | None = None, retry_horizon: float | None = None
) -> S:
    """``scheme`` with its provider's delivery facts: where the signed event id sits in
    the body, and how long the provider retries (see ``Scheme.event_id`` and
    ``Scheme.retry_horizon``)."""
    if event_id is not None:
        scheme.event_id = event_id
    if retry_horizon is not None:
        scheme.retry_horizon = retry_horizon
    return scheme
