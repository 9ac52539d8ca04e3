"""The contract every provider scheme implements, and the strict parsers they share."""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = (
    "MAX_HEADER_LENGTH",
    "Check",
    "Response",
    "Scheme",
    "SecretRef",
    "WindowedScheme",
    "check_window",
    "delivery",
    "json_event_id",
    "parse_timestamp",
    "single_header",
    "validate_window",
    "verified",
)

#: A secret reference: a literal, ``"env:NAME"``, ``"file:/path"``, or a callable
#: returning the current value(s). A list means rotation (newest first); a mapping
#: names each key (``{"2026-q4": "env:NEW", "2026-q3": "env:OLD"}``).
SecretRef = str | bytes | Callable[[], Any]
SecretSpec = SecretRef | Sequence[SecretRef] | Mapping[str, SecretRef] | None

#: Longest header value a scheme will look at; longer values are malformed.
MAX_HEADER_LENGTH = 4096
#: Longest timestamp accepted, in digits (milliseconds until the year 2286 fit in 13).
MAX_TIMESTAMP_DIGITS = 16

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


def verified(
    key_id: str | None,
    material: bytes | None,
    timestamp: int | None = None,
    message_id: str | None = None,
) -> Check:
    """A verified ``Check``, built without keyword parsing (the hot path)."""
    return _new_check(Check, (_VERIFIED, key_id, material, timestamp, message_id, _EMPTY, None))


class Scheme(abc.ABC):
    """A provider's verification scheme. Subclasses are configured once, then shared.

    - ``check`` must be total: any request gives a ``Check``, never an exception.
    - ``sign`` produces the headers a genuine sender would send (for tests and the CLI).
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
    #: Where the provider's event id sits in the signed JSON body (a key path such as
    #: ``("id",)`` for Stripe or ``("event", "id")`` for PagerDuty). After verification
    #: it becomes the verdict's ``message_id`` and the replay key, so the provider's
    #: retries (same event, new timestamp and signature) are duplicates. A body without
    #: it falls back to the identity of the signed message.
    event_id: tuple[str, ...] | None = None
    #: Seconds the provider keeps retrying a failed delivery (its documentation); a
    #: processed event's replay key is kept at least this long. None: the guard's default.
    retry_horizon: float | None = None

    def __init__(self, *, secret: SecretSpec) -> None:
        self.secret = secret

    @abc.abstractmethod
    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        """Verify ``request`` with ``keys`` at time ``now`` (seconds since the epoch)."""

    @abc.abstractmethod
    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """Headers that make ``body`` verify under ``secret`` (``timestamp`` in seconds)."""

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


def parse_timestamp(raw: str) -> int | None:
    """Strict timestamp parser: ASCII digits only, bounded length, else None.

    ``int()`` would accept whitespace, signs, underscores and non-ASCII digits; ``float()``
    accepts ``nan``. Neither is used on the raw header.
    """
    if not raw or len(raw) > MAX_TIMESTAMP_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def check_window(ts_seconds: float, now: float, past: float, future: float) -> Reason | None:
    """``None`` when ``now - past <= ts <= now + future`` (both ends inclusive)."""
    # Written so that every comparison with NaN (a broken clock) fails closed.
    if not ts_seconds >= now - past:
        return Reason.STALE_TIMESTAMP
    if not ts_seconds <= now + future:
        return Reason.FUTURE_TIMESTAMP
    return None


#: Longest window a scheme accepts, in seconds, in either direction.
MAX_WINDOW = 86400.0


def validate_window(name: str, window: float, future_window: float | None) -> None:
    """Raise ``ConfigurationError`` (E005) unless ``0 < window <= 1 day`` and
    ``0 <= future_window <= 1 day``."""
    if not (
        0 < window <= MAX_WINDOW and future_window is not None and 0 <= future_window <= MAX_WINDOW
    ):
        raise ConfigurationError(
            f"{name}: window must be in (0, 86400] and future_window in [0, 86400]",
            code="webhook_guard.E005",
        )


class WindowedScheme(Scheme):
    """A scheme with a signed timestamp that must lie at most ``window`` seconds in the past
    and ``future_window`` seconds ahead (default: ``window``). Replay keys live as long as
    a timestamp stays acceptable.

    Subclasses set ``default_window`` and call ``fresh`` on the timestamp header.
    """

    #: Seconds a timestamp may be old when the route sets no ``window``.
    default_window: float = 300.0

    def __init__(
        self,
        *,
        secret: SecretSpec,
        window: float | None = None,
        future_window: float | None = None,
    ) -> None:
        super().__init__(secret=secret)
        self.window = float(self.default_window if window is None else window)
        self.future_window = float(self.window if future_window is None else future_window)
        self.validate()

    def validate(self) -> None:
        validate_window(self.name, self.window, self.future_window)

    def replay_ttl(self) -> float | None:
        return self.window + self.future_window

    def fresh(
        self, headers: Headers, name: str, parse: Callable[[str], float | None], now: float
    ) -> tuple[str, float] | Check:
        """``(raw value, seconds)`` of the one timestamp header ``name`` parsed by ``parse``
        (seconds since the epoch, None when malformed) if it is within the window; else the
        refusal as a ``Check``."""
        raw, ok = single_header(headers, name)
        if raw is None:
            return Check(Reason.MISSING_TIMESTAMP)
        seconds = parse(raw) if ok else None
        if seconds is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = check_window(seconds, now, self.window, self.future_window)
        if late is not None:
            return Check(late)
        return raw, seconds


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
