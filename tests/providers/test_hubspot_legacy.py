"""HubSpot v1 and v2 (opt-in legacy): ``X-HubSpot-Signature`` = hex SHA-256 of the client
secret + body (v1) or + method + URI + body (v2), with ``X-HubSpot-Signature-Version``.

Oracle: hubspot-api-client's ``Signature``, both ways."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import WebhookGuardWarning
from webhook_guard.providers import hubspot_v1, hubspot_v2

signature = pytest.importorskip("hubspot.utils.signature").Signature

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URL = "https://www.example.com/webhook_uri?x=1"
BODY = '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"attemptNumber":0,"name":"Zoë"}]'
NOW = 1_700_000_000.0
SIG, VERSION = "X-HubSpot-Signature", "X-HubSpot-Signature-Version"


def check(
    scheme: Scheme,
    headers: dict[str, str],
    body: str = BODY,
    *,
    url: str = URL,
    method: str = "POST",
) -> Check:
    items = [("Content-Type", "application/json"), *headers.items()]
    request = WebhookRequest(
        method, "/webhook_uri", Headers(items), body.encode(), url.partition("?")[2], url
    )
    return scheme.check(request, KeySet([Secret(SECRET, key_id="k0")]), NOW)


@pytest.mark.parametrize(
    ("factory", "version"), [(hubspot_v1, "v1"), (hubspot_v2, "v2")], ids=["v1", "v2"]
)
def test_sdk_signs_we_verify(factory: Any, version: str) -> None:
    sdk = signature.get_signature(SECRET, BODY, version, URL, "POST")
    result = check(factory(secret=SECRET), {SIG: sdk, VERSION: version})
    assert result.reason is Reason.VERIFIED
    assert result.replay_material == sdk.encode()
    assert (
        check(factory(secret=SECRET), {SIG: sdk, VERSION: version}, BODY + " ").reason
        is Reason.BAD_SIGNATURE
    )


@pytest.mark.parametrize(
    ("factory", "version"), [(hubspot_v1, "v1"), (hubspot_v2, "v2")], ids=["v1", "v2"]
)
def test_we_sign_sdk_verifies(factory: Any, version: str) -> None:
    scheme = factory(secret=SECRET)
    headers = scheme.sign(BODY.encode(), secret=SECRET, url=URL).headers
    assert headers[VERSION] == version
    assert signature.is_valid(headers[SIG], SECRET, BODY, URL, "POST", version)
    assert check(scheme, dict(headers)).reason is Reason.VERIFIED


def test_documented_algorithms() -> None:
    v1 = hashlib.sha256((SECRET + BODY).encode()).hexdigest()
    v2 = hashlib.sha256((SECRET + "POST" + URL + BODY).encode()).hexdigest()
    assert check(hubspot_v1(secret=SECRET), {SIG: v1, VERSION: "v1"}).reason is Reason.VERIFIED
    assert check(hubspot_v2(secret=SECRET), {SIG: v2, VERSION: "v2"}).reason is Reason.VERIFIED
    # v1 ignores the URL; v2 signs it (and the method).
    assert (
        check(hubspot_v1(secret=SECRET), {SIG: v1, VERSION: "v1"}, url="").reason is Reason.VERIFIED
    )
    v2_scheme = hubspot_v2(secret=SECRET)
    assert (
        check(v2_scheme, {SIG: v2, VERSION: "v2"}, url=URL + "&y=2").reason is Reason.BAD_SIGNATURE
    )
    assert check(v2_scheme, {SIG: v2, VERSION: "v2"}, method="PUT").reason is Reason.BAD_SIGNATURE
    assert check(v2_scheme, {SIG: v2, VERSION: "v2"}, url="").reason is Reason.BAD_REQUEST


@pytest.mark.parametrize(
    "headers",
    [
        {SIG: hashlib.sha256((SECRET + BODY).encode()).hexdigest()},  # no version
        {
            SIG: hashlib.sha256((SECRET + BODY).encode()).hexdigest(),
            VERSION: "v2",
        },  # v2 header on v1
        {SIG: hashlib.sha256((SECRET + BODY).encode()).hexdigest(), VERSION: "V1"},
        {SIG: "zz" * 32, VERSION: "v1"},
        {SIG: "ab" * 31, VERSION: "v1"},
    ],
)
def test_v1_malformed(headers: dict[str, str]) -> None:
    assert check(hubspot_v1(secret=SECRET), headers).reason is Reason.MALFORMED_SIGNATURE


def test_missing_signature() -> None:
    assert check(hubspot_v1(secret=SECRET), {VERSION: "v1"}).reason is Reason.MISSING_SIGNATURE


@pytest.mark.parametrize("factory", [hubspot_v1, hubspot_v2])
def test_legacy_opt_in_warns_at_start_up(factory: Any) -> None:
    scheme = factory(secret=SECRET)
    assert scheme.legacy is not None
    assert "no timestamp" in scheme.legacy
    assert scheme.retry_horizon == 36 * 3600.0
    with pytest.warns(WebhookGuardWarning, match="legacy scheme"):
        Guard([Route("/webhook_uri", scheme, public_url="https://www.example.com/webhook_uri")])
