"""URL-signed providers: Twilio, Square, Mandrill, Plivo, HubSpot v3."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.providers.helpers import provider_headers
from webhook_guard import Guard, Route, get_verdict
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import get, hubspot, mandrill, plivo, square, twilio
from webhook_guard.providers.urlsigned import hubspot_uri, twilio_json_url
from webhook_guard.testing import FrozenClock, build_asgi_scope, build_wsgi_environ, call_asgi

#: The URL-signed providers this module tests.
FACTORIES = {"twilio": twilio, "square": square, "mandrill": mandrill, "plivo": plivo, "hubspot": hubspot}

NOW = 1_700_000_000.0
FORM = "application/x-www-form-urlencoded"


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def request(
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    *,
    method: str = "POST",
    content_type: str | None = FORM,
) -> WebhookRequest:

    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    if content_type is not None and body:
        items.append(("Content-Type", content_type))
    query = url.partition("?")[2]
    return WebhookRequest(
        method=method, path="/", headers=Headers(items), body=body, query=query, url=url
    )


def run(scheme: Scheme, req: WebhookRequest, *secrets: str, now: float = NOW) -> Check:
    return scheme.check(req, keys(*secrets), now)


def b64_hmac(secret: str, message: bytes, digest: Any = hashlib.sha1) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, digest).digest()).decode()


# =============================================================================== Twilio

TW_TOKEN = "12345"
TW_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TW_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TW_BODY = urlencode(TW_PARAMS).encode()
TW_JSON = b'{"property": "value", "boolean": true}'
TW_JSON_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
TW_DUP_BODY = urlencode(
    [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
).encode()
TW_H = "X-Twilio-Signature"
TW = twilio(secret=TW_TOKEN)


# twilio/twilio-python tests/unit/test_request_validator.py
@pytest.mark.parametrize(
    ("url", "body", "content_type", "signature"),
    [
        pytest.param(TW_URL, TW_BODY, FORM, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", id="form"),
        pytest.param(
            TW_URL.replace(".com", ".com:443"),
            TW_BODY,
            FORM,
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
            id="form-with-explicit-443",
        ),
        pytest.param(
            TW_URL.replace(".com", ".com:80").replace("https", "http"),
            TW_BODY,
            FORM,
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            id="http-with-explicit-80",
        ),
        pytest.param(TW_URL, TW_DUP_BODY, FORM, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", id="repeated-name"),
        pytest.param(
            TW_URL + "&bodySHA256=" + TW_JSON_HASH,
            TW_JSON,
            "application/json",
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            id="json-bodySHA256",
        ),
    ],
)
def test_twilio_published_vectors(url: str, body: bytes, content_type: str, signature: str) -> None:
    result = run(TW, request(url, body, {TW_H: signature}, content_type=content_type), TW_TOKEN)
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.replay_material == signature.encode()
    signed = TW.sign(body, secret=TW_TOKEN, url=url, content_type=content_type)
    assert provider_headers(signed) == {TW_H: signature}


def test_twilio_json_url_helper() -> None:
    assert twilio_json_url(TW_URL, TW_JSON) == TW_URL + "&bodySHA256=" + TW_JSON_HASH
    assert twilio_json_url("https://a.example/x", b"{}").startswith(
        "https://a.example/x?bodySHA256="
    )


@pytest.mark.parametrize(
    ("body", "url"),
    [
        pytest.param(TW_BODY, TW_URL, id="form"),
        pytest.param(
            urlencode({"Body": "héllo wörld 🎉 + & = ?", "From": "+1", "Empty": ""}).encode(),
            "https://example.com/sms",
            id="utf8-form-with-blank-value",
        ),
        pytest.param(b"", "https://example.com/voice?CallSid=CA1&From=%2B1", id="get-url-only"),
        pytest.param(TW_JSON, twilio_json_url("https://example.com/json", TW_JSON), id="json"),
    ],
)
def test_twilio_round_trip(body: bytes, url: str) -> None:
    content_type = "application/json" if "bodySHA256" in url else FORM
    headers = TW.sign(body, secret="tok", url=url)
    result = run(TW, request(url, body, headers, content_type=content_type), "other", "tok")
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k1"


def test_twilio_sha256_shared_key_option() -> None:
    scheme = twilio(secret="shared", algorithm="sha256")
    headers = scheme.sign(TW_BODY, secret="shared", url=TW_URL)
    sorted_params = "".join(k + v for k, v in sorted(TW_PARAMS.items()))
    expected = b64_hmac("shared", (TW_URL + sorted_params).encode(), hashlib.sha256)
    assert headers == {TW_H: expected}
    assert run(scheme, request(TW_URL, TW_BODY, headers), "shared").reason is Reason.VERIFIED
    # A SHA-1 signature never verifies on a SHA-256 route (and the reverse).
    sha1 = TW.sign(TW_BODY, secret="shared", url=TW_URL)
    assert run(scheme, request(TW_URL, TW_BODY, sha1), "shared").reason is Reason.BAD_SIGNATURE
    assert run(TW, request(TW_URL, TW_BODY, headers), "shared").reason is Reason.BAD_SIGNATURE


def test_twilio_bad_algorithm_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        twilio(secret="x", algorithm="md5")


TW_SIG = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def _tw(url: str = TW_URL, body: bytes = TW_BODY, **kw: Any) -> WebhookRequest:
    headers = kw.pop("headers", {TW_H: TW_SIG})
    return request(url, body, headers, **kw)


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        pytest.param(_tw(), Reason.VERIFIED, id="genuine"),
        pytest.param(_tw(headers={}), Reason.MISSING_SIGNATURE, id="missing-header"),
        pytest.param(
            _tw(headers=[(TW_H, TW_SIG), (TW_H, TW_SIG)]),
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-header",
        ),
        pytest.param(
            _tw(headers={TW_H: TW_SIG + ", " + TW_SIG}),
            Reason.MALFORMED_SIGNATURE,
            id="wsgi-joined-duplicate",
        ),
        pytest.param(_tw(headers={TW_H: TW_SIG[:-2]}), Reason.BAD_SIGNATURE, id="truncated"),
        pytest.param(_tw(headers={TW_H: "not base64!"}), Reason.MALFORMED_SIGNATURE, id="garbage"),
        pytest.param(_tw(headers={TW_H: TW_SIG.lower()}), Reason.BAD_SIGNATURE, id="case-changed"),
        pytest.param(_tw(headers={TW_H: "A" * 200}), Reason.MALFORMED_SIGNATURE, id="overlong"),
        pytest.param(
            _tw(body=TW_BODY.replace(b"1234", b"9999")), Reason.BAD_SIGNATURE, id="tampered-param"
        ),
        pytest.param(_tw(body=TW_BODY + b"&Extra=1"), Reason.BAD_SIGNATURE, id="extra-form-param"),
        pytest.param(
            _tw(url=TW_URL.replace("mycompany", "evil")), Reason.BAD_SIGNATURE, id="other-host"
        ),
        pytest.param(
            _tw(url=TW_URL.replace("myapp", "other")), Reason.BAD_SIGNATURE, id="other-path"
        ),
        pytest.param(_tw(url=TW_URL + "&x=1"), Reason.BAD_SIGNATURE, id="extra-query-param"),
        pytest.param(
            _tw(url=TW_URL.replace("https", "http")), Reason.BAD_SIGNATURE, id="other-scheme"
        ),
        pytest.param(
            _tw(url=TW_URL.replace(".com", ".com:443")), Reason.BAD_SIGNATURE, id="port-added"
        ),
        pytest.param(
            _tw(url=TW_URL.replace(".com", ".com:1234")), Reason.BAD_SIGNATURE, id="other-port"
        ),
        pytest.param(_tw(url=""), Reason.BAD_REQUEST, id="no-url"),
        pytest.param(
            _tw(url=TW_URL.replace("myapp", "myäpp")), Reason.BAD_REQUEST, id="non-ascii-url"
        ),
        pytest.param(
            _tw(content_type="application/json"), Reason.BAD_REQUEST, id="form-sent-as-json"
        ),
        pytest.param(
            _tw(body=TW_JSON, content_type="application/json"),
            Reason.BAD_REQUEST,
            id="json-without-bodySHA256",
        ),
        pytest.param(
            _tw(body=TW_BODY + b"&Digits=1234"), Reason.BAD_REQUEST, id="repeated-identical-pair"
        ),
        pytest.param(_tw(body=b"From=%FF"), Reason.BAD_REQUEST, id="form-not-utf8"),
        pytest.param(
            _tw(body=b"&".join([b"a=1"] * 1001)), Reason.BAD_REQUEST, id="too-many-params"
        ),
    ],
)
def test_twilio_form_cases(req: WebhookRequest, reason: Reason) -> None:
    assert run(TW, req, TW_TOKEN).reason is reason


def test_twilio_wrong_secret() -> None:
    assert run(TW, _tw(), "54321").reason is Reason.BAD_SIGNATURE


TW_JSON_URL = TW_URL + "&bodySHA256=" + TW_JSON_HASH
TW_JSON_SIG = "a9nBmqA0ju/hNViExpshrM61xv4="


@pytest.mark.parametrize(
    ("url", "body", "reason"),
    [
        pytest.param(TW_JSON_URL, TW_JSON, Reason.VERIFIED, id="genuine"),
        pytest.param(TW_JSON_URL, TW_JSON + b" ", Reason.BAD_SIGNATURE, id="tampered-body"),
        pytest.param(TW_JSON_URL, b"", Reason.BAD_SIGNATURE, id="body-dropped"),
        pytest.param(
            TW_JSON_URL.upper().replace(
                "HTTPS://MYCOMPANY.COM/MYAPP.PHP", "https://mycompany.com/myapp.php"
            ),
            TW_JSON,
            Reason.BAD_REQUEST,
            id="uppercase-hash",
        ),
        pytest.param(
            TW_JSON_URL + "&bodySHA256=" + TW_JSON_HASH,
            TW_JSON,
            Reason.BAD_REQUEST,
            id="hash-twice",
        ),
        pytest.param(
            TW_URL + "&bodySHA256=" + hashlib.sha256(b"{}").hexdigest(),
            b"{}",
            Reason.BAD_SIGNATURE,
            id="hash-of-other-body-unsigned-url",
        ),
    ],
)
def test_twilio_json_cases(url: str, body: bytes, reason: Reason) -> None:
    req = request(url, body, {TW_H: TW_JSON_SIG}, content_type="application/json")
    assert run(TW, req, TW_TOKEN).reason is reason


# -- the official SDK, both ways ---------------------------------------------------------------


def test_twilio_sdk_signs_we_verify() -> None:
    rv = pytest.importorskip("twilio.request_validator")
    validator = rv.RequestValidator("sdk-token")
    params = {"Body": "ça marche 🎉", "From": "+15005550006", "MessageSid": "SM1", "Blank": ""}
    body = urlencode(params).encode()
    url = "https://hooks.example.com/sms?route=a%20b"
    sig = validator.compute_signature(url, params)
    assert run(TW, request(url, body, {TW_H: sig}), "sdk-token").reason is Reason.VERIFIED

    json_url = twilio_json_url("https://hooks.example.com/json", TW_JSON)
    sig = validator.compute_signature(json_url, {})
    assert validator.compute_hash(TW_JSON.decode()) in json_url
    req = request(json_url, TW_JSON, {TW_H: sig}, content_type="application/json")
    assert run(TW, req, "sdk-token").reason is Reason.VERIFIED

    shared = twilio(secret="sk", algorithm="sha256")
    sig = rv.RequestValidator("sk").compute_signature(url, params, rv.HMAC_SHA256)
    assert run(shared, request(url, body, {TW_H: sig}), "sk").reason is Reason.VERIFIED


def test_twilio_we_sign_sdk_verifies() -> None:
    rv = pytest.importorskip("twilio.request_validator")
    validator = rv.RequestValidator("sdk-token")
    params = {"Body": "ça marche 🎉", "From": "+15005550006", "MessageSid": "SM1"}
    url = "https://hooks.example.com/sms"
    sig = TW.sign(urlencode(params).encode(), secret="sdk-token", url=url)[TW_H]
    assert validator.validate(url, params, sig)
    assert not validator.validate(url, {**params, "Body": "other"}, sig)

    json_url = twilio_json_url(url, TW_JSON)
    sig = TW.sign(TW_JSON, secret="sdk-token", url=json_url)[TW_H]
    assert validator.validate(json_url, TW_JSON.decode(), sig)

    sig = twilio(secret="x", algorithm="sha256").sign(
        urlencode(params).encode(), secret="sk", url=url
    )[TW_H]
    assert rv.RequestValidator("sk").validate(url, params, sig, rv.HMAC_SHA256)


def test_twilio_is_stricter_than_the_sdk_on_ports() -> None:
    """The SDK accepts a signature made for the URL without any port (even :1234);
    we verify exactly one URL (documented in the module)."""
    rv = pytest.importorskip("twilio.request_validator")
    with_port = TW_URL.replace(".com", ".com:1234")
    assert rv.RequestValidator(TW_TOKEN).validate(with_port, TW_PARAMS, TW_SIG)
    assert run(TW, _tw(url=with_port), TW_TOKEN).reason is Reason.BAD_SIGNATURE


def test_factories_and_metadata() -> None:
    assert set(FACTORIES) == {"twilio", "square", "mandrill", "plivo", "hubspot"}
    for name, factory in FACTORIES.items():
        assert get(name) is factory
        scheme = factory(secret="s")
        assert scheme.name == name
        assert scheme.needs_url is True
        assert scheme.body_signed is True


# =============================================================================== Square

SQ_H = "x-square-hmacsha256-signature"
SQ = square(secret="Ibxx_5AKakO-3qeNVR61Dw")
SQ_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SQ_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
SQ_SIG = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="


# Square SDK test suites (identical in the Python, Java, Go, PHP, Ruby and Node SDKs)
@pytest.mark.parametrize(
    ("key", "url", "body", "signature"),
    [
        pytest.param("Ibxx_5AKakO-3qeNVR61Dw", SQ_URL, SQ_BODY, SQ_SIG, id="test-notification"),
        pytest.param(
            "signature-key",
            "https://webhook.site/webhooks",
            b'{"data":{"type":"webhooks","id":">id<"}}',
            "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
            id="escaped-characters",
        ),
        pytest.param(
            "signature-key",
            "https://webhook.site/webhooks",
            b'{"data":{"type":"webhooks","id":"fake_id"}}',
            "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=",
            id="unescaped-characters",
        ),
    ],
)
def test_square_published_vectors(key: str, url: str, body: bytes, signature: str) -> None:
    req = request(url, body, {SQ_H: signature}, content_type="application/json")
    result = run(square(secret=key), req, key)
    assert result.reason is Reason.VERIFIED
    assert result.replay_material == signature.encode()
    assert square(secret=key).sign(body, secret=key, url=url) == {SQ_H: signature}


def _sq(url: str = SQ_URL, body: bytes = SQ_BODY, headers: Any = None) -> WebhookRequest:
    return request(url, body, {SQ_H: SQ_SIG} if headers is None else headers, content_type=None)


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        pytest.param(_sq(), Reason.VERIFIED, id="genuine"),
        pytest.param(_sq(headers={}), Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param(
            _sq(headers=[(SQ_H, SQ_SIG), (SQ_H, SQ_SIG)]),
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-header",
        ),
        pytest.param(_sq(headers={SQ_H: SQ_SIG[:20]}), Reason.BAD_SIGNATURE, id="truncated"),
        pytest.param(
            _sq(headers={SQ_H: "sha256=" + SQ_SIG}), Reason.MALFORMED_SIGNATURE, id="prefix"
        ),
        pytest.param(_sq(body=SQ_BODY + b"\n"), Reason.BAD_SIGNATURE, id="tampered-body"),
        pytest.param(_sq(url=SQ_URL + "?x=1"), Reason.BAD_SIGNATURE, id="extra-query-param"),
        pytest.param(_sq(url=SQ_URL + "/"), Reason.BAD_SIGNATURE, id="other-path"),
        pytest.param(
            _sq(url=SQ_URL.replace("webhook.site", "evil.site")),
            Reason.BAD_SIGNATURE,
            id="other-host",
        ),
        pytest.param(_sq(url=""), Reason.BAD_REQUEST, id="no-url"),
        pytest.param(
            _sq(headers={"x-square-signature": SQ_SIG}),
            Reason.MISSING_SIGNATURE,
            id="legacy-header-only",
        ),
    ],
)
def test_square_cases(req: WebhookRequest, reason: Reason) -> None:
    assert run(SQ, req, "Ibxx_5AKakO-3qeNVR61Dw").reason is reason


def test_square_wrong_key() -> None:
    assert run(SQ, _sq(), "other-key").reason is Reason.BAD_SIGNATURE


def test_square_legacy_sha1_is_opt_in_and_exclusive() -> None:
    legacy = square(secret="k", algorithm="sha1")
    headers = legacy.sign(b"{}", secret="k", url=SQ_URL)
    assert headers == {"x-square-signature": b64_hmac("k", SQ_URL.encode() + b"{}")}
    assert run(legacy, request(SQ_URL, b"{}", headers), "k").reason is Reason.VERIFIED
    both = {**headers, **SQ.sign(b"{}", secret="k", url=SQ_URL)}
    assert run(SQ, request(SQ_URL, b"{}", both), "k").reason is Reason.VERIFIED
    assert run(SQ, request(SQ_URL, b"{}", headers), "k").reason is Reason.MISSING_SIGNATURE
    with pytest.raises(ConfigurationError):
        square(secret="k", algorithm="md5")


def test_square_sdk_both_ways() -> None:
    helper = pytest.importorskip("square.utils.webhooks_helper")
    body = '{"type":"payment.updated","data":{"id":"é🎉"}}'
    url = "https://example.com/hooks/square?tenant=a"
    ours = SQ.sign(body.encode(), secret="sq-key", url=url)[SQ_H]
    assert helper.verify_signature(
        request_body=body, signature_header=ours, signature_key="sq-key", notification_url=url
    )
    assert not helper.verify_signature(
        request_body=body + " ", signature_header=ours, signature_key="sq-key", notification_url=url
    )
    # The SDK only verifies: compute as its code and docs do, verify with ours.
    theirs = base64.b64encode(
        hmac.new(b"sq-key", (url + body).encode("utf-8"), hashlib.sha256).digest()
    ).decode()
    assert helper.verify_signature(
        request_body=body, signature_header=theirs, signature_key="sq-key", notification_url=url
    )
    req = request(url, body.encode(), {SQ_H: theirs}, content_type="application/json")
    assert run(SQ, req, "sq-key").reason is Reason.VERIFIED


# =============================================================================== Mandrill

MD_H = "X-Mandrill-Signature"
MD = mandrill(secret="md-key")
MD_URL = "https://example.com/hooks/mandrill"
MD_EVENTS = json.dumps([{"event": "send", "msg": {"subject": "héllo"}, "_id": "1"}])
MD_BODY = urlencode({"mandrill_events": MD_EVENTS}).encode()


def mandrill_reference(key: str, url: str, params: dict[str, str]) -> str:
    """Mandrill's documented algorithm (Mailchimp Transactional "Authenticating webhook requests")."""
    signed = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def test_mandrill_round_trip_matches_documented_algorithm() -> None:
    expected = mandrill_reference("md-key", MD_URL, {"mandrill_events": MD_EVENTS})
    assert MD.sign(MD_BODY, secret="md-key", url=MD_URL) == {MD_H: expected}
    result = run(MD, request(MD_URL, MD_BODY, {MD_H: expected}), "md-key")
    assert result.reason is Reason.VERIFIED
    assert result.replay_material == expected.encode()
    two = urlencode({"b": "2", "a": "1"}).encode()
    sig = mandrill_reference("md-key", MD_URL, {"a": "1", "b": "2"})
    assert run(MD, request(MD_URL, two, {MD_H: sig}), "md-key").reason is Reason.VERIFIED


