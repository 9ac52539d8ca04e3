"""The generic configurable HMAC scheme (``hmac``) and its signed-string ``Template``."""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac
from collections.abc import Mapping
from typing import Any

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import get, hmac
from webhook_guard.providers.template import HMACScheme, Template

NOW = 1_700_000_000.0
SECRET = "generic-secret"
BODY = b'{"event": "ping"}'


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values or (SECRET,)))


def request(
    pairs: dict[str, str] | list[tuple[str, str]],
    body: bytes = BODY,
    *,
    method: str = "POST",
    path: str = "/hooks/x",
    query: str = "",
) -> WebhookRequest:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else pairs
    return WebhookRequest(method=method, path=path, query=query, headers=Headers(items), body=body)


def check(scheme: HMACScheme, pairs: Any, body: bytes = BODY, now: float = NOW, key_set: KeySet | None = None, **kw: Any) -> Check:
    return scheme.check(request(pairs, body, **kw), key_set or keys(), now)


# -- encodings and algorithms --------------------------------------------------------------


def encode(digest: bytes, encoding: str) -> str:
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64":
        return base64.b64encode(digest).decode()
    return base64.urlsafe_b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64", "base64url"])
def test_encodings_and_algorithms(algorithm: str, encoding: str) -> None:
    scheme = hmac(secret=SECRET, header="X-Signature", algorithm=algorithm, encoding=encoding, prefix="v1=")  # type: ignore[arg-type]
    expected = "v1=" + encode(std_hmac.new(SECRET.encode(), BODY, algorithm).digest(), encoding)
    assert scheme.sign(BODY, secret=SECRET) == {"X-Signature": expected}
    result = check(scheme, {"X-Signature": expected})
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "k0")
    assert check(scheme, {"X-Signature": expected}, body=BODY + b" ").reason is Reason.BAD_SIGNATURE
    assert check(scheme, {"X-Signature": expected}, key_set=keys("other")).reason is Reason.BAD_SIGNATURE
    for n in range(len(expected)):
        assert check(scheme, {"X-Signature": expected[:n]}).reason is not Reason.VERIFIED
    assert check(scheme, {"X-Signature": expected + "="}).reason is Reason.MALFORMED_SIGNATURE
    assert check(scheme, {"X-Signature": expected[:-1] + "\xff"}).reason is Reason.BAD_SIGNATURE


def find_body_with_symbols(symbols: str) -> tuple[bytes, str]:
    """A body whose base64 HMAC contains one of ``symbols`` (deterministic search, bounded)."""
    for i in range(1000):
        body = b"body-%d" % i
        text = base64.b64encode(std_hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        if any(s in text for s in symbols):
            return body, text
    raise AssertionError("no body found")


def test_base64_and_base64url_are_not_interchangeable() -> None:
    body, standard = find_body_with_symbols("+/")
    url = standard.replace("+", "-").replace("/", "_")
    std_scheme = hmac(secret=SECRET, header="X-Sig", encoding="base64")
    url_scheme = hmac(secret=SECRET, header="X-Sig", encoding="base64url")
    assert check(std_scheme, {"X-Sig": standard}, body=body).reason is Reason.VERIFIED
    assert check(std_scheme, {"X-Sig": url}, body=body).reason is Reason.BAD_SIGNATURE
    assert check(url_scheme, {"X-Sig": url}, body=body).reason is Reason.VERIFIED
    assert check(url_scheme, {"X-Sig": standard}, body=body).reason is Reason.BAD_SIGNATURE


def test_non_canonical_base64_spellings_do_not_verify() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", encoding="base64")
    sig = scheme.sign(BODY, secret=SECRET)["X-Sig"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(sig[42])
    for low in range(4):
        variant = sig[:42] + alphabet[(index & ~3) | low] + "="
        assert base64.b64decode(variant) == base64.b64decode(sig)
        expected = Reason.VERIFIED if variant == sig else Reason.BAD_SIGNATURE
        assert check(scheme, {"X-Sig": variant}).reason is expected
    assert check(scheme, {"X-Sig": sig.rstrip("=")}).reason is Reason.MALFORMED_SIGNATURE


def test_uppercase_hex_does_not_verify() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig")
    sig = scheme.sign(BODY, secret=SECRET)["X-Sig"]
    assert sig != sig.upper()
    assert check(scheme, {"X-Sig": sig.upper()}).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        pytest.param([], Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param([("X-Sig", "")], Reason.MALFORMED_SIGNATURE, id="empty"),
        pytest.param([("X-Sig", "sha256=a, sha256=b")], Reason.MALFORMED_SIGNATURE, id="wsgi-joined-short"),
        pytest.param("joined", Reason.MALFORMED_SIGNATURE, id="wsgi-joined"),
        pytest.param("twice", Reason.MALFORMED_SIGNATURE, id="twice"),
        pytest.param("no-prefix", Reason.MALFORMED_SIGNATURE, id="no-prefix"),
    ],
)
def test_header_rejections(pairs: Any, reason: Reason) -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", prefix="sha256=")
    sig = scheme.sign(BODY, secret=SECRET)["X-Sig"]
    cases = {
        "joined": [("X-Sig", f"{sig}, {sig}")],
        "twice": [("X-Sig", sig), ("x-sig", sig)],
        "no-prefix": [("X-Sig", "sha257=" + sig[7:])],
    }
    assert check(scheme, cases.get(pairs, pairs) if isinstance(pairs, str) else pairs).reason is reason


def test_rotation_second_key_verifies_and_is_reported() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig")
    key_set = KeySet([Secret("newer", key_id="new"), Secret("older", key_id="old")])
    result = check(scheme, scheme.sign(BODY, secret="older"), key_set=key_set)
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "old")


