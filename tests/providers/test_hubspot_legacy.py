"""HubSpot v1 and v2 (opt-in legacy): ``X-HubSpot-Signature`` = hex SHA-256 of the client
secret + body (v1) or + method + URI + body (v2), with ``X-HubSpot-Signature-Version``.

Oracle: hubspot-api-client's ``Signature``, both ways."""

from __future__ import annotations

import hashlib
import struct
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


# -- length extension: SHA-256(secret + message) extended without the secret ------------------

_K = [
    int(x, 16)
    for x in """
    428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01
    243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174 e49b69c1 efbe4786 0fc19dc6 240ca1cc
    2de92c6f 4a7484aa 5cb0a9dc 76f988da 983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147
    06ca6351 14292967 27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85
    a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070 19a4c116 1e376c08
    2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208
    90befffa a4506ceb bef9a3f7 c67178f2""".split()  # noqa: SIM905 - FIPS 180-4's table
]


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


def _compress(state: list[int], block: bytes) -> list[int]:
    """One SHA-256 compression (FIPS 180-4), for an attacker who knows only a digest."""
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & 0xFFFFFFFF)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[i] + w[i]
        t2 = (_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & 0xFFFFFFFF, c, b, a, (t1 + t2) & 0xFFFFFFFF
    return [(x + y) & 0xFFFFFFFF for x, y in zip(state, [a, b, c, d, e, f, g, h], strict=True)]


def _padding(length: int) -> bytes:
    return b"\x80" + b"\x00" * ((55 - length) % 64) + struct.pack(">Q", length * 8)


def _extend(digest_hex: str, known: int, suffix: bytes) -> str:
    """SHA-256 of ``secret + message + padding + suffix`` from SHA-256(secret + message)
    and ``known = len(secret + message)`` alone."""
    state = list(struct.unpack(">8I", bytes.fromhex(digest_hex)))
    data = suffix + _padding(known + len(_padding(known)) + len(suffix))
    for i in range(0, len(data), 64):
        state = _compress(state, data[i : i + 64])
    return struct.pack(">8I", *state).hex()


def test_length_extension_helper_is_sha256() -> None:
    """The attack below can fail only if this helper computes real SHA-256 extensions."""
    secret, message, suffix = b"s" * 36, b"[1]", b"[2]"
    genuine = hashlib.sha256(secret + message).hexdigest()
    forged = secret + message + _padding(len(secret + message)) + suffix
    assert _extend(genuine, len(secret + message), suffix) == hashlib.sha256(forged).hexdigest()


@pytest.mark.parametrize(
    ("factory", "version"), [(hubspot_v1, "v1"), (hubspot_v2, "v2")], ids=["v1", "v2"]
)
def test_a_length_extended_body_is_refused(factory: Any, version: str) -> None:
    scheme = factory(secret=SECRET)
    signed = scheme.sign(BODY.encode(), secret=SECRET, url=URL)
    digest = signed.headers[SIG]
    prefix = len(SECRET) + (0 if version == "v1" else len("POST" + URL))
    suffix = b'[{"eventId":2,"subscriptionType":"contact.deletion","objectId":999}]'
    forged = BODY.encode() + _padding(prefix + len(BODY.encode())) + suffix
    forged_digest = _extend(digest, prefix + len(BODY.encode()), suffix)
    message = SECRET.encode() + (b"" if version == "v1" else b"POST" + URL.encode()) + forged
    assert hashlib.sha256(message).hexdigest() == forged_digest  # a genuine-looking hash
    items = [("Content-Type", "application/json"), (SIG, forged_digest), (VERSION, version)]
    request = WebhookRequest("POST", "/webhook_uri", Headers(items), forged, "x=1", URL)
    keys = KeySet([Secret(SECRET, key_id="k0")])
    assert scheme.check(request, keys, NOW).reason is Reason.BAD_REQUEST
    genuine = WebhookRequest(
        "POST", "/webhook_uri", Headers([*items[:1], (SIG, digest), (VERSION, version)]),
        BODY.encode(), "x=1", URL,
    )  # fmt: skip
    assert scheme.check(genuine, keys, NOW).reason is Reason.VERIFIED
