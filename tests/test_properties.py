"""Property tests: every parser is total, and nothing verifies without a genuine signature."""

from __future__ import annotations

import math
import string
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.routes import DENY, Route, RouteTable, loosen, normalise_pattern
from webhook_guard.core.scheme import Check, Scheme, check_window, parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import dingtalk, github, hmac, seatable, token

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The per-scheme properties run once per scheme (8 x 100 examples each), which keeps the file fast.
PER_SCHEME = settings(SETTINGS, max_examples=100)
NOW = 1_700_000_000.0
SECRET = "the-right-secret"
KEYS = KeySet([Secret(SECRET, key_id="right")])

SCHEMES: dict[str, Scheme] = {
    "dingtalk": dingtalk(secret=SECRET),
    "seatable": seatable(secret=SECRET),
    "github": github(secret=SECRET),
    "github-sha1": github(secret=SECRET, algorithm="sha1"),
    "token": token(secret=SECRET, header="X-Token"),
    "hmac-body-base64": hmac(secret=SECRET, header="X-Sig", encoding="base64", algorithm="sha512"),
    "hmac-slack-like": hmac(
        secret=SECRET,
        header="X-Slack-Signature",
        prefix="v0=",
        template="v0:{timestamp}:{body}",
        timestamp_header="X-Slack-Request-Timestamp",
    ),
    "hmac-everything": hmac(
        secret=SECRET,
        header="X-Sig",
        encoding="base64url",
        template="{id}.{timestamp}.{method}.{path}.{query}.{header:X-Foo}.{body}",
        timestamp_header="X-Ts",
        timestamp_unit="ms",
        id_header="X-Id",
    ),
}
# Header names each scheme looks at, so random values land where they matter.
NAMES = [
    "sign", "timestamp", "X-SeaTable-Signature", "X-Hub-Signature-256", "X-Hub-Signature",
    "X-Token", "X-Sig", "X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Ts", "X-Id", "X-Foo",
    "Content-Type",
]  # fmt: skip

# Text with everything an attacker can put on the wire, and some things only code can.
any_char = st.characters(codec=None, exclude_categories=())
wire_text = st.one_of(
    st.text(any_char, max_size=40),
    st.text(st.sampled_from(string.hexdigits + "=+/-_%, .:v0sha1256\x00\xff\xe9\u0661\u00b2"), max_size=100),
    st.integers(0, 10**20).map(str),
    st.builds(str.__mul__, st.sampled_from(["a", "0", "\xff", "=,"]), st.integers(1000, 4200)),
)
names = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES).map(str.upper), st.text(max_size=6))
header_pairs = st.lists(st.tuples(names, wire_text), max_size=4)
bodies = st.binary(max_size=100)
nows = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=NOW - 1e6, max_value=NOW + 1e6),
)
methods = st.one_of(st.just("POST"), st.text(any_char, max_size=6))
paths = st.text(any_char, max_size=40)
queries = st.text(any_char, max_size=30)


def run(scheme: Scheme, request: WebhookRequest, now: float, keys: KeySet = KEYS) -> Check:
    result = scheme.check(request, keys, now)
    assert isinstance(result, Check)
    assert isinstance(result.reason, Reason)
    return result


@pytest.mark.parametrize("name", list(SCHEMES))
@PER_SCHEME
@given(pairs=header_pairs, body=bodies, now=nows, method=methods, path=paths, query=queries)
def test_arbitrary_requests_never_raise_or_verify(
    name: str, pairs: list[tuple[str, str]], body: bytes, now: float, method: str, path: str, query: str
) -> None:
    scheme = SCHEMES[name]
    request = WebhookRequest(method=method, path=path, query=query, headers=Headers(pairs), body=body)
    result = run(scheme, request, now)
    assert result.reason is not Reason.VERIFIED
    assert result.key_id is None


