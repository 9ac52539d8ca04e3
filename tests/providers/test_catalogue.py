"""Body-HMAC providers and static-token presets.

Oracles: ``razorpay`` and ``line-bot-sdk`` verify our signatures; for the others the
expected value is computed here with ``hmac`` from the documented formula (no official
Python webhook helper exists).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get
from webhook_guard.providers.catalogue import BODY_HMAC, TOKENS
from webhook_guard.testing import build_wsgi_environ

SECRET = "catalogue-secret"
BODY = b'{"id":"evt_1","amount":100,"name":"Zo\xc3\xab"}'


def check(name: str, headers: Any, body: bytes = BODY, *, secret: str = SECRET) -> Reason:
    pairs = list(headers.items()) if isinstance(headers, dict) else headers
    request = WebhookRequest(method="POST", path="/h", headers=Headers(pairs), body=body)
    return get(name)(secret=secret).check(request, KeySet([Secret(secret, key_id="k")]), 0.0).reason


def documented(name: str, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    """The header a sender computes by the provider's documented formula."""
    spec = BODY_HMAC[name]
    digest = hmac.new(secret.encode(), body, getattr(hashlib, spec.algorithm)).digest()
    encoded = base64.b64encode(digest).decode() if spec.encoding == "base64" else digest.hex()
    return {spec.header: spec.prefix + encoded}


NAMES = sorted(BODY_HMAC)


@pytest.mark.parametrize("name", NAMES)
def test_documented_formula_verifies_and_sign_agrees(name: str) -> None:
    assert check(name, documented(name)) is Reason.VERIFIED
    assert get(name)(secret=SECRET).sign(BODY, secret=SECRET) == documented(name)


@pytest.mark.parametrize("name", NAMES)
def test_failures(name: str) -> None:
    [(header, value)] = documented(name).items()
    spec = BODY_HMAC[name]
    assert check(name, documented(name), BODY + b" ") is Reason.BAD_SIGNATURE
    assert check(name, documented(name, secret="other")) is Reason.BAD_SIGNATURE
    assert check(name, {}) is Reason.MISSING_SIGNATURE
    assert check(name, {header: value[:-2]}) is Reason.MALFORMED_SIGNATURE
    assert check(name, {header: value + "0"}) is Reason.MALFORMED_SIGNATURE
    assert check(name, [(header, value), (header, value)]) is Reason.MALFORMED_SIGNATURE
    assert check(name, {header: value[:-1] + "\xe9"}) in (
        Reason.BAD_SIGNATURE,
        Reason.MALFORMED_SIGNATURE,
    )
    if spec.prefix:
        assert check(name, {header: "x" + value[1:]}) is Reason.MALFORMED_SIGNATURE
    if spec.encoding == "hex":
        assert (
            check(name, {header: spec.prefix + value[len(spec.prefix) :].upper()})
            is Reason.BAD_SIGNATURE
        )


def test_sha1_and_sha512_lengths_are_enforced() -> None:
    assert len(documented("paystack")["x-paystack-signature"]) == 128
    assert len(documented("vercel")["x-vercel-signature"]) == 40


def test_razorpay_sdk_verifies_ours() -> None:
    import razorpay

    client = razorpay.Client(auth=("key", "secret"))
    [(_, signature)] = get("razorpay")(secret=SECRET).sign(BODY, secret=SECRET).items()
    assert client.utility.verify_webhook_signature(BODY.decode(), signature, SECRET)
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        client.utility.verify_webhook_signature(BODY.decode(), signature, "other")


def test_line_sdk_verifies_ours() -> None:
    from linebot.v3.webhook import SignatureValidator

    [(_, signature)] = get("line")(secret=SECRET).sign(BODY, secret=SECRET).items()
    assert SignatureValidator(SECRET).validate(BODY.decode(), signature)
    assert not SignatureValidator("other").validate(BODY.decode(), signature)


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_token_presets(name: str) -> None:
    header = TOKENS[name].header
    assert check(name, {header: SECRET}) is Reason.VERIFIED
    assert check(name, {header: SECRET + "x"}) is Reason.BAD_SIGNATURE
    assert check(name, {}) is Reason.MISSING_SIGNATURE
    assert check(name, [(header, SECRET), (header, SECRET)]) is not Reason.VERIFIED
    assert get(name)(secret=SECRET).body_signed is False


def test_okta_bearer_prefix() -> None:
    scheme = get("okta")(secret=SECRET, prefix="Bearer ")
    request = WebhookRequest(
        method="POST", path="/h", headers=Headers([("Authorization", f"Bearer {SECRET}")])
    )
    assert (
        scheme.check(request, KeySet([Secret(SECRET, key_id="k")]), 0.0).reason is Reason.VERIFIED
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), value=st.text(max_size=200))
def test_any_header_gives_a_check(name: str, value: str) -> None:
    assert check(name, {BODY_HMAC[name].header: value}) is not Reason.VERIFIED


def test_end_to_end_shopify_and_gitlab() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    guarded = Guard(
        [
            Route("/hooks/shopify", get("shopify")(secret=SECRET)),
            Route("/hooks/gitlab", get("gitlab")(secret=SECRET)),
        ]
    ).wsgi(app)

    def send(path: str, headers: dict[str, str]) -> str:
        status: list[str] = []
        b"".join(
            guarded(
                build_wsgi_environ(path, body=BODY, headers=headers),
                lambda s, h, e=None: status.append(s),
            )
        )
        return status[0][:3]

    assert send("/hooks/shopify", documented("shopify")) == "200"
    assert send("/hooks/shopify", documented("shopify", secret="x")) == "401"
    assert send("/hooks/gitlab", {"X-Gitlab-Token": SECRET}) == "200"
    assert send("/hooks/gitlab", {"X-Gitlab-Token": "wrong"}) == "401"
    assert seen == [BODY, BODY]