MD_SIG = mandrill_reference("md-key", MD_URL, {"mandrill_events": MD_EVENTS})


@pytest.mark.parametrize(
    ("url", "body", "headers", "content_type", "reason"),
    [
        pytest.param(MD_URL, MD_BODY, {MD_H: MD_SIG}, FORM, Reason.VERIFIED, id="genuine"),
        pytest.param(MD_URL, MD_BODY, {}, FORM, Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param(
            MD_URL, MD_BODY, [(MD_H, MD_SIG)] * 2, FORM, Reason.MALFORMED_SIGNATURE, id="duplicate"
        ),
        pytest.param(
            MD_URL,
            MD_BODY.replace(b"send", b"open"),
            {MD_H: MD_SIG},
            FORM,
            Reason.BAD_SIGNATURE,
            id="tampered-body",
        ),
        pytest.param(
            MD_URL + "?x=1", MD_BODY, {MD_H: MD_SIG}, FORM, Reason.BAD_SIGNATURE, id="extra-query"
        ),
        pytest.param(
            "https://other.example.com/hooks/mandrill",
            MD_BODY,
            {MD_H: MD_SIG},
            FORM,
            Reason.BAD_SIGNATURE,
            id="other-host",
        ),
        pytest.param("", MD_BODY, {MD_H: MD_SIG}, FORM, Reason.BAD_REQUEST, id="no-url"),
        pytest.param(
            MD_URL,
            MD_BODY + b"&mandrill_events=%5B%5D",
            {MD_H: MD_SIG},
            FORM,
            Reason.BAD_REQUEST,
            id="repeated-name",
        ),
        pytest.param(
            MD_URL,
            MD_EVENTS.encode(),
            {MD_H: MD_SIG},
            "application/json",
            Reason.BAD_REQUEST,
            id="json-body",
        ),
        pytest.param(
            MD_URL, MD_BODY, {MD_H: MD_SIG[:-4]}, FORM, Reason.BAD_SIGNATURE, id="truncated"
        ),
    ],
)
def test_mandrill_cases(
    url: str, body: bytes, headers: Any, content_type: str, reason: Reason
) -> None:
    req = request(url, body, headers, content_type=content_type)
    assert run(MD, req, "md-key").reason is reason
    assert run(MD, req, "other-key").reason is (
        Reason.BAD_SIGNATURE if reason is Reason.VERIFIED else reason
    )


def test_mandrill_head_probe_is_refused_unless_enabled() -> None:
    probe = request(MD_URL, method="HEAD")
    assert run(MD, probe, "md-key").reason is Reason.MISSING_SIGNATURE
    answering = mandrill(secret="md-key", answer_head=True)
    result = run(answering, probe, "md-key")
    assert result.reason is Reason.VERIFIED
    assert result.response == (200, (), b"")
    assert result.replay_material is None
    # Only a bare HEAD: a HEAD carrying a (forged) signature, or a POST, is verified.
    forged = request(MD_URL, method="HEAD", headers={MD_H: MD_SIG})
    assert run(answering, forged, "md-key").reason is Reason.BAD_SIGNATURE
    assert run(answering, request(MD_URL), "md-key").reason is Reason.MISSING_SIGNATURE


# =============================================================================== Plivo

PV_H, PV_N = "X-Plivo-Signature-V3", "X-Plivo-Signature-V3-Nonce"
PV = plivo(secret="pv-token")
PV_URL = "https://example.com/hooks/plivo/answer"
PV_PARAMS = {
    "CallUUID": "abc-123",
    "To": "+15551234567",
    "From": "+15557654321",
    "Text": "hé 🎉 a+b",
}
PV_BODY = urlencode(PV_PARAMS).encode()
PV_NONCE = "05429567804466091622"


def plivo_sdk_signature(
    method: str, url: str, params: dict[str, Any], nonce: str = PV_NONCE
) -> str:
    sv3 = pytest.importorskip("plivo.utils.signature_v3")
    if method == "GET":
        base = sv3.construct_get_url(url, dict(params))
    else:
        base = sv3.construct_post_url(url, dict(params))
    return sv3.get_signature_v3(b"pv-token", base.decode("utf-8"), nonce.encode()).decode()


PLIVO_SHAPES = [
    pytest.param("POST", PV_URL, PV_PARAMS, id="post-form"),
    pytest.param("POST", PV_URL + "?b=2&a=1&a=0", PV_PARAMS, id="post-form-with-query"),
    pytest.param("POST", PV_URL + "?tenant=x%20y", {}, id="post-no-params-with-query"),
    pytest.param("POST", PV_URL, {}, id="post-empty"),
    pytest.param("GET", PV_URL + "?CallUUID=abc&To=%2B1555&From=1", {}, id="get-query"),
    pytest.param("GET", PV_URL, {}, id="get-bare"),
]


@pytest.mark.parametrize(("method", "url", "params"), PLIVO_SHAPES)
def test_plivo_sdk_signs_we_verify(method: str, url: str, params: dict[str, str]) -> None:
    sig = plivo_sdk_signature(method, url, params)
    body = urlencode(params).encode()
    req = request(url, body, {PV_H: sig, PV_N: PV_NONCE}, method=method)
    result = run(PV, req, "pv-token")
    assert result.reason is Reason.VERIFIED
    assert result.message_id == PV_NONCE
    assert result.replay_material == sig.encode()


@pytest.mark.parametrize(("method", "url", "params"), PLIVO_SHAPES)
def test_plivo_we_sign_sdk_verifies(method: str, url: str, params: dict[str, str]) -> None:
    utils = pytest.importorskip("plivo.utils")
    body = urlencode(params).encode()
    headers = PV.sign(body, secret="pv-token", url=url, nonce=PV_NONCE, method=method)
    assert headers[PV_N] == PV_NONCE
    sdk_params = dict(params) if method == "POST" else None
    assert utils.validate_v3_signature(method, url, PV_NONCE, "pv-token", headers[PV_H], sdk_params)
    assert run(PV, request(url, body, headers, method=method), "pv-token").reason is Reason.VERIFIED


def test_plivo_repeated_form_names_match_the_sdk_lists() -> None:
    pairs = [("Digits", "9"), ("Digits", "1"), ("A", "x")]
    sig = plivo_sdk_signature("POST", PV_URL, {"Digits": ["9", "1"], "A": "x"})
    req = request(PV_URL, urlencode(pairs).encode(), {PV_H: sig, PV_N: PV_NONCE})
    assert run(PV, req, "pv-token").reason is Reason.VERIFIED


PV_SIG = PV.sign(PV_BODY, secret="pv-token", url=PV_URL, nonce=PV_NONCE)[PV_H]
PV_OTHER = PV.sign(PV_BODY, secret="old-token", url=PV_URL, nonce=PV_NONCE)[PV_H]


def _pv(
    url: str = PV_URL,
    body: bytes = PV_BODY,
    sig: str | None = PV_SIG,
    nonce: str | None = PV_NONCE,
    *,
    extra: list[tuple[str, str]] | None = None,
    method: str = "POST",
    content_type: str = FORM,
) -> WebhookRequest:
    headers = [(PV_H, sig)] if sig is not None else []
    headers += [(PV_N, nonce)] if nonce is not None else []
    return request(url, body, headers + (extra or []), method=method, content_type=content_type)


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        pytest.param(_pv(), Reason.VERIFIED, id="genuine"),
        pytest.param(_pv(sig=f"{PV_OTHER},{PV_SIG}"), Reason.VERIFIED, id="list-second-matches"),
        pytest.param(_pv(sig=f"{PV_SIG},{PV_OTHER}"), Reason.VERIFIED, id="list-first-matches"),
        pytest.param(_pv(sig=",".join([PV_OTHER] * 7 + [PV_SIG])), Reason.VERIFIED, id="list-of-8"),
        pytest.param(
            _pv(sig=",".join([PV_OTHER] * 8 + [PV_SIG])), Reason.MALFORMED_SIGNATURE, id="list-of-9"
        ),
        pytest.param(_pv(sig=f"{PV_SIG},"), Reason.MALFORMED_SIGNATURE, id="empty-list-item"),
        pytest.param(
            _pv(sig=f"{PV_OTHER}, {PV_SIG}"), Reason.MALFORMED_SIGNATURE, id="space-in-list"
        ),
        pytest.param(_pv(sig=PV_OTHER), Reason.BAD_SIGNATURE, id="other-token-only"),
        pytest.param(_pv(sig=None), Reason.MISSING_SIGNATURE, id="missing-signature"),
        pytest.param(_pv(nonce=None), Reason.MISSING_SIGNATURE, id="missing-nonce"),
        pytest.param(
            _pv(extra=[(PV_N, PV_NONCE)]), Reason.MALFORMED_SIGNATURE, id="duplicate-nonce"
        ),
        pytest.param(
            _pv(extra=[(PV_H, PV_SIG)]), Reason.MALFORMED_SIGNATURE, id="duplicate-header"
        ),
        pytest.param(_pv(nonce="1" + PV_NONCE), Reason.BAD_SIGNATURE, id="other-nonce"),
        pytest.param(_pv(body=PV_BODY + b"&X=1"), Reason.BAD_SIGNATURE, id="extra-param"),
        pytest.param(
            _pv(body=PV_BODY.replace(b"abc", b"abd")), Reason.BAD_SIGNATURE, id="tampered-body"
        ),
        pytest.param(_pv(url=PV_URL + "?x=1"), Reason.BAD_SIGNATURE, id="extra-query-param"),
        pytest.param(
            _pv(url=PV_URL.replace("answer", "hangup")), Reason.BAD_SIGNATURE, id="other-path"
        ),
        pytest.param(
            _pv(url=PV_URL.replace("example", "evil")), Reason.BAD_SIGNATURE, id="other-host"
        ),
        pytest.param(_pv(url=""), Reason.BAD_REQUEST, id="no-url"),
        pytest.param(_pv(method="PUT"), Reason.BAD_REQUEST, id="put"),
        pytest.param(_pv(content_type="application/json"), Reason.BAD_REQUEST, id="json-body"),
        pytest.param(_pv(method="GET"), Reason.BAD_REQUEST, id="get-with-body"),
        pytest.param(_pv(body=b"Text=%FF"), Reason.BAD_REQUEST, id="form-not-utf8"),
    ],
)
def test_plivo_cases(req: WebhookRequest, reason: Reason) -> None:
    assert run(PV, req, "pv-token").reason is reason


