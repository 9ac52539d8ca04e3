"""DingTalk robot callback (``dingtalk``) and per-application tokens (``dingtalk_token``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote

import pytest

from webhook_guard.core.guard import Engine, Plan
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.routes import Route
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import resolve
from webhook_guard.providers import dingtalk, dingtalk_token, get

SECRET = "SECapp-secret-value"
NOW = 1_700_000_000.0
NOW_MS = 1_700_000_000_000
BODY = b'{"msgtype": "text", "text": {"content": "hello"}}'
SCHEME = dingtalk(secret=SECRET)


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def reference_sign(secret: str, timestamp: str) -> str:
    """The documented algorithm, computed without the implementation."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def headers_at(ms: int, secret: str = SECRET) -> dict[str, str]:
    return {"timestamp": str(ms), "sign": reference_sign(secret, str(ms))}


def check(
    pairs: dict[str, str] | list[tuple[str, str]],
    *,
    body: bytes = BODY,
    key_set: KeySet | None = None,
    now: float = NOW,
    scheme: object = SCHEME,
) -> Check:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else pairs
    request = WebhookRequest(method="POST", path="/hooks/dingtalk", headers=Headers(items), body=body)
    return scheme.check(request, key_set if key_set is not None else keys(SECRET), now)  # type: ignore[attr-defined, no-any-return]


VALID = headers_at(NOW_MS)


# -- the happy path ------------------------------------------------------------------------


def test_sign_round_trip() -> None:
    headers = SCHEME.sign(BODY, secret=SECRET, timestamp=NOW).headers
    assert headers == VALID
    result = check(headers)
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.timestamp == NOW_MS


def test_documented_vector_via_sign() -> None:
    headers = dingtalk(secret="this is secret").sign(b"", secret="this is secret", timestamp=1577262236.757).headers
    assert headers == {"timestamp": "1577262236757", "sign": "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="}


def test_header_names_are_case_insensitive() -> None:
    assert check({"Timestamp": VALID["timestamp"], "Sign": VALID["sign"]}).reason is Reason.VERIFIED


def test_body_is_not_signed() -> None:
    # The documented weakness: any body rides on a valid pair. The verdict says so.
    assert SCHEME.body_signed is False
    assert check(VALID, body=b'{"tampered": true}').reason is Reason.VERIFIED
    assert check(VALID, body=b"").reason is Reason.VERIFIED


def test_registry_and_name() -> None:
    assert get("dingtalk") is dingtalk
    assert SCHEME.name == "dingtalk"


def test_sign_defaults_to_now() -> None:
    """The one signing interface: ``timestamp=None`` signs for the current time."""
    before = int(time.time() * 1000)
    sent = int(SCHEME.sign(BODY, secret=SECRET).headers["timestamp"])
    assert before <= sent <= int(time.time() * 1000)


# -- keys ----------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    assert check(headers_at(NOW_MS, "SECother")).reason is Reason.BAD_SIGNATURE


def test_rotation_second_key_verifies_and_is_reported() -> None:
    key_set = KeySet([Secret("SECnew", key_id="new"), Secret("SECold", key_id="old")])
    old = check(headers_at(NOW_MS, "SECold"), key_set=key_set)
    assert old.reason is Reason.VERIFIED
    assert old.key_id == "old"
    new = check(headers_at(NOW_MS, "SECnew"), key_set=key_set)
    assert new.key_id == "new"
    assert check(headers_at(NOW_MS, "SECgone"), key_set=key_set).reason is Reason.BAD_SIGNATURE


def test_the_secret_of_each_key_is_in_its_own_message() -> None:
    # sign = HMAC(key=s, msg=ts + "\n" + s): a MAC keyed with one secret over another's text fails.
    ts = str(NOW_MS)
    crossed = base64.b64encode(
        hmac.new(b"SECnew", f"{ts}\nSECold".encode(), hashlib.sha256).digest()
    ).decode()
    key_set = keys("SECnew", "SECold")
    assert check({"timestamp": ts, "sign": crossed}, key_set=key_set).reason is Reason.BAD_SIGNATURE


