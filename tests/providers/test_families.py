"""Property tests per family, driven by the registry: for every provider, any request is
answered (never an exception) and only a genuine signature verifies; and each family's
own parsers (signature lists, Standard Webhooks entries, URL-signed forms, encrypted
envelopes, asymmetric keys and signatures, RFC 3339 timestamps) are total and strict.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.providers.test_registry import AES_KEY, FORM, NOW, PUBLIC_URL, Wire, _signed, case
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.timestamps import parse_rfc3339
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import REGISTRY, mandrill, names, plivo, twilio
from webhook_guard.providers._cipher import TencentCipher, xml_fields
from webhook_guard.providers._parse import parse_form
from webhook_guard.providers.asymmetric import KEYS as KEY_FORMATS
from webhook_guard.providers.feishu_events import feishu_decrypt, feishu_encrypt
from webhook_guard.providers.siglist import SignatureList
from webhook_guard.providers.standard import _entry
from webhook_guard.providers.template import Template
from webhook_guard.providers.tencent import _envelope

PER_PROVIDER = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PARSER = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_char = st.characters(codec=None, exclude_categories=())
wire_text = st.one_of(
    st.text(any_char, max_size=40),
    st.text(st.sampled_from("0123456789abcdefABCDEF=+/-_%,;.: v1tsh\x00\xff\xe9\u0661"), max_size=90),
    st.integers(0, 10**20).map(str),
)
bodies = st.binary(max_size=200)


def scheme_and_keys(name: str) -> tuple[Any, KeySet]:
    c = case(name)
    scheme = REGISTRY[name](secret=c.secret, **c.options)
    if isinstance(c.secret, Mapping):  # key id -> value (AWS SNS: certificate URL -> PEM)
        return scheme, KeySet(Secret(v, key_id=k) for k, v in c.secret.items())
    secrets = c.secret if isinstance(c.secret, (list, tuple)) else [c.secret]
    return scheme, KeySet(Secret(s, key_id=f"k{i}") for i, s in enumerate(secrets))


def run(name: str, wire: Mapping[str, Any] | Wire, body: bytes | None = None, query: str | None = None,
        method: str = "POST", headers: list[tuple[str, str]] | None = None) -> Check:  # fmt: skip
    scheme, keys = scheme_and_keys(name)
    assert isinstance(wire, Wire)
    request = WebhookRequest(
        method,
        "/hooks/p",
        Headers(headers if headers is not None else list(wire.headers.items())),
        wire.body if body is None else body,
        wire.query if query is None else query,
        PUBLIC_URL + (f"?{wire.query if query is None else query}" if (wire.query if query is None else query) else ""),
    )  # fmt: skip
    result = scheme.check(request, keys, NOW)
    assert isinstance(result, Check)
    assert isinstance(result.reason, Reason)
    return result


#: Headers a provider sends that its signature does not cover (changing them is allowed).
UNSIGNED_HEADERS = {"content-type", "twitch-eventsub-message-type"}
#: Query parameters a provider sends that its signature does not cover (WeChat's safe
#: mode checks msg_signature, which covers all that signature covers and the ciphertext).
UNSIGNED_QUERY = {"encrypt_type"}
UNSIGNED_QUERY_OF = {"wechat": {"signature"}}


# -- every provider: any request is answered; only a genuine one verifies -------------------


@pytest.mark.parametrize("name", names())
def test_genuine_request_verifies(name: str) -> None:
    assert run(name, _signed(name)).reason is Reason.VERIFIED


@pytest.mark.parametrize("name", names())
@PER_PROVIDER
@given(data=st.data(), body=bodies, query=st.text(any_char, max_size=30))
def test_arbitrary_requests_never_raise_or_verify(
    name: str, data: st.DataObject, body: bytes, query: str
) -> None:
    """Random values under the provider's own header names (and random ones)."""
    genuine = _signed(name)
    known = [*genuine.headers, "X-Random"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(known), wire_text), max_size=6))
    result = run(name, genuine, body=body, query=query, headers=pairs,
                 method=data.draw(st.sampled_from(["POST", "GET", "HEAD", "P\xd6ST"])))  # fmt: skip
    # An unsigned handshake is off unless a route turns it on: nothing random verifies.
    assert result.reason is not Reason.VERIFIED


