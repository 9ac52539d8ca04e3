"""Verdict and its stable Reason codes."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from webhook_guard.core.verdict import NOT_GUARDED, VERDICT_KEY, Reason, Verdict

# The public contract: changing a code or its status is a breaking change.
EXPECTED = {
    "verified": 200,
    "not_guarded": 200,
    "unsigned": 200,
    "missing_signature": 401,
    "malformed_signature": 401,
    "bad_signature": 401,
    "missing_timestamp": 401,
    "malformed_timestamp": 401,
    "stale_timestamp": 401,
    "future_timestamp": 401,
    "replayed": 409,
    "duplicate": 200,
    "no_active_key": 401,
    "bad_path": 400,
    "bad_request": 400,
    "body_too_large": 413,
    "length_required": 411,
    "body_timeout": 408,
    "body_incomplete": 400,
    "store_unavailable": 503,
    "internal_error": 500,
}


def test_codes_and_statuses_are_stable() -> None:
    assert {r.value: r.status for r in Reason} == EXPECTED


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.value)
def test_auth_failures_are_exactly_the_401s(reason: Reason) -> None:
    assert reason.is_auth_failure is (reason.status == 401)


def test_reason_is_a_string() -> None:
    assert str(Reason.BAD_SIGNATURE) == "bad_signature"
    assert Reason("stale_timestamp") is Reason.STALE_TIMESTAMP
    assert Reason.VERIFIED == "verified"  # type: ignore[comparison-overlap]


def test_verdict_key_is_namespaced() -> None:
    # No WSGI header key (HTTP_*) and no ASGI header can produce it.
    assert VERDICT_KEY == "webhook_guard.verdict"
    assert not VERDICT_KEY.startswith("HTTP_")


def test_truthiness_follows_verified() -> None:
    assert Verdict(verified=True, reason=Reason.VERIFIED)
    assert not Verdict(verified=False, reason=Reason.UNSIGNED)
    assert not NOT_GUARDED
    assert NOT_GUARDED.reason is Reason.NOT_GUARDED


def test_body_digest_and_repr() -> None:
    verdict = Verdict(verified=True, reason=Reason.VERIFIED, body=b"secret body")
    assert verdict.body_sha256 == hashlib.sha256(b"secret body").hexdigest()
    assert "secret body" not in repr(verdict)


def test_details_are_not_in_repr() -> None:
    """Details may hold a decrypted payload or a handshake secret (Asana, Notion)."""
    details = {"hook_secret": "asana-hook-secret", "plaintext": b"decrypted event"}
    verdict = Verdict(verified=True, reason=Reason.VERIFIED, details=details)
    assert "asana-hook-secret" not in repr(verdict)
    assert "decrypted event" not in repr(verdict)
    assert verdict.details["hook_secret"] == "asana-hook-secret"


def test_verdict_is_frozen_and_defaults_closed() -> None:
    verdict = Verdict(verified=False, reason=Reason.BAD_SIGNATURE, status=401)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.verified = True  # type: ignore[misc]
    assert verdict.key_id is None
    assert verdict.replay_key is None
    assert verdict.body_signed is False
    assert dict(verdict.params) == {}