# -- the window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "reason"),
    [
        pytest.param(NOW_MS, Reason.VERIFIED, id="now"),
        pytest.param(NOW_MS - 180_000, Reason.VERIFIED, id="exactly-180s-old"),
        pytest.param(NOW_MS - 180_001, Reason.STALE_TIMESTAMP, id="180s-and-1ms-old"),
        pytest.param(NOW_MS + 180_000, Reason.VERIFIED, id="exactly-180s-ahead"),
        pytest.param(NOW_MS + 180_001, Reason.FUTURE_TIMESTAMP, id="180s-and-1ms-ahead"),
        pytest.param(NOW_MS - 3_600_000, Reason.STALE_TIMESTAMP, id="one-hour-old"),
        pytest.param(NOW_MS // 1000, Reason.STALE_TIMESTAMP, id="seconds-not-millis"),
        pytest.param(0, Reason.STALE_TIMESTAMP, id="epoch"),
        pytest.param(NOW_MS * 1000, Reason.FUTURE_TIMESTAMP, id="micros-not-millis"),
    ],
)
def test_default_window(ms: int, reason: Reason) -> None:
    assert check(headers_at(ms)).reason is reason


@pytest.mark.parametrize(
    ("window", "future", "ms", "reason"),
    [
        pytest.param(3600, None, NOW_MS - 3_600_000, Reason.VERIFIED, id="1h-at-edge"),
        pytest.param(3600, None, NOW_MS - 3_600_001, Reason.STALE_TIMESTAMP, id="1h-past-edge"),
        pytest.param(3600, None, NOW_MS + 3_600_000, Reason.VERIFIED, id="1h-future-edge"),
        pytest.param(3600, None, NOW_MS + 3_600_001, Reason.FUTURE_TIMESTAMP, id="1h-beyond-future"),
        pytest.param(60, 5, NOW_MS + 5_000, Reason.VERIFIED, id="separate-future-at-edge"),
        pytest.param(60, 5, NOW_MS + 5_001, Reason.FUTURE_TIMESTAMP, id="separate-future-beyond"),
        pytest.param(60, 5, NOW_MS - 60_000, Reason.VERIFIED, id="separate-past-at-edge"),
        pytest.param(60, 0, NOW_MS + 1, Reason.FUTURE_TIMESTAMP, id="no-future-allowance"),
        pytest.param(60, 0, NOW_MS, Reason.VERIFIED, id="no-future-now"),
    ],
)
def test_configured_window(window: float, future: float | None, ms: int, reason: Reason) -> None:
    scheme = dingtalk(secret=SECRET, window=window, future_window=future)
    assert check(headers_at(ms), scheme=scheme).reason is reason


@pytest.mark.parametrize(
    ("window", "future"),
    [
        pytest.param(3600.001, None, id="window-over-1h"),
        pytest.param(7200, None, id="window-2h"),
        pytest.param(0, None, id="window-zero"),
        pytest.param(-1, None, id="window-negative"),
        pytest.param(180, 3601, id="future-over-1h"),
        pytest.param(180, -1, id="future-negative"),
        pytest.param(float("nan"), None, id="window-nan"),
        pytest.param(float("inf"), None, id="window-inf"),
    ],
)
def test_invalid_window_raises(window: float, future: float | None) -> None:
    with pytest.raises(ConfigurationError) as info:
        dingtalk(secret=SECRET, window=window, future_window=future)
    assert info.value.code == "webhook_guard.E005"


def test_replay_ttl_covers_both_sides() -> None:
    assert SCHEME.replay_ttl() == 360
    assert dingtalk(secret=SECRET, window=100, future_window=10).replay_ttl() == 110


# -- header grammar ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param(" " + str(NOW_MS), id="leading-space"),
        pytest.param(str(NOW_MS) + " ", id="trailing-space"),
        pytest.param("+" + str(NOW_MS), id="plus"),
        pytest.param("-" + str(NOW_MS), id="minus"),
        pytest.param("1_700_000_000_000", id="underscores"),
        pytest.param(str(NOW_MS) + ".0", id="fraction"),
        pytest.param("1.7e12", id="exponent"),
        pytest.param("nan", id="nan"),
        pytest.param("".join(chr(0x660 + int(c)) for c in str(NOW_MS)), id="arabic-indic"),
        pytest.param(str(NOW_MS)[:-1] + "\u00b2", id="superscript"),
        pytest.param("1" * 17, id="too-long"),
        pytest.param(str(NOW_MS) + "\xff", id="latin1-byte"),
        pytest.param(f"{NOW_MS}, {NOW_MS}", id="wsgi-joined"),
    ],
)
def test_malformed_timestamp(raw: str) -> None:
    # The sign is valid for the clean value; the raw header still has to be strict digits.
    result = check({"timestamp": raw, "sign": VALID["sign"]})
    assert result.reason is Reason.MALFORMED_TIMESTAMP