def _signed_headers(name: str) -> list[str]:
    return [h for h in _signed(name).headers if h.lower() not in UNSIGNED_HEADERS]


@pytest.mark.parametrize("name", [n for n in names() if _signed_headers(n)])
@PER_PROVIDER
@given(data=st.data(), value=wire_text)
def test_changing_any_signed_header_is_refused(name: str, data: st.DataObject, value: str) -> None:
    genuine = _signed(name)
    header = data.draw(st.sampled_from(_signed_headers(name)))
    assume(value != genuine.headers[header])
    if name == "dingtalk":  # DingTalk also accepts its signature URL-encoded
        from urllib.parse import quote

        assume(value != quote(genuine.headers[header], safe=""))
    headers = {**genuine.headers, header: value}
    assert run(name, genuine, headers=list(headers.items())).reason is not Reason.VERIFIED


@pytest.mark.parametrize("name", [n for n in names() if _signed(n).query])
@PER_PROVIDER
@given(data=st.data(), value=st.text(st.sampled_from("0123456789abcdef%=&"), max_size=50))
def test_changing_any_signed_query_parameter_is_refused(
    name: str, data: st.DataObject, value: str
) -> None:
    genuine = _signed(name)
    params = dict(pair.split("=", 1) for pair in genuine.query.split("&"))
    unsigned = UNSIGNED_QUERY | UNSIGNED_QUERY_OF.get(name, set())
    param = data.draw(st.sampled_from(sorted(set(params) - unsigned)))
    assume(value != params[param])
    query = urlencode({**params, param: value}, safe="%")
    assert run(name, genuine, query=query).reason is not Reason.VERIFIED


def _signed_span(name: str, wire: Wire) -> tuple[int, int]:
    """Where the signature's coverage lies in the sent body (encrypted envelopes sign only
    the ciphertext)."""
    if REGISTRY[name].family.__name__ == "Tencent":
        text = wire.body.decode()
        m = re.search(r'"encrypt": "([^"]+)"|<Encrypt><!\[CDATA\[([^\]]+)\]\]>', text)
        assert m is not None
        group = 1 if m.group(1) else 2
        return m.start(group), m.end(group)
    return 0, len(wire.body)


@pytest.mark.parametrize("name", [n for n in names() if case(n).body_signed])
@PER_PROVIDER
@given(data=st.data())
def test_changing_the_signed_body_is_refused(name: str, data: st.DataObject) -> None:
    genuine = _signed(name)
    start, end = _signed_span(name, genuine)
    assume(end > start)
    at = data.draw(st.integers(start, end - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != genuine.body[at]))
    body = genuine.body[:at] + bytes([byte]) + genuine.body[at + 1 :]
    if genuine.headers.get("Content-Type") == FORM:  # a form's signature covers its parameters:
        assume(parse_form(body) != parse_form(genuine.body))  # "+" and " " are one space
    assert run(name, genuine, body=body).reason is not Reason.VERIFIED


# -- URL-signed forms -----------------------------------------------------------------------

form_params = st.dictionaries(
    st.text(st.sampled_from("abcdefXYZ_0123"), min_size=1, max_size=8),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    min_size=1,
    max_size=6,
)