def test_plivo_wrong_secret() -> None:
    assert run(PV, _pv(), "wrong").reason is Reason.BAD_SIGNATURE


# =============================================================================== HubSpot v3

HS_H, HS_T = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
# HubSpot's documented v3 example ("Validating requests", v3 Java example)
HS_SECRET = "cfc68c0b-4b4e-4ef8-b764-95350e4ea479"
HS_URL = "https://webhook.site/335453f5-94b3-49d9-b684-a55354d4b8df"
HS_BODY = (
    b'[{"eventId":531833541,"subscriptionId":3923621,"portalId":48807704,"appId":16111050,'
    b'"occurredAt":1752613920733,"subscriptionType":"contact.creation","attemptNumber":0,'
    b'"objectId":138017612137,"changeFlag":"CREATED","changeSource":"CRM_UI",'
    b'"sourceId":"userId:76023669"}]'
)
HS_TS = "1752613922216"
HS_SIG = "gbj1XPRvUt0noT7i7fXfTzOD4sLzQmf0VT28ZYq0EYg="
HS_NOW = 1752613922.216
HS = hubspot(secret=HS_SECRET)


def _hs(
    url: str = HS_URL,
    body: bytes = HS_BODY,
    headers: Any = None,
    method: str = "POST",
) -> WebhookRequest:
    return request(
        url,
        body,
        {HS_H: HS_SIG, HS_T: HS_TS} if headers is None else headers,
        method=method,
        content_type="application/json",
    )