def test_sign_is_over_the_raw_timestamp_string() -> None:
    # "0" + ts parses to the same number but is a different signed string.
    result = check({"timestamp": "0" + VALID["timestamp"], "sign": VALID["sign"]})
    assert result.reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        pytest.param([], Reason.MISSING_SIGNATURE, id="nothing"),
        pytest.param([("timestamp", VALID["timestamp"])], Reason.MISSING_SIGNATURE, id="no-sign"),
        pytest.param([("sign", VALID["sign"])], Reason.MISSING_TIMESTAMP, id="no-timestamp"),
        pytest.param([*VALID.items(), ("sign", VALID["sign"])], Reason.MALFORMED_SIGNATURE, id="sign-twice-same"),
        pytest.param([*VALID.items(), ("Sign", "other")], Reason.MALFORMED_SIGNATURE, id="sign-twice"),
        pytest.param(
            [*VALID.items(), ("timestamp", VALID["timestamp"])], Reason.MALFORMED_TIMESTAMP, id="timestamp-twice"
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", f"{VALID['sign']}, {VALID['sign']}")],
            Reason.MALFORMED_SIGNATURE,
            id="wsgi-joined-sign",
        ),
        pytest.param([("timestamp", VALID["timestamp"]), ("sign", "")], Reason.MALFORMED_SIGNATURE, id="empty-sign"),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", VALID["sign"][:-1] + "\xff")],
            Reason.MALFORMED_SIGNATURE,
            id="non-ascii-byte",
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", "\u00e9" * 44)], Reason.MALFORMED_SIGNATURE, id="non-ascii"
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", " " + VALID["sign"])],
            Reason.MALFORMED_SIGNATURE,
            id="leading-space",
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", VALID["sign"] + "\n")],
            Reason.MALFORMED_SIGNATURE,
            id="trailing-newline",
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", "A" * 129)], Reason.MALFORMED_SIGNATURE, id="too-long"
        ),
        pytest.param(
            [("timestamp", VALID["timestamp"]), ("sign", "A" * 5000)], Reason.MALFORMED_SIGNATURE, id="over-header-cap"
        ),
    ],
)
def test_header_rejections(pairs: list[tuple[str, str]], reason: Reason) -> None:
    assert check(pairs).reason is reason


@pytest.mark.parametrize("spelling", ["plain", "url-encoded"])
def test_truncations_never_verify(spelling: str) -> None:
    sign = VALID["sign"] if spelling == "plain" else quote(VALID["sign"], safe="")
    for n in range(len(sign)):
        result = check({"timestamp": VALID["timestamp"], "sign": sign[:n]})
        assert result.reason is not Reason.VERIFIED, n
        assert result.key_id is None


def test_extended_signature_does_not_verify() -> None:
    for extra in ("A", "=", "%3D", "=="):
        assert check({**VALID, "sign": VALID["sign"] + extra}).reason is Reason.BAD_SIGNATURE


def test_case_changes_do_not_verify() -> None:
    sign = VALID["sign"]
    for variant in (sign.upper(), sign.lower(), sign.swapcase()):
        if variant != sign:
            assert check({**VALID, "sign": variant}).reason is Reason.BAD_SIGNATURE