@pytest.mark.parametrize("factory", [twilio, mandrill, plivo], ids=["twilio", "mandrill", "plivo"])
@PER_PROVIDER
@given(params=form_params, data=st.data())
def test_url_signed_forms_only_verify_as_signed(factory: Any, params: dict[str, str], data: st.DataObject) -> None:
    scheme = factory(secret="form-key")
    keys = KeySet([Secret("form-key", key_id="k")])
    body = urlencode(params).encode()
    signed = scheme.sign(body, secret="form-key", url=PUBLIC_URL)
    headers = [("Content-Type", "application/x-www-form-urlencoded"), *signed.headers.items()]

    def check(form: dict[str, str]) -> Reason:
        request = WebhookRequest("POST", "/p", Headers(headers), urlencode(form).encode(), "", PUBLIC_URL)
        return scheme.check(request, keys, NOW).reason

    assert check(params) is Reason.VERIFIED
    name = data.draw(st.sampled_from(sorted(params)))
    changed = data.draw(st.text(max_size=12).filter(lambda v: v != params[name]))
    assert check({**params, name: changed}) is not Reason.VERIFIED
    assert check({k: v for k, v in params.items() if k != name} or {"x": "1"}) is not Reason.VERIFIED
    assume("extra" not in params)
    assert check({**params, "extra": "1"}) is not Reason.VERIFIED


@PARSER
@given(body=st.binary(max_size=300), url=st.text(any_char, max_size=60), ctype=st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "text/plain; charset=x"]))  # fmt: skip
def test_url_signed_canonicalisation_is_total(body: bytes, url: str, ctype: str) -> None:
    for factory in (twilio, mandrill, plivo, REGISTRY["square"], REGISTRY["hubspot"]):
        scheme = factory(secret="k")
        request = WebhookRequest("POST", "/p", Headers([("Content-Type", ctype), ("X-Twilio-Signature", "AAAA")]), body, "", url)
        assert scheme.check(request, KeySet([Secret("k", key_id="k")]), NOW).reason is not Reason.VERIFIED


# -- signature lists and Standard Webhooks entries -----------------------------------------------


@PARSER
@given(value=st.one_of(wire_text, st.lists(st.tuples(st.sampled_from(["t", "v1", "v0", "ts", "h1", "X"]), wire_text)).map(
    lambda pairs: ",".join(f"{k}={v}" for k, v in pairs))))  # fmt: skip
def test_signature_list_parser_is_total_and_strict(value: str) -> None:
    for name in ("stripe", "paddle", "pagerduty"):
        scheme = REGISTRY[name](secret="s")
        assert isinstance(scheme, SignatureList)
        parsed = scheme.parse(value)
        if parsed is not None:
            timestamp, signatures = parsed
            assert len(signatures) <= 8
            for item in [*signatures, *([timestamp] if timestamp else [])]:
                assert item.isascii()
                assert item.isprintable()
                assert not set(item) & set(" ,;")


@PARSER
@given(entry=st.one_of(wire_text, st.builds(lambda v, s: f"{v},{s}", wire_text, wire_text)))
def test_standard_webhooks_entries_are_strict(entry: str) -> None:
    parsed = _entry(entry)
    if parsed is not None:
        version, signature = parsed
        assert re.fullmatch(r"v[0-9a-z]+", version)
        assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", signature)


# -- encrypted envelopes ---------------------------------------------------------------------


@PARSER
@given(body=st.one_of(st.binary(max_size=400), st.text(any_char, max_size=200).map(
    lambda t: f"<xml><Encrypt>{t}</Encrypt></xml>".encode("utf-8", "surrogatepass"))))  # fmt: skip
def test_envelope_parsers_are_total(body: bytes) -> None:
    fields = xml_fields(body)
    assert fields is None or all(isinstance(v, str) for v in fields.values())
    for kind in ("json", "xml"):
        value = _envelope(body, kind)
        assert value is None or (isinstance(value, str) and value)


@PARSER
@given(text=st.text(any_char, max_size=200))
def test_decryption_is_total(text: str) -> None:
    cipher = TencentCipher.from_encoding_aes_key(AES_KEY, "corp")
    assert cipher.decrypt(text) is None or isinstance(cipher.decrypt(text), bytes)
    assert feishu_decrypt(b"key", text) is None or isinstance(feishu_decrypt(b"key", text), str)