def test_hubspot_published_vector() -> None:
    result = run(HS, _hs(), HS_SECRET, now=HS_NOW + 1)
    assert result.reason is Reason.VERIFIED
    assert result.timestamp == int(HS_TS)
    assert result.replay_material == HS_SIG.encode()
    assert HS.sign(HS_BODY, secret=HS_SECRET, url=HS_URL, timestamp=HS_NOW) == {
        HS_H: HS_SIG,
        HS_T: HS_TS,
    }
    assert HS.replay_ttl() == 600.0


@pytest.mark.parametrize(
    ("req", "now", "reason"),
    [
        pytest.param(_hs(), HS_NOW + 300, Reason.VERIFIED, id="300s-old-inclusive"),
        pytest.param(_hs(), HS_NOW + 300.5, Reason.STALE_TIMESTAMP, id="stale"),
        pytest.param(_hs(), HS_NOW - 300, Reason.VERIFIED, id="300s-ahead-inclusive"),
        pytest.param(_hs(), HS_NOW - 301, Reason.FUTURE_TIMESTAMP, id="future"),
        pytest.param(_hs(headers={HS_H: HS_SIG}), HS_NOW, Reason.MISSING_TIMESTAMP, id="no-ts"),
        pytest.param(_hs(headers={HS_T: HS_TS}), HS_NOW, Reason.MISSING_SIGNATURE, id="no-sig"),
        pytest.param(
            _hs(headers=[(HS_H, HS_SIG), (HS_T, HS_TS), (HS_T, HS_TS)]),
            HS_NOW,
            Reason.MALFORMED_TIMESTAMP,
            id="duplicate-ts",
        ),
        pytest.param(
            _hs(headers=[(HS_H, HS_SIG), (HS_H, HS_SIG), (HS_T, HS_TS)]),
            HS_NOW,
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-sig",
        ),
        pytest.param(
            _hs(headers={HS_H: HS_SIG, HS_T: "1752613922216.0"}),
            HS_NOW,
            Reason.MALFORMED_TIMESTAMP,
            id="float-ts",
        ),
        pytest.param(
            _hs(headers={HS_H: HS_SIG, HS_T: "+1752613922216"}),
            HS_NOW,
            Reason.MALFORMED_TIMESTAMP,
            id="signed-ts",
        ),
        pytest.param(
            _hs(headers={HS_H: HS_SIG, HS_T: "1752613922"}),
            HS_NOW,
            Reason.STALE_TIMESTAMP,
            id="seconds-ts",
        ),
        pytest.param(
            _hs(headers={HS_H: HS_SIG[:-1], HS_T: HS_TS}),
            HS_NOW,
            Reason.BAD_SIGNATURE,
            id="truncated",
        ),
        pytest.param(
            _hs(headers={HS_H: "v3=" + HS_SIG, HS_T: HS_TS}),
            HS_NOW,
            Reason.MALFORMED_SIGNATURE,
            id="prefixed",
        ),
        pytest.param(_hs(body=HS_BODY[:-1]), HS_NOW, Reason.BAD_SIGNATURE, id="tampered-body"),
        pytest.param(_hs(method="PUT"), HS_NOW, Reason.BAD_SIGNATURE, id="other-method"),
        pytest.param(_hs(url=HS_URL + "?x=1"), HS_NOW, Reason.BAD_SIGNATURE, id="extra-query"),
        pytest.param(_hs(url=HS_URL + "x"), HS_NOW, Reason.BAD_SIGNATURE, id="other-path"),
        pytest.param(
            _hs(url=HS_URL.replace("https", "http")),
            HS_NOW,
            Reason.BAD_SIGNATURE,
            id="other-scheme",
        ),
        pytest.param(
            _hs(url=HS_URL.replace("webhook.site", "evil.site")),
            HS_NOW,
            Reason.BAD_SIGNATURE,
            id="other-host",
        ),
        pytest.param(_hs(url=""), HS_NOW, Reason.BAD_REQUEST, id="no-url"),
    ],
)
def test_hubspot_cases(req: WebhookRequest, now: float, reason: Reason) -> None:
    assert run(HS, req, HS_SECRET, now=now).reason is reason


