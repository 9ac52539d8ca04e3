"""Timestamped HMAC providers: Stripe, Slack, Paddle, Zoom, Calendly, Mux, Persona,
Buildkite, Frame.io.

Oracles: stripe (16.x) and slack-sdk both ways, paddle-python-sdk both ways, Slack's
published vector; the others are computed here with ``hmac`` from the documented
formula (no official Python SDK).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get
from webhook_guard.providers.timestamped import FACTORIES
from webhook_guard.testing import FrozenClock, build_wsgi_environ

NOW = 1_790_000_000
SECRET = "whsec_test_secret"
BODY = b'{"event":"test","data":{"id":123,"name":"Zo\xc3\xab"}}'


def check(
    name: str, headers: Any, body: bytes = BODY, *, secret: str = SECRET, now: float = NOW
) -> Any:
    pairs = list(headers.items()) if isinstance(headers, dict) else headers
    request = WebhookRequest(method="POST", path="/h", headers=Headers(pairs), body=body)
    return get(name)(secret=secret).check(request, KeySet([Secret(secret, key_id="k")]), now)


def hexmac(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# -- independent computation from the documented formulas ---------------------------------

#: name -> headers a sender computes for (body, ts) by the provider's documented formula.
DOCUMENTED = {
    "stripe": lambda b, t: {"Stripe-Signature": f"t={t},v1={hexmac(f'{t}.'.encode() + b)}"},
    "calendly": lambda b, t: {
        "Calendly-Webhook-Signature": f"t={t},v1={hexmac(f'{t}.'.encode() + b)}"
    },
    "mux": lambda b, t: {"Mux-Signature": f"t={t},v1={hexmac(f'{t}.'.encode() + b)}"},
    "persona": lambda b, t: {"Persona-Signature": f"t={t},v1={hexmac(f'{t}.'.encode() + b)}"},
    "paddle": lambda b, t: {"Paddle-Signature": f"ts={t};h1={hexmac(f'{t}:'.encode() + b)}"},
    "buildkite": lambda b, t: {
        "X-Buildkite-Signature": f"timestamp={t},signature={hexmac(f'{t}.'.encode() + b)}"
    },
    "slack": lambda b, t: {
        "X-Slack-Request-Timestamp": str(t),
        "X-Slack-Signature": "v0=" + hexmac(f"v0:{t}:".encode() + b),
    },
    "zoom": lambda b, t: {
        "x-zm-request-timestamp": str(t),
        "x-zm-signature": "v0=" + hexmac(f"v0:{t}:".encode() + b),
    },
    "frameio": lambda b, t: {
        "X-Frameio-Request-Timestamp": str(t),
        "X-Frameio-Signature": "v0=" + hexmac(f"v0:{t}:".encode() + b),
    },
}
WINDOWS = {"paddle": 5, "calendly": 180}


def test_every_registered_provider_is_covered() -> None:
    assert set(DOCUMENTED) == set(FACTORIES)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_formula_verifies_and_sign_agrees(name: str) -> None:
    headers = DOCUMENTED[name](BODY, NOW)
    result = check(name, headers)
    assert result.reason is Reason.VERIFIED
    assert result.timestamp == NOW
    assert get(name)(secret=SECRET).sign(BODY, secret=SECRET, timestamp=NOW) == headers


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_common_failures(name: str) -> None:
    window = WINDOWS.get(name, 300)
    assert check(name, DOCUMENTED[name](BODY, NOW), BODY + b" ").reason is Reason.BAD_SIGNATURE
    assert check(name, DOCUMENTED[name](BODY, NOW), secret="other").reason is Reason.BAD_SIGNATURE
    assert check(name, DOCUMENTED[name](BODY, NOW - window)).reason is Reason.VERIFIED
    assert check(name, DOCUMENTED[name](BODY, NOW - window - 1)).reason is Reason.STALE_TIMESTAMP
    assert check(name, DOCUMENTED[name](BODY, NOW + window + 1)).reason is Reason.FUTURE_TIMESTAMP
    assert check(name, {}).reason is Reason.MISSING_SIGNATURE
    doubled = [*DOCUMENTED[name](BODY, NOW).items(), *DOCUMENTED[name](BODY, NOW).items()]
    assert check(name, doubled).reason in (Reason.MALFORMED_SIGNATURE, Reason.MALFORMED_TIMESTAMP)


# -- the signature-list grammar (Stripe as the example) ------------------------------------

V1 = hexmac(f"{NOW}.".encode() + BODY)
V1_OTHER = hexmac(f"{NOW}.".encode() + BODY, "whsec_other")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param(
            f"t={NOW},v1={V1_OTHER},v1={V1},v0={'0' * 64}",
            Reason.VERIFIED,
            id="rolled-secret-v0-ignored",
        ),
        pytest.param(f"v1={V1},t={NOW}", Reason.VERIFIED, id="order-free"),
        pytest.param(f"t={NOW},v0={V1}", Reason.BAD_SIGNATURE, id="only-v0"),
        pytest.param(f"t={NOW},v1={V1.upper()}", Reason.MALFORMED_SIGNATURE, id="uppercase-hex"),
        pytest.param(f"t={NOW},v1={V1[:-1]}", Reason.MALFORMED_SIGNATURE, id="truncated"),
        pytest.param(f"t={NOW},t={NOW},v1={V1}", Reason.MALFORMED_SIGNATURE, id="t-twice"),
        pytest.param(
            f"t={NOW - 1000},t={NOW},v1={V1}", Reason.MALFORMED_SIGNATURE, id="t-twice-different"
        ),
        pytest.param(f"v1={V1}", Reason.MALFORMED_SIGNATURE, id="no-t"),
        pytest.param(f"t={NOW},v1={V1},", Reason.MALFORMED_SIGNATURE, id="trailing-comma"),
        pytest.param(f"t={NOW},v1", Reason.MALFORMED_SIGNATURE, id="pair-without-equals"),
        pytest.param(
            f"t={NOW},{','.join(['v1=' + V1_OTHER] * 8)},v1={V1}",
            Reason.MALFORMED_SIGNATURE,
            id="nine-signatures",
        ),
        pytest.param(f"t={NOW}.5,v1={V1}", Reason.MALFORMED_TIMESTAMP, id="float-t"),
        pytest.param(f"t=+{NOW},v1={V1}", Reason.MALFORMED_TIMESTAMP, id="signed-t"),
        pytest.param(f"t={NOW},v1={V1}\x00", Reason.MALFORMED_SIGNATURE, id="nul"),
    ],
)
def test_stripe_header_grammar(header: str, reason: Reason) -> None:
    assert check("stripe", {"Stripe-Signature": header}).reason is reason


def test_stripe_published_style_vector() -> None:
    # providers.md: secret whsec_test_secret, t=1700000000, this body; computed with the SDK.
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=1_700_000_000
    )
    assert header.startswith("t=1700000000,v1=9e6ad47f")
    assert (
        check("stripe", {"Stripe-Signature": header}, now=1_700_000_000).reason is Reason.VERIFIED
    )


def test_stripe_sdk_both_ways() -> None:
    import stripe

    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, timestamp=now)
    assert check("stripe", {"Stripe-Signature": header}, now=now).reason is Reason.VERIFIED
    ours = get("stripe")(secret=SECRET).sign(BODY, secret=SECRET, timestamp=now)["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(BODY, ours, SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(BODY, ours, "whsec_other", tolerance=300)


def test_stricter_than_stripe_on_future_timestamps() -> None:
    import stripe

    future = int(time.time()) + 3600
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=future
    )
    assert stripe.WebhookSignature.verify_header(
        BODY, header, SECRET, tolerance=300
    )  # SDK: accepted
    assert (
        check("stripe", {"Stripe-Signature": header}, now=time.time()).reason
        is Reason.FUTURE_TIMESTAMP
    )


# -- Slack ---------------------------------------------------------------------------------

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_slack_published_vector() -> None:
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    assert (
        check("slack", headers, SLACK_BODY, secret=SLACK_SECRET, now=1531420618).reason
        is Reason.VERIFIED
    )


def test_slack_sdk_both_ways() -> None:
    from slack_sdk.signature import SignatureVerifier

    now = int(time.time())
    verifier = SignatureVerifier(SLACK_SECRET)
    signature = verifier.generate_signature(timestamp=str(now), body=BODY.decode())
    headers = {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": signature}
    assert check("slack", headers, secret=SLACK_SECRET, now=now).reason is Reason.VERIFIED
    ours = get("slack")(secret=SLACK_SECRET).sign(BODY, secret=SLACK_SECRET, timestamp=now)
    assert verifier.is_valid(BODY, ours["X-Slack-Request-Timestamp"], ours["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(
        BODY, ours["X-Slack-Request-Timestamp"], ours["X-Slack-Signature"]
    )


def test_slack_url_verification_answered_only_when_signed() -> None:
    body = json.dumps(
        {"type": "url_verification", "challenge": "3eZbrw1aBm2r", "token": "x"}
    ).encode()
    headers = DOCUMENTED["slack"](body, NOW)
    result = check("slack", headers, body)
    assert result.reason is Reason.VERIFIED
    assert result.response is not None
    assert json.loads(result.response[2]) == {"challenge": "3eZbrw1aBm2r"}
    unsigned = check("slack", {"X-Slack-Request-Timestamp": str(NOW)}, body)
    assert unsigned.reason is Reason.MISSING_SIGNATURE
    assert unsigned.response is None


def test_slack_ssl_check_answered_empty_after_verification() -> None:
    body = b"ssl_check=1&token=x"
    result = check("slack", DOCUMENTED["slack"](body, NOW), body)
    assert result.response == (200, (), b"")


# -- Paddle ---------------------------------------------------------------------------------


def test_paddle_sdk_both_ways() -> None:
    from paddle_billing.Notifications import PaddleSignature, Verifier
    from paddle_billing.Notifications import Secret as PaddleSecret

    now = int(time.time())
    h1 = PaddleSignature.calculate_hmac(SECRET, f"{now}:".encode() + BODY).hexdigest()
    assert (
        check("paddle", {"Paddle-Signature": f"ts={now};h1={h1}"}, now=now).reason
        is Reason.VERIFIED
    )
    ours = get("paddle")(secret=SECRET).sign(BODY, secret=SECRET, timestamp=now)
    request = SimpleNamespace(headers=ours, body=BODY, content=BODY, data=BODY)
    assert Verifier().verify(request, PaddleSecret(SECRET)) is True
    assert Verifier().verify(request, PaddleSecret("other")) is False


# -- Zoom -------------------------------------------------------------------------------


def zoom_validation(plain: str = "qgg8vlvZRS6UYooatFL8Aw") -> bytes:
    return json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": plain}, "event_ts": NOW}
    ).encode()


def test_zoom_url_validation_after_verification() -> None:
    body = zoom_validation()
    result = check("zoom", DOCUMENTED["zoom"](body, NOW), body)
    assert result.reason is Reason.VERIFIED
    assert result.response is not None
    answer = json.loads(result.response[2])
    assert answer == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": hexmac(b"qgg8vlvZRS6UYooatFL8Aw"),
    }


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param(
            {"x-zm-request-timestamp": str(NOW), "x-zm-signature": "v0=" + "0" * 64}, id="forged"
        ),
    ],
)
def test_zoom_unsigned_validation_is_not_an_oracle(headers: dict[str, str]) -> None:
    result = check("zoom", headers, zoom_validation())
    assert result.reason is not Reason.VERIFIED
    assert result.response is None


def test_zoom_validation_without_token_is_bad_request() -> None:
    body = json.dumps({"event": "endpoint.url_validation", "payload": {}}).encode()
    assert check("zoom", DOCUMENTED["zoom"](body, NOW), body).reason is Reason.BAD_REQUEST


# -- Persona rotation groups ----------------------------------------------------------------------


def test_persona_rotation_groups() -> None:
    old = f"t={NOW},v1={hexmac(f'{NOW}.'.encode() + BODY, 'old')}"
    new = f"t={NOW},v1={V1}"
    assert check("persona", {"Persona-Signature": f"{old} {new}"}).reason is Reason.VERIFIED
    assert check("persona", {"Persona-Signature": f"{old} {old}"}).reason is Reason.BAD_SIGNATURE
    assert (
        check("persona", {"Persona-Signature": " ".join([old] * 9)}).reason
        is Reason.MALFORMED_SIGNATURE
    )


# -- properties and end to end ----------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(DOCUMENTED)), value=st.text(max_size=300), ts=st.text(max_size=20)
)
def test_any_header_gives_a_check(name: str, value: str, ts: str) -> None:
    headers = {h: (ts if "timestamp" in h.lower() else value) for h in DOCUMENTED[name](BODY, NOW)}
    assert check(name, headers).reason is not Reason.VERIFIED


def test_end_to_end_slack_handshake_and_event() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    guarded = Guard(
        [Route("/slack/events", get("slack")(secret=SECRET))], clock=FrozenClock(NOW)
    ).wsgi(app)

    def send(body: bytes, headers: dict[str, str]) -> tuple[str, bytes]:
        status: list[str] = []
        environ = build_wsgi_environ("/slack/events", body=body, headers=headers)
        content = b"".join(guarded(environ, lambda s, h, e=None: status.append(s)))
        return status[0], content

    challenge = json.dumps({"type": "url_verification", "challenge": "c-1"}).encode()
    status, content = send(challenge, DOCUMENTED["slack"](challenge, NOW))
    assert status.startswith("200")
    assert json.loads(content) == {"challenge": "c-1"}
    assert seen == []  # the guard answered the handshake itself
    assert send(BODY, DOCUMENTED["slack"](BODY, NOW))[0].startswith("200")
    assert send(
        BODY, {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": "v0=" + "0" * 64}
    )[0].startswith("401")
    assert seen == [BODY]
