"""The contract every provider scheme implements, and the strict parsers they share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

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
    "parse_timestamp",
    "single_header",
    "validate_window",
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


@dataclass(frozen=True, slots=True)
class Check:
    """A scheme's answer for one request.

    :param reason: ``Reason.VERIFIED`` or why not.
    :param key_id: the key that verified the request.
    :param replay_material: signed bytes identifying this delivery (None: no replay key).
    """

    reason: Reason
    key_id: str | None = None
    replay_material: bytes | None = None
    timestamp: int | None = None
    message_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    #: A handshake answer ``(status, headers, body)`` sent by the guard itself after
    #: verification (Slack url_verification, Zoom url_validation, ...); the app is not called.
    response: Response | None = None


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
