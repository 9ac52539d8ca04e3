"""The strict shared parsers: parse_timestamp, check_window, single_header."""

from __future__ import annotations

import math

import pytest

from webhook_guard.core.request import Headers
from webhook_guard.core.scheme import (
    MAX_HEADER_LENGTH,
    MAX_TIMESTAMP_DIGITS,
    check_window,
    parse_timestamp,
    single_header,
)
from webhook_guard.core.verdict import Reason


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        pytest.param("0", 0, id="zero"),
        pytest.param("1531420618", 1531420618, id="seconds"),
        pytest.param("1577262236757", 1577262236757, id="millis"),
        pytest.param("0100", 100, id="leading-zero"),
        pytest.param("9" * MAX_TIMESTAMP_DIGITS, int("9" * MAX_TIMESTAMP_DIGITS), id="max-digits"),
    ],
)
def test_parse_timestamp_accepts_ascii_digits(raw: str, value: int) -> None:
    assert parse_timestamp(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param(" 1531420618", id="leading-space"),
        pytest.param("1531420618 ", id="trailing-space"),
        pytest.param("1531420618\n", id="trailing-newline"),
        pytest.param("\t1531420618", id="tab"),
        pytest.param("+1531420618", id="plus"),
        pytest.param("-1531420618", id="minus"),
        pytest.param("1_531_420_618", id="underscores"),
        pytest.param("\u0661\u0665\u0663\u0661", id="arabic-indic-digits"),
        pytest.param("\u06f1\u06f5", id="extended-arabic-indic"),
        pytest.param("\uff11\uff15", id="fullwidth-digits"),
        pytest.param("153142061\u00b2", id="superscript-two"),
        pytest.param("\u00b2", id="superscript-only"),
        pytest.param("nan", id="nan"),
        pytest.param("NaN", id="nan-upper"),
        pytest.param("inf", id="inf"),
        pytest.param("1e9", id="exponent"),
        pytest.param("1.5", id="fraction"),
        pytest.param("1531420618.0", id="float-form"),
        pytest.param("0x10", id="hex"),
        pytest.param("1" * (MAX_TIMESTAMP_DIGITS + 1), id="too-long"),
        pytest.param("1" * 5000, id="way-too-long"),
        pytest.param("12\x0034", id="nul"),
        pytest.param("1531420618, 1531420618", id="wsgi-joined"),
    ],
)
def test_parse_timestamp_rejects(raw: str) -> None:
    assert parse_timestamp(raw) is None


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("ts", "past", "future", "reason"),
    [
        pytest.param(NOW, 300, 300, None, id="now"),
        pytest.param(NOW - 300, 300, 300, None, id="exactly-past-edge"),
        pytest.param(NOW - 300.001, 300, 300, Reason.STALE_TIMESTAMP, id="past-edge-plus-1ms"),
        pytest.param(NOW - 301, 300, 300, Reason.STALE_TIMESTAMP, id="past-edge-plus-1s"),
        pytest.param(NOW + 300, 300, 300, None, id="exactly-future-edge"),
        pytest.param(NOW + 300.001, 300, 300, Reason.FUTURE_TIMESTAMP, id="future-edge-plus-1ms"),
        pytest.param(NOW + 301, 300, 300, Reason.FUTURE_TIMESTAMP, id="future-edge-plus-1s"),
        pytest.param(NOW + 30, 300, 30, None, id="separate-future-edge"),
        pytest.param(NOW + 31, 300, 30, Reason.FUTURE_TIMESTAMP, id="separate-future-beyond"),
        pytest.param(NOW, 300, 0, None, id="no-future-now"),
        pytest.param(NOW + 1, 300, 0, Reason.FUTURE_TIMESTAMP, id="no-future-one-ahead"),
        pytest.param(0, 300, 300, Reason.STALE_TIMESTAMP, id="epoch"),
        pytest.param(1e13, 300, 300, Reason.FUTURE_TIMESTAMP, id="millis-taken-as-seconds"),
    ],
)
def test_check_window(ts: float, past: float, future: float, reason: Reason | None) -> None:
    assert check_window(ts, NOW, past, future) is reason


@pytest.mark.parametrize(
    ("ts", "now", "reason"),
    [
        pytest.param(NOW, math.nan, Reason.STALE_TIMESTAMP, id="nan-clock"),
        pytest.param(math.nan, NOW, Reason.STALE_TIMESTAMP, id="nan-timestamp"),
        pytest.param(NOW, math.inf, Reason.STALE_TIMESTAMP, id="inf-clock"),
        pytest.param(NOW, -math.inf, Reason.FUTURE_TIMESTAMP, id="minus-inf-clock"),
    ],
)
def test_check_window_fails_closed_on_non_finite_values(ts: float, now: float, reason: Reason) -> None:
    # NaN compares false with everything: a naive "too old"/"too new" pair accepts it.
    assert check_window(ts, now, 300, 300) is reason


@pytest.mark.parametrize(
    ("pairs", "value", "ok"),
    [
        pytest.param([], None, True, id="absent"),
        pytest.param([("Sign", "abc")], "abc", True, id="one"),
        pytest.param([("sign", "")], "", True, id="empty-value"),
        pytest.param([("sign", "a"), ("SIGN", "b")], "a", False, id="twice"),
        pytest.param([("sign", "a"), ("sign", "a")], "a", False, id="twice-same"),
        pytest.param([("sign", "x" * MAX_HEADER_LENGTH)], "x" * MAX_HEADER_LENGTH, True, id="at-cap"),
        pytest.param([("sign", "x" * (MAX_HEADER_LENGTH + 1))], "x" * (MAX_HEADER_LENGTH + 1), False, id="over-cap"),
    ],
)
def test_single_header(pairs: list[tuple[str, str]], value: str | None, ok: bool) -> None:
    assert single_header(Headers(pairs), "sign") == (value, ok)