def test_hubspot_wrong_secret() -> None:
    assert run(HS, _hs(), "other", now=HS_NOW).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        pytest.param(
            "https://a.example/h?x=a%3Ab%2Cc%40d",
            "https://a.example/h?x=a:b,c@d",
            id="listed-decoded",
        ),
        pytest.param(
            "https://a.example/h?x=a%3ab", "https://a.example/h?x=a:b", id="lower-case-hex"
        ),
        pytest.param(
            "https://a.example/h?x=a%20b%26c", "https://a.example/h?x=a%20b%26c", id="others-kept"
        ),
        pytest.param(
            "https://a.example/h?x=%253A", "https://a.example/h?x=%253A", id="single-pass"
        ),
        pytest.param(
            "https://a.example/h%2Fp?r=%3F%21%24%27%28%29%2A%3B",
            "https://a.example/h/p?r=?!$'()*;",
            id="whole-list",
        ),
    ],
)
def test_hubspot_uri_decoding(sent: str, signed: str) -> None:
    assert hubspot_uri(sent) == signed
    message = b"POST" + signed.encode() + b"{}" + HS_TS.encode()
    sig = base64.b64encode(hmac.new(b"s", message, hashlib.sha256).digest()).decode()
    req = request(sent, b"{}", {HS_H: sig, HS_T: HS_TS}, content_type="application/json")
    assert run(hubspot(secret="s"), req, "s", now=HS_NOW).reason is Reason.VERIFIED