# -- templates -----------------------------------------------------------------------------

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_TS = 1531420618


def slack_like(**kw: Any) -> HMACScheme:
    return hmac(
        secret=SLACK_SECRET,
        header="X-Slack-Signature",
        prefix="v0=",
        template="v0:{timestamp}:{body}",
        timestamp_header="X-Slack-Request-Timestamp",
        **kw,
    )


def slack_check(sig: str = SLACK_SIG, ts: str = str(SLACK_TS), now: float = SLACK_TS, **kw: Any) -> Check:
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
    return check(slack_like(**kw), headers, body=SLACK_BODY, now=now, key_set=keys(SLACK_SECRET))


def test_slack_documented_vector() -> None:
    # Slack "Verifying requests from Slack" and slack-sdk's signature verifier test.
    result = slack_check()
    assert result.reason is Reason.VERIFIED
    assert result.timestamp == SLACK_TS
    assert result.replay_material == SLACK_SIG.encode()
    headers = slack_like().sign(SLACK_BODY, secret=SLACK_SECRET, timestamp=SLACK_TS)
    assert headers == {"X-Slack-Request-Timestamp": str(SLACK_TS), "X-Slack-Signature": SLACK_SIG}


@pytest.mark.parametrize(
    ("ts", "now", "reason"),
    [
        pytest.param(str(SLACK_TS), SLACK_TS + 300, Reason.VERIFIED, id="exactly-300s-old"),
        pytest.param(str(SLACK_TS), SLACK_TS + 300.001, Reason.STALE_TIMESTAMP, id="just-too-old"),
        pytest.param(str(SLACK_TS), SLACK_TS - 300, Reason.VERIFIED, id="exactly-300s-ahead"),
        pytest.param(str(SLACK_TS), SLACK_TS - 300.001, Reason.FUTURE_TIMESTAMP, id="just-too-far-ahead"),
        pytest.param(" 1531420618", SLACK_TS, Reason.MALFORMED_TIMESTAMP, id="space"),
        pytest.param("1531420618.0", SLACK_TS, Reason.MALFORMED_TIMESTAMP, id="float"),
        pytest.param("nan", SLACK_TS, Reason.MALFORMED_TIMESTAMP, id="nan"),
        pytest.param("\u0661" * 10, SLACK_TS, Reason.MALFORMED_TIMESTAMP, id="arabic-indic"),
        pytest.param("", SLACK_TS, Reason.MALFORMED_TIMESTAMP, id="empty"),
        pytest.param("01531420618", SLACK_TS, Reason.BAD_SIGNATURE, id="leading-zero-is-another-string"),
    ],
)
def test_slack_like_window_and_timestamp(ts: str, now: float, reason: Reason) -> None:
    assert slack_check(ts=ts, now=now).reason is reason


def test_missing_and_repeated_timestamp() -> None:
    scheme = slack_like()
    key_set = keys(SLACK_SECRET)
    missing = check(scheme, {"X-Slack-Signature": SLACK_SIG}, body=SLACK_BODY, now=SLACK_TS, key_set=key_set)
    assert missing.reason is Reason.MISSING_TIMESTAMP
    twice = [
        ("X-Slack-Signature", SLACK_SIG),
        ("X-Slack-Request-Timestamp", str(SLACK_TS)),
        ("X-Slack-Request-Timestamp", str(SLACK_TS)),
    ]
    assert check(scheme, twice, body=SLACK_BODY, now=SLACK_TS, key_set=key_set).reason is Reason.MALFORMED_TIMESTAMP


