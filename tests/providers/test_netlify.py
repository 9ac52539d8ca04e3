"""Netlify: ``X-Webhook-Signature`` is a JWS (HS256) whose payload has ``iss: "netlify"``
and ``sha256`` = hex SHA-256 of the body. Oracle: PyJWT, both ways."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get, netlify
from webhook_guard.providers.jws import b64url_canonical

jwt = pytest.importorskip("jwt")

SECRET = "netlify-jws-secret-at-least-32-bytes"
OTHER = "another-netlify-secret-of-32-bytes"
NOW = 1_700_000_000.0
BODY = b'{"id":"5f3a","site_id":"9c1b","state":"ready","title":"Zo\xc3\xab"}'
HEADER = "X-Webhook-Signature"
SCHEME = netlify(secret=SECRET)


def token(claims: dict[str, Any] | None = None, secret: str = SECRET, **headers: Any) -> str:
    claims = (
        {"iss": "netlify", "sha256": hashlib.sha256(BODY).hexdigest()} if claims is None else claims
    )
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


def check(value: str | list[str] | None, body: bytes = BODY, *keys: str) -> Check:
    values = [] if value is None else [value] if isinstance(value, str) else value
    request = WebhookRequest("POST", "/hooks/netlify", Headers([(HEADER, v) for v in values]), body)
    key_set = KeySet(Secret(k, key_id=f"k{i}") for i, k in enumerate(keys or (SECRET,)))
    return SCHEME.check(request, key_set, NOW)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], secret: str = SECRET) -> str:
    """A JWS built by hand (any header, even one PyJWT refuses to write)."""
    signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + _b64(mac)


CLAIMS = {"iss": "netlify", "sha256": hashlib.sha256(BODY).hexdigest()}


def test_pyjwt_signs_we_verify() -> None:
    result = check(token())
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.timestamp is None
    assert (SCHEME.body_signed, SCHEME.retry_horizon, get("netlify")) == (True, 86400.0, netlify)


def test_we_sign_pyjwt_verifies() -> None:
    signed = SCHEME.sign(BODY, secret=SECRET)
    value = signed.headers[HEADER]
    assert jwt.decode(value, SECRET, algorithms=["HS256"], issuer="netlify") == CLAIMS
    assert check(value).reason is Reason.VERIFIED


def test_another_body_is_refused() -> None:
    assert check(token(), BODY + b" ").reason is Reason.BAD_SIGNATURE


def test_wrong_secret_and_rotation() -> None:
    assert check(token(secret=OTHER)).reason is Reason.BAD_SIGNATURE
    assert check(token(), BODY, OTHER, SECRET).reason is Reason.VERIFIED


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "other", "sha256": CLAIMS["sha256"]},
        {"sha256": CLAIMS["sha256"]},
        {"iss": "netlify"},
        {"iss": "netlify", "sha256": CLAIMS["sha256"].upper()},
        {"iss": "netlify", "sha256": 1},
        {"iss": "netlify", "sha256": "é"},
    ],
)
def test_claims_must_name_netlify_and_this_body(claims: dict[str, Any]) -> None:
    assert check(token(claims)).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({**CLAIMS, "exp": NOW - 1}, Reason.STALE_TIMESTAMP),
        ({**CLAIMS, "exp": "soon"}, Reason.MALFORMED_TIMESTAMP),
        ({**CLAIMS, "nbf": NOW + 60}, Reason.FUTURE_TIMESTAMP),
        ({**CLAIMS, "nbf": True}, Reason.MALFORMED_TIMESTAMP),
        ({**CLAIMS, "exp": NOW + 60, "nbf": NOW - 60}, Reason.VERIFIED),
    ],
)
def test_registered_time_claims_are_honoured(claims: dict[str, Any], reason: Reason) -> None:
    assert check(forge({"alg": "HS256", "typ": "JWT"}, claims)).reason is reason


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "JWT"},
        {"alg": "HS512", "typ": "JWT"},
        {"alg": "RS256", "typ": "JWT"},
        {"typ": "JWT"},
        {"alg": "HS256", "crit": ["b64"], "b64": False},
    ],
)
def test_only_hs256_without_critical_extensions(header: dict[str, Any]) -> None:
    assert check(forge(header, CLAIMS)).reason is Reason.MALFORMED_SIGNATURE


def test_alg_none_with_an_empty_signature_is_malformed() -> None:
    unsigned = _b64(b'{"alg":"none"}') + "." + _b64(json.dumps(CLAIMS).encode()) + "."
    assert check(unsigned).reason is Reason.MALFORMED_SIGNATURE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a.b",
        "a.b.c.d",
        token() + "=",
        token().replace(".", ".=", 1),
        "é" + token(),
        "x" * 9000,
    ],
)
def test_malformed_tokens(value: str) -> None:
    assert check(value).reason in (Reason.MALFORMED_SIGNATURE, Reason.BAD_SIGNATURE)
    assert check(value).reason is not Reason.VERIFIED


def test_signature_with_padding_bits_set_is_malformed() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    genuine = token()
    last = alphabet.index(genuine[-1])
    assert last & 3 == 0  # 32 bytes: the last character carries 4 bits and 2 zero bits
    assert check(genuine[:-1] + alphabet[last + 1]).reason is Reason.MALFORMED_SIGNATURE


def test_missing_and_repeated_header() -> None:
    assert check(None).reason is Reason.MISSING_SIGNATURE
    assert check([token(), token()]).reason is Reason.MALFORMED_SIGNATURE


def test_duplicate_claim_names_are_malformed() -> None:
    payload = '{"iss":"other","iss":"netlify","sha256":"' + CLAIMS["sha256"] + '"}'
    signing = _b64(b'{"alg":"HS256"}') + "." + _b64(payload.encode())
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    assert check(signing + "." + _b64(mac)).reason is Reason.BAD_SIGNATURE


def test_base64url_has_one_spelling() -> None:
    assert b64url_canonical("QQ") == b"A"
    assert b64url_canonical("QR") is None  # the same byte with other padding bits
    assert b64url_canonical("QQ==") is None
    assert b64url_canonical("Q+8") is None
    assert b64url_canonical("") is None