def test_hubspot_window_configuration() -> None:
    assert hubspot(secret="s", window=60, future_window=5).replay_ttl() == 65.0
    for bad in ({"window": 0}, {"window": 86401}, {"window": 60, "future_window": -1}):
        with pytest.raises(ConfigurationError):
            hubspot(secret="s", **bad)
    before = int(time.time() * 1000)  # the one signing interface: default now
    assert before <= int(HS.sign(b"{}", secret="s", url=HS_URL)[HS_T]) <= int(time.time() * 1000)


def test_hubspot_sdk_signs_we_verify() -> None:
    sig_mod = pytest.importorskip("hubspot.utils.signature")
    body = '{"objectId":1,"name":"é🎉"}'
    sig = sig_mod.Signature.get_signature(HS_SECRET, body, "v3", HS_URL + "?a=1", "POST", HS_TS)
    req = _hs(url=HS_URL + "?a=1", body=body.encode(), headers={HS_H: sig, HS_T: HS_TS})
    assert run(HS, req, HS_SECRET, now=HS_NOW).reason is Reason.VERIFIED


def test_hubspot_we_sign_sdk_verifies_and_sdk_is_laxer_on_future() -> None:
    import time

    sig_mod = pytest.importorskip("hubspot.utils.signature")
    now = time.time()  # the SDK checks against the real clock
    body = b'{"objectId":1}'
    headers = HS.sign(body, secret="cs", url=HS_URL, timestamp=now, method="POST")
    assert sig_mod.Signature.is_valid(
        headers[HS_H], "cs", body.decode(), HS_URL, "POST", "v3", headers[HS_T]
    )
    # An hour ahead: the SDK accepts, we refuse.
    ahead = HS.sign(body, secret="cs", url=HS_URL, timestamp=now + 3600)
    assert sig_mod.Signature.is_valid(
        ahead[HS_H], "cs", body.decode(), HS_URL, "POST", "v3", ahead[HS_T]
    )
    req = _hs(body=body, headers=ahead)
    assert run(HS, req, "cs", now=now).reason is Reason.FUTURE_TIMESTAMP