def test_separate_future_window() -> None:
    assert slack_check(now=SLACK_TS - 10, future_window=10).reason is Reason.VERIFIED
    assert slack_check(now=SLACK_TS - 10.5, future_window=10).reason is Reason.FUTURE_TIMESTAMP
    assert slack_like(window=60, future_window=5).replay_ttl() == 65


def test_millisecond_timestamps() -> None:
    scheme = hmac(
        secret=SECRET, header="X-Sig", template="{timestamp}.{body}", timestamp_header="X-Ts", timestamp_unit="ms", window=10
    )
    headers = scheme.sign(BODY, secret=SECRET, timestamp=NOW)
    assert headers["X-Ts"] == str(int(NOW * 1000))
    assert check(scheme, headers).reason is Reason.VERIFIED
    assert check(scheme, headers, now=NOW + 10).reason is Reason.VERIFIED
    assert check(scheme, headers, now=NOW + 10.001).reason is Reason.STALE_TIMESTAMP
    assert check(scheme, headers, now=NOW - 10.001).reason is Reason.FUTURE_TIMESTAMP


def test_id_header() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", template="{id}.{timestamp}.{body}", timestamp_header="X-Ts", id_header="X-Id")
    headers = scheme.sign(BODY, secret=SECRET, timestamp=NOW, message_id="msg_2x")
    expected = std_hmac.new(SECRET.encode(), f"msg_2x.{int(NOW)}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {"X-Ts": str(int(NOW)), "X-Id": "msg_2x", "X-Sig": expected}
    result = check(scheme, headers)
    assert (result.reason, result.message_id) == (Reason.VERIFIED, "msg_2x")
    assert check(scheme, {**headers, "X-Id": "msg_3x"}).reason is Reason.BAD_SIGNATURE
    no_id = {k: v for k, v in headers.items() if k != "X-Id"}
    assert check(scheme, no_id).reason is Reason.MISSING_SIGNATURE
    assert check(scheme, [*headers.items(), ("X-Id", "msg_2x")]).reason is Reason.BAD_REQUEST
    assert check(scheme, {**headers, "X-Id": "msg_\xe9"}).reason is Reason.BAD_REQUEST
    # The one signing interface: a new message id and the current time by default.
    fresh = scheme.sign(BODY, secret=SECRET)
    assert fresh["X-Id"].startswith("msg_")
    assert fresh["X-Id"] != scheme.sign(BODY, secret=SECRET)["X-Id"]
    assert check(scheme, fresh, now=int(fresh["X-Ts"])).reason is Reason.VERIFIED


def test_header_method_path_query_fields() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", template="{method} {path}?{query}|{header:X-Foo}|{body}")
    headers = scheme.sign(BODY, secret=SECRET, headers={"X-Foo": "bar"}, method="PUT", path="/hooks/x", query="a=1")
    message = b"PUT /hooks/x?a=1|bar|" + BODY
    assert headers == {"X-Sig": std_hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()}
    pairs = {**headers, "x-foo": "bar"}
    ok: dict[str, Any] = {"method": "PUT", "path": "/hooks/x", "query": "a=1"}
    assert check(scheme, pairs, **ok).reason is Reason.VERIFIED
    for field, other in (("method", "POST"), ("path", "/hooks/y"), ("query", "a=2")):
        assert check(scheme, pairs, **{**ok, field: other}).reason is Reason.BAD_SIGNATURE, field
    assert check(scheme, {**headers, "x-foo": "baz"}, **ok).reason is Reason.BAD_SIGNATURE
    assert check(scheme, headers, **ok).reason is Reason.MISSING_SIGNATURE
    assert check(scheme, [*pairs.items(), ("X-Foo", "bar")], **ok).reason is Reason.BAD_REQUEST


@pytest.mark.parametrize(
    ("overrides", "header_value"),
    [
        pytest.param({"method": "P\xd6ST"}, "bar", id="non-ascii-method"),
        pytest.param({"query": "a=\u20ac"}, "bar", id="query-beyond-latin1"),
        pytest.param({"path": "/hooks/\ud800"}, "bar", id="lone-surrogate-path"),
        pytest.param({}, "\u20ac", id="header-beyond-latin1"),
    ],
)
def test_unencodable_request_fields_are_bad_requests(overrides: dict[str, str], header_value: str) -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", template="{method} {path}?{query}|{header:X-Foo}|{body}")
    kw: dict[str, Any] = {"method": "POST", "path": "/hooks/x", "query": "", **overrides}
    result = check(scheme, {"X-Sig": "0" * 64, "X-Foo": header_value}, **kw)
    assert result.reason is Reason.BAD_REQUEST


def test_latin1_header_value_is_signed_as_its_bytes() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", template="{header:X-Foo}{body}")
    headers = scheme.sign(BODY, secret=SECRET, headers={"X-Foo": "caf\xe9"})
    assert headers["X-Sig"] == std_hmac.new(SECRET.encode(), b"caf\xe9" + BODY, hashlib.sha256).hexdigest()
    assert check(scheme, {**headers, "X-Foo": "caf\xe9"}).reason is Reason.VERIFIED


def test_replay_material_is_the_expected_signature() -> None:
    scheme = hmac(secret=SECRET, header="X-Sig", prefix="v1=")
    headers = scheme.sign(BODY, secret=SECRET)
    assert check(scheme, headers).replay_material == headers["X-Sig"].encode()
    assert scheme.replay_ttl() is None


def test_registry() -> None:
    assert get("hmac") is hmac
    assert hmac(secret=SECRET, header="X-Sig").name == "hmac"


# -- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"algorithm": "md5"}, id="algorithm-md5"),
        pytest.param({"algorithm": "SHA256"}, id="algorithm-case"),
        pytest.param({"algorithm": "sha3_256"}, id="algorithm-unlisted"),
        pytest.param({"encoding": "base32"}, id="encoding"),
        pytest.param({"encoding": "HEX"}, id="encoding-case"),
        pytest.param({"header": ""}, id="empty-header"),
        pytest.param({"header": "X Sig"}, id="header-with-space"),
        pytest.param({"header": "X-Sig:"}, id="header-with-colon"),
        pytest.param({"template": "{nope}"}, id="unknown-field"),
        pytest.param({"template": "{header}"}, id="header-without-name"),
        pytest.param({"template": "{body:x}"}, id="argument-on-body"),
        pytest.param({"template": "{header:X Foo}"}, id="bad-header-name-in-template"),
        pytest.param({"template": "{body"}, id="unclosed-brace"),
        pytest.param({"template": "body}"}, id="stray-brace"),
        pytest.param({"template": "v0:{timestamp}:{body}"}, id="timestamp-without-header"),
        pytest.param({"template": "{id}.{body}"}, id="id-without-header"),
        pytest.param({"timestamp_header": "X-Ts"}, id="timestamp-header-not-signed"),
        pytest.param({"timestamp_unit": "us", "timestamp_header": "X-Ts", "template": "{timestamp}{body}"}, id="unit"),
        pytest.param({"window": 0}, id="window-zero"),
        pytest.param({"window": -5}, id="window-negative"),
        pytest.param({"window": 86401}, id="window-too-large"),
        pytest.param({"window": float("nan")}, id="window-nan"),
        pytest.param({"future_window": -1}, id="future-negative"),
        pytest.param({"future_window": 86401}, id="future-too-large"),
    ],
)
def test_invalid_configuration_raises(kwargs: dict[str, Any]) -> None:
    options: dict[str, Any] = {"secret": SECRET, "header": "X-Sig", **kwargs}
    with pytest.raises(ConfigurationError) as info:
        hmac(**options)
    assert info.value.code == "webhook_guard.E004"