def sign(name: str, scheme: Scheme, body: bytes, secret: str, ts: float, extra: dict[str, Any]) -> dict[str, str]:
    if name == "hmac-everything":
        return scheme.sign(body, secret=secret, timestamp=ts, message_id=extra["id"], headers={"X-Foo": extra["foo"]},  # type: ignore[call-arg]
                           method="POST", path="/hooks/p", query="a=1")  # fmt: skip
    return scheme.sign(body, secret=secret, timestamp=ts)


ascii_ids = st.text(st.sampled_from(string.ascii_letters + string.digits + "_-"), min_size=1, max_size=20)
latin1 = st.text(st.characters(max_codepoint=255), max_size=20)
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(lambda s: s.strip() != "")


@pytest.mark.parametrize("name", list(SCHEMES))
@PER_SCHEME
@given(
    body=bodies,
    offset=st.floats(min_value=-170, max_value=170),
    wrong=secrets,
    extra=st.fixed_dictionaries({"id": ascii_ids, "foo": latin1}),
    mutation=wire_text,
    data=st.data(),
)
def test_only_genuine_signatures_verify(
    name: str, body: bytes, offset: float, wrong: str, extra: dict[str, str], mutation: str, data: st.DataObject
) -> None:
    scheme = SCHEMES[name]
    assume(wrong != SECRET)
    ts = math.floor(NOW + offset)
    headers = sign(name, scheme, body, SECRET, ts, extra)

    def request(hdrs: dict[str, str], payload: bytes = body) -> WebhookRequest:
        pairs = list(hdrs.items())
        if name == "hmac-everything":
            pairs.append(("X-Foo", extra["foo"]))
        return WebhookRequest(method="POST", path="/hooks/p", query="a=1", headers=Headers(pairs), body=payload)

    genuine = run(scheme, request(headers), NOW)
    assert genuine.reason is Reason.VERIFIED
    assert genuine.key_id == "right"

    forged = sign(name, scheme, body, wrong, ts, extra)
    assert run(scheme, request(forged), NOW).reason is not Reason.VERIFIED

    # Any change to the signature header's value breaks it (DingTalk also accepts its
    # URL-encoded spelling, which is the same signature).
    sig_header = "sign" if name == "dingtalk" else scheme.header  # type: ignore[attr-defined]
    original = headers[sig_header]
    assume(mutation not in (original, quote(original, safe="")))
    assert run(scheme, request({**headers, sig_header: mutation}), NOW).reason is not Reason.VERIFIED

    # Sending the signature header twice is never accepted.
    pairs = [*request(headers).headers.items_raw(), (sig_header, original)]
    doubled = WebhookRequest(method="POST", path="/hooks/p", query="a=1", headers=Headers(pairs), body=body)
    assert run(scheme, doubled, NOW).reason is not Reason.VERIFIED

    # A different body breaks every body-signed scheme.
    other = data.draw(bodies.filter(lambda b: b != body), label="other body")
    tampered = run(scheme, request(headers, other), NOW).reason
    assert (tampered is Reason.VERIFIED) is (not scheme.body_signed)


# -- routes and the path parsers -----------------------------------------------------------

TABLE = RouteTable(
    Route(normalise_pattern(p))
    for p in ("/hooks/github", "/hooks/github/{repo}", "/hooks/dingtalk/", "/events/*", "/{tenant}/seatable")
)


@SETTINGS
@given(path=st.one_of(paths, st.text(st.sampled_from("/hooksgithubHOOKS.;%2e5cf\\\x00{}*"), max_size=40)))
def test_route_match_is_total(path: str) -> None:
    found = TABLE.match(path)
    assert found is None or found is DENY or (isinstance(found, tuple) and len(found) == 2)
    assert loosen(path).startswith("/")