# =============================================================================== end to end

PUBLIC = "https://hooks.example.com"
PROXY = "10.0.0.7"
STRANGER = "203.0.113.9"


def _wsgi_app(seen: list[Any]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        verdict = get_verdict(environ)
        seen.append((verdict.provider, verdict.verified, environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def _wsgi_call(
    app: Any,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    query: str = "",
    peer: str = STRANGER,
    method: str = "POST",
) -> tuple[int, bytes]:
    environ = build_wsgi_environ(path, body=body, headers=headers, query=query, method=method)
    environ["REMOTE_ADDR"] = peer
    status: list[str] = []

    def start_response(s: str, h: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)
        return lambda data: None

    out = b"".join(app(environ, start_response))
    return int(status[0].split()[0]), out


def test_twilio_end_to_end_wsgi_with_public_url() -> None:
    seen: list[Any] = []
    route = Route("/hooks/twilio", twilio(secret=TW_TOKEN), public_url=f"{PUBLIC}/hooks/twilio")
    wrapped = Guard([route], clock=FrozenClock(NOW)).wsgi(_wsgi_app(seen))
    url = f"{PUBLIC}/hooks/twilio?tenant=a"  # public_url + the request's query
    genuine = {**TW.sign(TW_BODY, secret=TW_TOKEN, url=url), "Content-Type": FORM}
    internal = {"Host": "app.internal:8000"}

    status, _ = _wsgi_call(
        wrapped, "/hooks/twilio", TW_BODY, {**genuine, **internal}, query="tenant=a"
    )
    assert status == 200
    assert seen == [("twilio", True, TW_BODY)]

    for query, body in (
        ("tenant=b", TW_BODY),
        ("tenant=a&x=1", TW_BODY),
        ("tenant=a", TW_DUP_BODY),
    ):
        status, content = _wsgi_call(
            wrapped, "/hooks/twilio", body, {**genuine, **internal}, query=query
        )
        assert status == 401
        assert json.loads(content)["error"] == "bad_signature"
    # Signed for the internal URL the server sees: refused, the public URL is configured.
    internal_sig = TW.sign(TW_BODY, secret=TW_TOKEN, url="http://app.internal:8000/hooks/twilio")
    status, _ = _wsgi_call(
        wrapped, "/hooks/twilio", TW_BODY, {**internal_sig, **internal, "Content-Type": FORM}
    )
    assert status == 401
    assert len(seen) == 1


def test_square_end_to_end_wsgi_rebuilt_url_behind_trusted_proxy() -> None:
    seen: list[Any] = []
    guard = Guard(
        [Route("/hooks/square", square(secret="sq"))],
        trusted_proxies=[PROXY],
        clock=FrozenClock(NOW),
    )
    wrapped = guard.wsgi(_wsgi_app(seen))
    body = b'{"event_id":"e1"}'
    forwarded = {
        "Host": "app.internal:8000",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
    }
    public_sig = SQ.sign(body, secret="sq", url=f"{PUBLIC}/hooks/square")

    status, _ = _wsgi_call(wrapped, "/hooks/square", body, {**public_sig, **forwarded}, peer=PROXY)
    assert status == 200
    assert seen == [("square", True, body)]

    # The same forwarded headers from an untrusted peer are ignored: the URL is rebuilt
    # from Host (http://app.internal:8000/...), so the public signature does not verify.
    body2 = b'{"event_id":"e2"}'
    sig2 = SQ.sign(body2, secret="sq", url=f"{PUBLIC}/hooks/square")
    status, content = _wsgi_call(
        wrapped, "/hooks/square", body2, {**sig2, **forwarded}, peer=STRANGER
    )
    assert status == 401
    assert json.loads(content)["error"] == "bad_signature"
    # ...while a signature for the URL rebuilt from Host does (no forwarded headers needed).
    internal_sig = SQ.sign(body2, secret="sq", url="http://app.internal:8000/hooks/square")
    status, _ = _wsgi_call(
        wrapped, "/hooks/square", body2, {**internal_sig, **forwarded}, peer=STRANGER
    )
    assert status == 200
    assert len(seen) == 2


async def _asgi_call(
    app: Any,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    query: str = "",
    peer: str = STRANGER,
    method: str = "POST",
) -> tuple[int, bytes]:
    scope = build_asgi_scope(
        path,
        body=body,
        method=method,
        headers=headers,
        query=query,
        client=(peer, 40000),
        server=("10.0.0.1", 8000),
    )
    status, _, content = await call_asgi(app, scope, body)
    return status, content


def _asgi_app(seen: list[Any]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        verdict = get_verdict(scope)
        message = await receive()
        seen.append((verdict.provider, verdict.verified, message["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_hubspot_end_to_end_asgi_with_public_url() -> None:
    seen: list[Any] = []
    route = Route("/hooks/hubspot", hubspot(secret=HS_SECRET), public_url=HS_URL)
    wrapped = Guard([route], clock=FrozenClock(HS_NOW)).asgi(_asgi_app(seen))

    async def scenario() -> None:
        status, _ = await _asgi_call(
            wrapped, "/hooks/hubspot", HS_BODY, {HS_H: HS_SIG, HS_T: HS_TS}
        )
        assert status == 200
        assert seen == [("hubspot", True, HS_BODY)]
        status, content = await _asgi_call(
            wrapped, "/hooks/hubspot", HS_BODY, {HS_H: HS_SIG, HS_T: HS_TS}, query="x=1"
        )
        assert (status, json.loads(content)["error"]) == (401, "bad_signature")
        status, content = await _asgi_call(
            wrapped, "/hooks/hubspot", HS_BODY + b" ", {HS_H: HS_SIG, HS_T: HS_TS}
        )
        assert (status, json.loads(content)["error"]) == (401, "bad_signature")
        assert len(seen) == 1

    asyncio.run(scenario())


def test_plivo_end_to_end_asgi_rebuilt_url_behind_trusted_proxy() -> None:
    seen: list[Any] = []
    guard = Guard(
        [Route("/hooks/plivo", plivo(secret="pv-token"))],
        trusted_proxies=[PROXY],
        clock=FrozenClock(NOW),
    )
    wrapped = guard.asgi(_asgi_app(seen))
    forwarded = {
        "Host": "app.internal:8000",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
        "Content-Type": FORM,
    }

    def signed(nonce: str) -> dict[str, str]:
        return PV.sign(PV_BODY, secret="pv-token", url=f"{PUBLIC}/hooks/plivo?call=1", nonce=nonce)

    async def scenario() -> None:
        headers = {**forwarded, **signed("1")}
        status, _ = await _asgi_call(
            wrapped, "/hooks/plivo", PV_BODY, headers, query="call=1", peer=PROXY
        )
        assert status == 200
        assert seen == [("plivo", True, PV_BODY)]
        # X-Forwarded-Host from an untrusted peer is ignored: the request fails to verify.
        headers = {**forwarded, **signed("2")}
        status, content = await _asgi_call(
            wrapped, "/hooks/plivo", PV_BODY, headers, query="call=1", peer=STRANGER
        )
        assert (status, json.loads(content)["error"]) == (401, "bad_signature")
        # A trusted proxy forwarding another host: the URL differs, so no verification.
        headers = {**forwarded, **signed("3"), "X-Forwarded-Host": "other.example.com"}
        status, _ = await _asgi_call(
            wrapped, "/hooks/plivo", PV_BODY, headers, query="call=1", peer=PROXY
        )
        assert status == 401
        assert len(seen) == 1

    asyncio.run(scenario())


def test_mandrill_head_probe_end_to_end_wsgi() -> None:
    seen: list[Any] = []
    url = f"{PUBLIC}/hooks/mandrill"
    strict = Guard([Route("/hooks/mandrill", mandrill(secret="md-key"), public_url=url)])
    answering = Guard(
        [Route("/hooks/mandrill", mandrill(secret="md-key", answer_head=True), public_url=url)]
    )
    for guard, expected in ((strict, 401), (answering, 200)):
        wrapped = guard.wsgi(_wsgi_app(seen))
        status, content = _wsgi_call(wrapped, "/hooks/mandrill", b"", {}, method="HEAD")
        assert (status, content) == (expected, b"" if expected == 200 else content)
    assert seen == []  # the app never sees the probe
    wrapped = answering.wsgi(_wsgi_app(seen))
    headers = {**MD.sign(MD_BODY, secret="md-key", url=url), "Content-Type": FORM}
    assert _wsgi_call(wrapped, "/hooks/mandrill", MD_BODY, headers)[0] == 200
    assert seen == [("mandrill", True, MD_BODY)]


def test_scheme_without_url_fails_closed() -> None:
    """Outside the adapters ``request.url`` is empty: never a verification."""
    for name, factory in FACTORIES.items():
        scheme = factory(secret="s")
        url = "https://example.com/x"
        extra: dict[str, Any] = {"timestamp": NOW} if name == "hubspot" else {}
        body = b"a=1" if name != "square" else b"{}"
        headers = scheme.sign(body, secret="s", url=url, **extra)
        genuine = request(url, body, headers)
        assert run(scheme, genuine, "s").reason is Reason.VERIFIED, name
        blank = request("", body, headers)
        assert run(scheme, blank, "s").reason is Reason.BAD_REQUEST, name