# -- Template ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        pytest.param("{body}", (("body", ""),), id="body"),
        pytest.param("v0:{timestamp}:{body}", (("literal", "v0:"), ("timestamp", ""), ("literal", ":"), ("body", "")), id="slack"),
        pytest.param("{header:X-Foo}", (("header", "X-Foo"),), id="header"),
        pytest.param("{{literal}}{body}", (("literal", "{literal}"), ("body", "")), id="escaped-braces"),
        pytest.param("{{{body}}}", (("literal", "{"), ("body", ""), ("literal", "}")), id="escaped-around-field"),
        pytest.param('{{"t":{timestamp}}}', (("literal", '{"t":'), ("timestamp", ""), ("literal", "}")), id="json-like"),
        pytest.param("{method}{path}{query}{id}", (("method", ""), ("path", ""), ("query", ""), ("id", "")), id="all"),
        pytest.param("", (), id="empty"),
    ],
)
def test_template_parts(source: str, parts: tuple[tuple[str, str], ...]) -> None:
    template = Template(source)
    assert template.parts == parts
    assert template.source == source


def test_template_render() -> None:
    template = Template("{{{{{timestamp}}}.{header:X-Foo}.{body}}}")
    out = template.render({"timestamp": b"12", "body": b"B"}, {"x-foo": "v\xe9"})
    assert b"".join(out) == b"{{12}.v\xe9.B}"
    assert template.uses("timestamp")
    assert not template.uses("id")


@pytest.mark.parametrize(
    "source", ["{nope}", "{header}", "{body:X}", "{", "}", "{body}}", "{{body}", "{ body }", "{BODY}", "{body}}}}"]
)
def test_template_errors(source: str) -> None:
    with pytest.raises(ValueError, match="template"):
        Template(source)