def test_non_canonical_base64_spelling_does_not_verify() -> None:
    # 32 bytes -> 43 symbols + "="; the last symbol carries 2 unused bits. A lenient decoder
    # maps these variants onto the same MAC; only the canonical string may verify.
    sign = VALID["sign"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(sign[42])
    variants = [sign[:42] + alphabet[(index & ~3) | low] + "=" for low in range(4)]
    assert sign in variants
    for variant in variants:
        assert base64.b64decode(variant) == base64.b64decode(sign)
        if variant != sign:
            assert check({**VALID, "sign": variant}).reason is Reason.BAD_SIGNATURE
    assert check({**VALID, "sign": sign.rstrip("=")}).reason is Reason.BAD_SIGNATURE


# -- the URL-encoded spelling --------------------------------------------------------------

VECTOR_SECRET = "this is secret"
VECTOR = {"timestamp": "1577262236757", "sign": "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="}
VECTOR_NOW = 1577262236.757


def test_url_encoded_sign_is_accepted() -> None:
    quoted = quote(VECTOR["sign"], safe="")
    assert quoted == "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D"
    plain = check(VECTOR, key_set=keys(VECTOR_SECRET), now=VECTOR_NOW)
    encoded = check({**VECTOR, "sign": quoted}, key_set=keys(VECTOR_SECRET), now=VECTOR_NOW)
    assert plain.reason is Reason.VERIFIED
    assert encoded.reason is Reason.VERIFIED
    # Both spellings are one delivery for replay protection.
    assert plain.replay_material == encoded.replay_material


@pytest.mark.parametrize(
    "sign",
    [
        pytest.param("hmPWwU%2b7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2bGs6EZQM%3d", id="lowercase-escapes"),
        pytest.param("hmPWwU%252B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%252BGs6EZQM%253D", id="double-encoded"),
        pytest.param("hmPWwU 7lVdm3ZZz0r9tSfx0L4Q26jWOZr9 Gs6EZQM=", id="plus-as-space"),
        pytest.param("hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM=", id="half-encoded"),
        pytest.param("hmPWwU-7lVdm3ZZz0r9tSfx0L4Q26jWOZr9-Gs6EZQM=", id="base64url-alphabet"),
    ],
)
def test_other_spellings_are_not_accepted(sign: str) -> None:
    result = check({**VECTOR, "sign": sign}, key_set=keys(VECTOR_SECRET), now=VECTOR_NOW)
    assert result.reason is not Reason.VERIFIED


# -- replay material -----------------------------------------------------------------------


def test_replay_material_is_the_signed_pair() -> None:
    one = check(VALID, body=b"first")
    two = check(VALID, body=b"a different body")
    other_ts = check(headers_at(NOW_MS + 1))
    assert one.replay_material is not None
    assert one.replay_material == two.replay_material
    assert one.replay_material != other_ts.replay_material


def test_replay_key_through_engine_ignores_body() -> None:
    engine = Engine([Route("/hooks/dingtalk", SCHEME)])
    plan = engine.plan(engine.match("/hooks/dingtalk"))
    assert isinstance(plan, Plan)

    def verdict(headers: dict[str, str], body: bytes) -> str | None:
        request = WebhookRequest(method="POST", path="/hooks/dingtalk", headers=Headers(headers.items()), body=body)
        result = engine.verify(plan, request, keys(SECRET), NOW)
        assert result.verified
        assert result.body_signed is False
        return result.replay_key

    assert verdict(VALID, b"one") == verdict(VALID, b"two")
    assert verdict(VALID, b"one") != verdict(headers_at(NOW_MS - 1), b"one")


# -- dingtalk_token ------------------------------------------------------------------------


def token_check(scheme: object, *, query: str = "", headers: dict[str, str] | None = None) -> Check:
    key_set = resolve({"crm": "tok-crm-123", "erp": "tok-erp-456"}, route="/t").current()
    request = WebhookRequest(
        method="POST", path="/t", headers=Headers((headers or {}).items()), query=query
    )
    return scheme.check(request, key_set, NOW)  # type: ignore[attr-defined, no-any-return]


def test_dingtalk_token_query_by_default() -> None:
    scheme = dingtalk_token(secret={"crm": "tok-crm-123", "erp": "tok-erp-456"})
    assert scheme.name == "dingtalk_token"
    assert scheme.body_signed is False
    crm = token_check(scheme, query="access_token=tok-crm-123")
    erp = token_check(scheme, query="x=1&access_token=tok-erp-456")
    assert (crm.reason, crm.key_id) == (Reason.VERIFIED, "crm")
    assert (erp.reason, erp.key_id) == (Reason.VERIFIED, "erp")
    assert token_check(scheme, query="access_token=nope").reason is Reason.BAD_SIGNATURE
    assert token_check(scheme).reason is Reason.MISSING_SIGNATURE
    assert token_check(scheme, headers={"access_token": "tok-crm-123"}).reason is Reason.MISSING_SIGNATURE
    twice = token_check(scheme, query="access_token=tok-crm-123&access_token=tok-crm-123")
    assert twice.reason is Reason.MALFORMED_SIGNATURE


def test_dingtalk_token_in_header() -> None:
    scheme = dingtalk_token(secret={"crm": "tok-crm-123"}, header="X-Token")
    assert token_check(scheme, headers={"X-Token": "tok-crm-123"}).key_id == "crm"
    assert token_check(scheme, query="access_token=tok-crm-123").reason is Reason.MISSING_SIGNATURE
