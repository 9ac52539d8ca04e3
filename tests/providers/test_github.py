"""GitHub: ``X-Hub-Signature-256`` (default) and the legacy SHA-1 header by opt-in only."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import get, github

NOW = 1_700_000_000.0
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
# github/docs "Validating webhook deliveries"
PUBLISHED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
H256 = "X-Hub-Signature-256"
H1 = "X-Hub-Signature"
SHA1 = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def check(
    pairs: list[tuple[str, str]] | dict[str, str],
    body: bytes = BODY,
    key_set: KeySet | None = None,
    scheme: Scheme | None = None,
) -> Check:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else pairs
    request = WebhookRequest(method="POST", path="/hooks/github", headers=Headers(items), body=body)
    return (scheme or github(secret=SECRET)).check(request, key_set or keys(SECRET), NOW)


def test_published_vector() -> None:
    assert check({H256: PUBLISHED}).reason is Reason.VERIFIED
    assert github(secret=SECRET).sign(BODY, secret=SECRET).headers == {H256: PUBLISHED}


def test_octokit_vector() -> None:
    # octokit/webhooks-methods test/verify.test.ts
    body = b'{"foo":"bar"}'
    sig = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"
    assert check({H256: sig}, body=body, key_set=keys("mysecret")).reason is Reason.VERIFIED
    assert github(secret="mysecret").sign(body, secret="mysecret").headers == {H256: sig}


def test_octokit_escape_sequences_and_multibyte() -> None:
    # octokit #71 / #1155: the raw bytes are signed, never a re-encoded string.
    body = '{"text":"\\u00e9 é 🎉 \\n"}'.encode()
    sig = "sha256=" + hmac.new(b"mysecret", body, hashlib.sha256).hexdigest()
    assert check({H256: sig}, body=body, key_set=keys("mysecret")).reason is Reason.VERIFIED


def test_form_encoded_body_is_verified_as_sent() -> None:
    body = b"payload=%7B%22zen%22%3A%22x%22%7D"
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert check({H256: sig}, body=body).reason is Reason.VERIFIED


def test_round_trip_and_metadata() -> None:
    scheme = github(secret=SECRET)
    body = b'{"zen": "Design for failure."}'
    result = check(scheme.sign(body, secret=SECRET).headers, body=body)
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.replay_material is not None
    assert scheme.name == "github"
    assert scheme.body_signed is True
    assert scheme.replay_ttl() is None
    assert get("github") is github


def test_wrong_secret() -> None:
    assert check({H256: PUBLISHED}, key_set=keys("It's a secret to everybody")).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Hello, World!\n", id="newline"),
        pytest.param(b"Hello, World", id="truncated"),
        pytest.param(b"hello, World!", id="case"),
        pytest.param(b"", id="empty"),
    ],
)
def test_tampered_body(body: bytes) -> None:
    assert check({H256: PUBLISHED}, body=body).reason is Reason.BAD_SIGNATURE


def test_rotation_second_key_verifies_and_is_reported() -> None:
    key_set = KeySet([Secret("new secret", key_id="new"), Secret(SECRET, key_id="old")])
    result = check({H256: PUBLISHED}, key_set=key_set)
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "old")


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        pytest.param([], Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param([(H256, PUBLISHED), (H256, PUBLISHED)], Reason.MALFORMED_SIGNATURE, id="twice-same"),
        pytest.param([(H256, PUBLISHED), ("x-hub-signature-256", "sha256=" + "0" * 64)], Reason.MALFORMED_SIGNATURE, id="twice"),
        pytest.param([(H256, f"{PUBLISHED}, {PUBLISHED}")], Reason.MALFORMED_SIGNATURE, id="wsgi-joined"),
        pytest.param([(H256, "sha256=a, sha256=b")], Reason.MALFORMED_SIGNATURE, id="wsgi-joined-short"),
        pytest.param([(H256, "")], Reason.MALFORMED_SIGNATURE, id="empty"),
        pytest.param([(H256, PUBLISHED[7:])], Reason.MALFORMED_SIGNATURE, id="bare-hex"),
        pytest.param([(H256, "SHA256=" + PUBLISHED[7:])], Reason.MALFORMED_SIGNATURE, id="uppercase-prefix"),
        pytest.param([(H256, "sha256=" + PUBLISHED[7:].upper())], Reason.BAD_SIGNATURE, id="uppercase-hex"),
        pytest.param([(H256, PUBLISHED[:-2] + "3E")], Reason.BAD_SIGNATURE, id="mixed-case-hex"),
        pytest.param([(H256, PUBLISHED[:-1] + "\xff")], Reason.BAD_SIGNATURE, id="non-ascii-byte"),
        pytest.param([(H256, "sha256=" + "\xff" * 64)], Reason.BAD_SIGNATURE, id="all-non-ascii"),
        pytest.param([(H256, PUBLISHED + " ")], Reason.MALFORMED_SIGNATURE, id="trailing-space"),
        pytest.param([(H256, SHA1)], Reason.MALFORMED_SIGNATURE, id="sha1-value-in-256-header"),
        pytest.param([(H1, SHA1)], Reason.MISSING_SIGNATURE, id="sha1-header-ignored"),
        pytest.param([(H1, SHA1), (H256, "")], Reason.MALFORMED_SIGNATURE, id="sha1-no-fallback-on-empty"),
        pytest.param(
            [(H1, SHA1), (H256, "sha256=" + "0" * 64)], Reason.BAD_SIGNATURE, id="sha1-no-fallback-on-bad"
        ),
    ],
)
def test_header_rejections(pairs: list[tuple[str, str]], reason: Reason) -> None:
    result = check(pairs)
    assert result.reason is reason
    assert result.key_id is None


def test_sha1_header_is_ignored_next_to_a_valid_sha256() -> None:
    assert check({H256: PUBLISHED, H1: "sha1=garbage"}).reason is Reason.VERIFIED


def test_truncations_never_verify() -> None:
    for n in range(len(PUBLISHED)):
        assert check({H256: PUBLISHED[:n]}).reason is not Reason.VERIFIED, n


# -- legacy SHA-1, by explicit opt-in only -------------------------------------------------


def test_sha1_opt_in_uses_the_legacy_header() -> None:
    scheme = github(secret=SECRET, algorithm="sha1")
    assert scheme.sign(BODY, secret=SECRET).headers == {H1: SHA1}
    assert check({H1: SHA1}, scheme=scheme).reason is Reason.VERIFIED
    assert check({H1: SHA1}, body=b"x", scheme=scheme).reason is Reason.BAD_SIGNATURE
    assert check({H1: SHA1.upper()}, scheme=scheme).reason is not Reason.VERIFIED


def test_sha1_opt_in_ignores_the_256_header() -> None:
    scheme = github(secret=SECRET, algorithm="sha1")
    assert check({H256: PUBLISHED}, scheme=scheme).reason is Reason.MISSING_SIGNATURE
    assert check({H256: PUBLISHED, H1: "sha1=" + "0" * 40}, scheme=scheme).reason is Reason.BAD_SIGNATURE


def test_sha1_truncations_never_verify() -> None:
    scheme = github(secret=SECRET, algorithm="sha1")
    for n in range(len(SHA1)):
        assert check({H1: SHA1[:n]}, scheme=scheme).reason is not Reason.VERIFIED, n


@pytest.mark.parametrize("algorithm", ["md5", "sha512", "SHA256", "sha-256", ""])
def test_other_algorithms_raise(algorithm: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        github(secret=SECRET, algorithm=algorithm)
    assert info.value.code == "webhook_guard.E004"
