"""Signed timestamps: strict parsers per unit and the one acceptance window every scheme uses.

- ``parse_timestamp`` (seconds or milliseconds as ASCII digits) and ``parse_rfc3339``
  never raise and accept one spelling only: no whitespace, signs, underscores, non-ASCII
  digits, ``nan``, week dates or lenient ISO 8601 forms.
- ``Window`` is a route's acceptance window: ``past`` seconds back and ``future`` seconds
  ahead, both ends inclusive, failing closed on a NaN or infinite clock. It also reads a
  timestamp header (``Window.read``) and says how long a replay key must live.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from webhook_guard.core.request import Headers
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = (
    "MAX_TIMESTAMP_DIGITS",
    "MAX_WINDOW",
    "UNITS",
    "Window",
    "check_window",
    "format_rfc3339",
    "format_timestamp",
    "parse_rfc3339",
    "parse_timestamp",
    "validate_window",
)

#: Longest timestamp accepted, in digits (milliseconds until the year 2286 fit in 13).
MAX_TIMESTAMP_DIGITS = 16
#: Longest window a scheme accepts, in seconds, in either direction.
MAX_WINDOW = 86400.0

_STALE = Reason.STALE_TIMESTAMP
_FUTURE = Reason.FUTURE_TIMESTAMP
_MISSING = Reason.MISSING_TIMESTAMP
_MALFORMED = Reason.MALFORMED_TIMESTAMP


def parse_timestamp(raw: str) -> int | None:
    """Strict timestamp parser: ASCII digits only, bounded length, else None.

    ``int()`` would accept whitespace, signs, underscores and non-ASCII digits; ``float()``
    accepts ``nan``. Neither is used on the raw header.
    """
    if not raw or len(raw) > MAX_TIMESTAMP_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def _millis(raw: str) -> float | None:
    value = parse_timestamp(raw)
    return None if value is None else value / 1000


def parse_rfc3339(raw: str) -> float | None:
    """Seconds since the epoch for an RFC 3339 date-time, else None (never raises).

    Strict: ASCII digits only, upper-case ``T``/``Z``, at most 9 fractional digits, an
    explicit offset; no leap second, no lenient ISO 8601 forms (week dates, missing
    seconds, ``+0000``, spaces).
    """
    if not 20 <= len(raw) <= 40 or not raw.isascii():
        return None
    date, t, rest = raw[:10], raw[10], raw[11:]
    if t != "T" or date[4] != "-" or date[7] != "-" or rest[2:3] != ":" or rest[5:6] != ":":
        return None
    digits = (date[:4], date[5:7], date[8:10], rest[:2], rest[3:5], rest[6:8])
    if not all(d.isdigit() for d in digits):
        return None
    zone = rest[8:]
    fraction = ""
    if zone[:1] == ".":
        end = 1
        while end < len(zone) and zone[end].isdigit():
            end += 1
        fraction, zone = zone[1:end], zone[end:]
        if not 1 <= len(fraction) <= 9:
            return None
    offset = 0
    if zone != "Z":
        if len(zone) != 6 or zone[0] not in "+-" or zone[3] != ":":
            return None
        hours, minutes = zone[1:3], zone[4:6]
        if not (hours.isdigit() and minutes.isdigit()) or int(hours) > 23 or int(minutes) > 59:
            return None
        offset = (int(hours) * 3600 + int(minutes) * 60) * (1 if zone[0] == "+" else -1)
    year, month, day, hour, minute, second = map(int, digits)
    try:
        moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return moment.timestamp() - offset + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def format_rfc3339(seconds: float, *, fraction: bool = True) -> str:
    """``seconds`` as RFC 3339 UTC (``2026-01-02T03:04:05.000000Z``, or without fraction)."""
    moment = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


#: Parsers by timestamp unit: the raw header to seconds since the epoch, None when malformed.
UNITS: dict[str, Callable[[str], float | None]] = {
    "s": parse_timestamp,
    "ms": _millis,
    "rfc3339": parse_rfc3339,
}


def format_timestamp(seconds: float, unit: str) -> str:
    """``seconds`` written as a sender in ``unit`` writes it (``s``, ``ms``, ``rfc3339``)."""
    if unit == "ms":
        return str(int(seconds * 1000))
    if unit == "rfc3339":
        return format_rfc3339(seconds)
    return str(int(seconds))


def check_window(ts_seconds: float, now: float, past: float, future: float) -> Reason | None:
    """``None`` when ``now - past <= ts <= now + future`` (both ends inclusive)."""
    # Written so that every comparison with NaN (a broken clock) fails closed.
    if not ts_seconds >= now - past:
        return _STALE
    if not ts_seconds <= now + future:
        return _FUTURE
    return None


def validate_window(
    name: str,
    window: float,
    future_window: float | None,
    *,
    limit: float = MAX_WINDOW,
    code: str = "webhook_guard.E005",
) -> None:
    """Raise ``ConfigurationError`` (``code``, E005 by default) unless
    ``0 < window <= limit`` and ``0 <= future_window <= limit`` (one day at most)."""
    numbers: tuple[object, ...] = (window, future_window)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers) or not (
        0 < window <= limit and future_window is not None and 0 <= future_window <= limit
    ):
        raise ConfigurationError(
            f"{name}: window must be in (0, {limit:g}] and future_window in [0, {limit:g}]"
            " seconds",
            code=code,
        )


class Window:
    """The acceptance window of a signed timestamp (configured once per route).

    :param name: the scheme, for configuration errors.
    :param past: seconds a timestamp may lie in the past.
    :param future: seconds it may lie ahead (default: ``past``).
    :param limit: the most either side may be (one day; DingTalk: one hour).
    :param code: the configuration error id for a window out of range.
    """

    __slots__ = ("future", "past")

    def __init__(
        self,
        name: str,
        past: float,
        future: float | None = None,
        *,
        limit: float = MAX_WINDOW,
        code: str = "webhook_guard.E005",
    ) -> None:
        future = past if future is None else future
        validate_window(name, past, future, limit=limit, code=code)
        self.past = float(past)
        self.future = float(future)

    @property
    def ttl(self) -> float:
        """Seconds a replay key must live: as long as a timestamp stays acceptable."""
        return self.past + self.future

    def check(self, seconds: float, now: float) -> Reason | None:
        """None when ``seconds`` lies inside the window around ``now``, else why not."""
        if not seconds >= now - self.past:
            return _STALE
        if not seconds <= now + self.future:
            return _FUTURE
        return None

    def read(
        self, headers: Headers, name: str, parse: Callable[[str], float | None], now: float
    ) -> tuple[str, float] | Reason:
        """``(raw value, seconds)`` of the one timestamp header ``name`` when it parses and
        lies inside the window; else the reason (missing, malformed, stale, future)."""
        values = headers.getlist(name)
        if len(values) != 1:
            return _MALFORMED if values else _MISSING
        raw = values[0]
        seconds = parse(raw)
        if seconds is None:
            return _MALFORMED
        if not seconds >= now - self.past:  # NaN fails closed, as in check()
            return _STALE
        if not seconds <= now + self.future:
            return _FUTURE
        return raw, seconds

    def __repr__(self) -> str:
        return f"Window(past={self.past:g}, future={self.future:g})"