@SETTINGS
@given(
    seen=st.lists(st.one_of(paths, st.text(st.sampled_from("/hooksgithubHOOKS.;%2e"), max_size=30)), max_size=20),
    path=st.one_of(
        st.sampled_from(["/HOOKS/github", "/x/../hooks/github", "/hooks//github", "/hooks/git%68ub",
                         "/hooks/github/", "/acme/seatable", "/events/x", "/api/items/1"]),
        paths,
        st.text(st.sampled_from("/hooksgithubHOOKS.;%2e5cf\\\x00{}*"), max_size=40),
    ),
)
def test_route_match_does_not_depend_on_paths_seen_before(seen: list[str], path: str) -> None:
    fresh = RouteTable(TABLE.routes)
    expected = fresh.match(path)
    warmed = RouteTable(TABLE.routes)
    for other in [*seen, path]:
        warmed.match(other)
    assert warmed.match(path) == expected


def disguise(segment: str, how: int) -> str:
    if how == 0:
        return segment.upper()
    if how == 1:
        return "".join(f"%{ord(c):02X}" for c in segment)
    if how == 2:
        return "".join(f"%25{ord(c):02X}" for c in segment)
    if how == 3:
        return segment + ";x=1"
    if how == 4:
        return "x/../" + segment
    if how == 5:
        return "./" + segment
    if how == 6:
        return segment + "%00"
    return segment.swapcase()


@SETTINGS
@given(
    pattern=st.sampled_from(["/hooks/github", "/hooks/dingtalk", "/events/x/y", "/acme/seatable", "/hooks/github/api"]),
    choices=st.lists(st.tuples(st.integers(0, 7), st.booleans(), st.booleans()), min_size=1, max_size=3),
)
def test_disguised_guarded_paths_never_pass(pattern: str, choices: list[tuple[int, bool, bool]]) -> None:
    # Each segment is disguised at most once (loosen undoes up to three encodings).
    segments = pattern.strip("/").split("/")
    for i, (how, double_slash, backslash) in zip(range(len(segments)), choices, strict=False):
        segments[i] = disguise(segments[i], how)
        if double_slash:
            segments[i] = "/" + segments[i]
        if backslash:
            segments[i] = segments[i].replace("/", "\\")
    path = "/" + "/".join(segments)
    found = TABLE.match(path)
    assert found is not None, path
    if path != pattern and found is not DENY:
        # A clean alternative spelling may only be the same route with a trailing slash.
        assert isinstance(found, tuple)


@SETTINGS
@given(path=paths)
def test_loosen_never_raises(path: str) -> None:
    assert isinstance(loosen(path), str)


@SETTINGS
@given(raw=st.text(any_char, max_size=30))
def test_parse_timestamp_is_strict_and_total(raw: str) -> None:
    value = parse_timestamp(raw)
    if value is not None:
        assert raw.isascii()
        assert raw.isdigit()
        assert len(raw) <= 16
        assert value == int(raw)


@SETTINGS
@given(ts=st.integers(0, 10**16), now=nows, past=st.floats(0, 1e5), future=st.floats(0, 1e5))
def test_check_window_accepts_only_inside(ts: int, now: float, past: float, future: float) -> None:
    reason = check_window(ts, now, past, future)
    assert reason in (None, Reason.STALE_TIMESTAMP, Reason.FUTURE_TIMESTAMP)
    if reason is None:
        assert now - past <= ts <= now + future


# -- header builders -----------------------------------------------------------------------

environ_values = st.one_of(st.text(any_char, max_size=30), st.integers(), st.none(), st.binary(max_size=10))


@SETTINGS
@given(environ=st.dictionaries(st.text(any_char, max_size=20), environ_values, max_size=10))
def test_from_environ_never_raises(environ: dict[str, object]) -> None:
    headers = Headers.from_environ(environ)
    for name in headers:
        assert headers.getlist(name)
        assert name == name.lower()


@SETTINGS
@given(raw=st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=10))
def test_from_asgi_never_raises(raw: list[tuple[bytes, bytes]]) -> None:
    headers = Headers.from_asgi(raw)
    assert len(headers.items_raw()) == len(raw)
    for name, value in raw:
        assert value.decode("latin-1") in headers.getlist(name.decode("latin-1"))