@PARSER
@given(message=st.binary(max_size=300), rid=st.binary(min_size=1, max_size=20), other=st.binary(min_size=1, max_size=20))
def test_encryption_round_trips_and_binds_the_receive_id(message: bytes, rid: bytes, other: bytes) -> None:
    cipher = TencentCipher.from_encoding_aes_key(AES_KEY, rid)
    encrypted = cipher.encrypt(message)
    assert cipher.decrypt(encrypted) == message
    assume(other != rid)
    assert TencentCipher.from_encoding_aes_key(AES_KEY, other).decrypt(encrypted) is None
    text = message.decode("utf-8", "replace")
    assert feishu_decrypt(b"k", feishu_encrypt(b"k", text)) == text


# -- asymmetric keys and signatures ------------------------------------------------------------


@PARSER
@given(raw=st.one_of(wire_text, st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode()),
                     st.binary(max_size=80).map(bytes.hex)))  # fmt: skip
def test_signature_decoding_accepts_one_spelling_only(raw: str) -> None:
    for fmt in KEY_FORMATS.values():
        decoded = fmt.decode_signature(raw)
        if decoded is not None:
            assert fmt.encode_signature(decoded) == raw  # canonical: one spelling per value


@PARSER
@given(raw=st.one_of(wire_text, st.binary(max_size=100).map(lambda b: base64.b64encode(b).decode()),
                     st.binary(max_size=40).map(bytes.hex)))  # fmt: skip
def test_public_key_checks_are_total(raw: str) -> None:
    for name in ("discord", "telnyx", "sendgrid"):
        scheme, _ = scheme_and_keys(name)
        problem = scheme.check_secret(raw.encode("utf-8", "surrogatepass"))
        assert problem is None or isinstance(problem, str)


# -- templates and RFC 3339 ------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def reference_rfc3339(raw: str) -> float | None:
    """The previous regex parser, restated: the str-method parser must agree with it."""
    import datetime as dt

    if len(raw) > 40 or not raw.isascii():
        return None
    m = _RFC3339.fullmatch(raw)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    offset = 0
    if zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if zone[0] == "+" else -1)
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return moment.timestamp() - offset + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


rfc3339_like = st.builds(
    lambda d, f, z: d + f + z,
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    st.one_of(st.just(""), st.text(st.sampled_from("0123456789"), max_size=11).map(lambda s: "." + s)),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+24:00", "+0000", " Z", ""]),
)


@PARSER
@given(raw=st.one_of(rfc3339_like, st.text(any_char, max_size=40)))
def test_rfc3339_parser_agrees_with_the_reference(raw: str) -> None:
    assert parse_rfc3339(raw) == reference_rfc3339(raw)


@PARSER
@given(source=st.text(st.sampled_from("{}abc:._-body timestamp id header:X-Foo secret"), max_size=40))
def test_templates_compile_or_raise_value_error(source: str) -> None:
    try:
        template = Template(source)
    except ValueError:
        return
    assert all(kind in ("literal", "body", "timestamp", "id", "method", "path", "query", "header", "secret")
               for kind, _ in template.parts)  # fmt: skip


# -- the signed timestamp is covered by the signature ---------------------------------------


def _moved(text: str) -> str:
    """``text`` with the signed time moved one second later (s, ms and RFC 3339)."""
    return text.replace("1790000000", "1790000001").replace("14:13:20", "14:13:21")


def _with_moved_time(wire: Wire) -> Wire:
    headers = {k: _moved(v) for k, v in wire.headers.items()}
    body = _moved(wire.body.decode("latin-1")).encode("latin-1")
    return Wire(headers, body, _moved(wire.query), wire.url, wire.method)


@pytest.mark.parametrize("name", [n for n in names() if _with_moved_time(_signed(n)) != _signed(n)])
def test_another_timestamp_inside_the_window_is_refused(name: str) -> None:
    """One second later is inside every window: only the signature can refuse it."""
    moved = _with_moved_time(_signed(name))
    assert run(name, moved).reason is not Reason.VERIFIED
