"""SeaTable: ``X-SeaTable-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

import pytest

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import WebhookGuardWarning
from webhook_guard.providers import get, seatable, seatable_legacy

SECRET = "seatable-webhook-secret"
NOW = 1_700_000_000.0
# What dtable-events sends: json.dumps defaults (", " / ": " separators, ensure_ascii).
BODY = json.dumps(
    {"event": "update", "data": {"dtable_uuid": "4f2d", "row_id": "Qx", "row_name": "你好", "op_type": "modify_row"}}
).encode()
SCHEME = seatable(secret=SECRET)
HEADER = "X-SeaTable-Signature"


def reference(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


VALID = reference(SECRET, BODY)
# Before SeaTable 3.0 the header was hex(SHA1(secret)), constant for every body.
LEGACY = hashlib.sha1(SECRET.encode()).hexdigest()  # noqa: S324


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def check(pairs: list[tuple[str, str]] | dict[str, str], body: bytes = BODY, key_set: KeySet | None = None) -> Check:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else pairs
    request = WebhookRequest(method="POST", path="/hooks/seatable", headers=Headers(items), body=body)
    return SCHEME.check(request, key_set if key_set is not None else keys(SECRET), NOW)


def test_sign_round_trip() -> None:
    assert b"\\u4f60" in BODY  # the sender escapes non-ASCII
    headers = SCHEME.sign(BODY, secret=SECRET).headers
    assert headers == {HEADER: VALID}
    result = check(headers)
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert SCHEME.body_signed is True
    assert SCHEME.name == "seatable"
    assert get("seatable") is seatable


@pytest.mark.parametrize("name", ["X-SeaTable-Signature", "X-Seatable-Signature", "x-seatable-signature"])
def test_header_name_spellings(name: str) -> None:
    assert check({name: VALID}).reason is Reason.VERIFIED


def test_raw_utf8_body_verifies_over_its_own_bytes() -> None:
    body = '{"row_name": "你好 🎉"}'.encode()
    assert check({HEADER: reference(SECRET, body)}, body=body).reason is Reason.VERIFIED
    # The same JSON re-dumped with escapes is a different byte string.
    assert check({HEADER: reference(SECRET, body)}, body=body.decode().encode("unicode_escape")).reason is (
        Reason.BAD_SIGNATURE
    )


def test_empty_body() -> None:
    assert check({HEADER: reference(SECRET, b"")}, body=b"").reason is Reason.VERIFIED


def test_wrong_secret() -> None:
    assert check({HEADER: reference("other", BODY)}).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BODY + b" ", id="appended-space"),
        pytest.param(BODY + b"\n", id="appended-newline"),
        pytest.param(BODY[:-1], id="truncated"),
        pytest.param(b"", id="emptied"),
        pytest.param(BODY.replace(b"modify_row", b"delete_row"), id="edited"),
        pytest.param(json.dumps(json.loads(BODY), separators=(",", ":")).encode(), id="re-serialised"),
        pytest.param(bytes([BODY[0] ^ 1]) + BODY[1:], id="one-bit"),
    ],
)
def test_tampered_body(body: bytes) -> None:
    assert check({HEADER: VALID}, body=body).reason is Reason.BAD_SIGNATURE


def test_rotation_second_key_verifies_and_is_reported() -> None:
    key_set = KeySet([Secret("new", key_id="2026-q4"), Secret("old", key_id="2026-q3")])
    old = check({HEADER: reference("old", BODY)}, key_set=key_set)
    assert (old.reason, old.key_id) == (Reason.VERIFIED, "2026-q3")
    new = check({HEADER: reference("new", BODY)}, key_set=key_set)
    assert (new.reason, new.key_id) == (Reason.VERIFIED, "2026-q4")


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        pytest.param([], Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param([(HEADER, VALID), (HEADER, VALID)], Reason.MALFORMED_SIGNATURE, id="twice-same"),
        pytest.param([(HEADER, VALID), ("x-seatable-signature", reference("x", BODY))], Reason.MALFORMED_SIGNATURE, id="twice"),
        pytest.param([(HEADER, f"{VALID}, {VALID}")], Reason.MALFORMED_SIGNATURE, id="wsgi-joined"),
        pytest.param([(HEADER, "sha256=a, sha256=b")], Reason.MALFORMED_SIGNATURE, id="wsgi-joined-short"),
        pytest.param([(HEADER, "")], Reason.MALFORMED_SIGNATURE, id="empty"),
        pytest.param([(HEADER, "sha256=")], Reason.MALFORMED_SIGNATURE, id="bare-prefix"),
        pytest.param([(HEADER, VALID[7:])], Reason.MALFORMED_SIGNATURE, id="no-prefix"),
        pytest.param([(HEADER, "SHA256=" + VALID[7:])], Reason.MALFORMED_SIGNATURE, id="uppercase-prefix"),
        pytest.param([(HEADER, "sha1=" + VALID[7:] + "xx")], Reason.MALFORMED_SIGNATURE, id="other-prefix"),
        pytest.param([(HEADER, " " + VALID[:-1])], Reason.MALFORMED_SIGNATURE, id="leading-space"),
        pytest.param(
            [(HEADER, LEGACY)], Reason.MALFORMED_SIGNATURE, id="legacy-sha1-of-secret"
        ),
        pytest.param([(HEADER, "sha256=" + VALID[7:].upper())], Reason.BAD_SIGNATURE, id="uppercase-hex"),
        pytest.param([(HEADER, VALID[:-1] + "\xff")], Reason.BAD_SIGNATURE, id="non-ascii-byte"),
        pytest.param([(HEADER, "sha256=" + "\u0661" * 64)], Reason.BAD_SIGNATURE, id="arabic-digits"),
        pytest.param([(HEADER, VALID[:-1] + "\x00")], Reason.BAD_SIGNATURE, id="nul"),
        pytest.param([(HEADER, VALID + "0")], Reason.MALFORMED_SIGNATURE, id="extended"),
        pytest.param([(HEADER, "x" * 10_000)], Reason.MALFORMED_SIGNATURE, id="huge"),
    ],
)
def test_header_rejections(pairs: list[tuple[str, str]], reason: Reason) -> None:
    result = check(pairs)
    assert result.reason is reason
    assert result.key_id is None


def test_truncations_never_verify() -> None:
    for n in range(len(VALID)):
        assert check({HEADER: VALID[:n]}).reason is not Reason.VERIFIED, n


def test_replay_material_identifies_body_and_secret() -> None:
    one = check({HEADER: VALID})
    same = check({HEADER: VALID})
    other = check({HEADER: reference(SECRET, b"{}")}, body=b"{}")
    assert one.replay_material is not None
    assert one.replay_material == same.replay_material
    assert one.replay_material != other.replay_material
    assert SCHEME.replay_ttl() is None  # no timestamp: the route's replay TTL applies


# -- SeaTable before 3.0: seatable_legacy (opt-in) ---------------------------------------------

# sha1("secret"): the documented value for the secret "secret" (any SHA-1 table).
SHA1_OF_SECRET = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"


def legacy_check(value: str | None, body: bytes = BODY, *secrets: str) -> Check:
    request = WebhookRequest(
        method="POST", path="/hooks/seatable", body=body,
        headers=Headers([(HEADER, value)] if value is not None else []),
    )  # fmt: skip
    key_set = keys(*(secrets or (SECRET,)))
    return seatable_legacy(secret=secrets[0] if secrets else SECRET).check(request, key_set, NOW)


def test_legacy_is_the_sha1_of_the_secret_for_every_body() -> None:
    assert hashlib.sha1(b"secret").hexdigest() == SHA1_OF_SECRET  # noqa: S324
    assert legacy_check(SHA1_OF_SECRET, BODY, "secret").reason is Reason.VERIFIED
    assert legacy_check(LEGACY).reason is Reason.VERIFIED
    assert legacy_check(LEGACY, b"any other body").reason is Reason.VERIFIED  # nothing else is signed
    assert legacy_check(LEGACY, BODY).replay_material is None
    assert seatable_legacy(secret=SECRET).sign(BODY, secret=SECRET).headers == {HEADER: LEGACY}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, Reason.MISSING_SIGNATURE),
        (VALID, Reason.BAD_SIGNATURE),  # a 3.0 signature is not the legacy one
        (SECRET, Reason.BAD_SIGNATURE),  # nor is the secret itself
        (LEGACY.upper(), Reason.BAD_SIGNATURE),
        ("é", Reason.MALFORMED_SIGNATURE),
    ],
)
def test_legacy_refusals(value: str | None, reason: Reason) -> None:
    assert legacy_check(value).reason is reason


def test_legacy_is_opt_in_with_a_start_up_warning() -> None:
    scheme = seatable_legacy(secret=SECRET)
    assert scheme.body_signed is False
    assert scheme.legacy is not None
    assert "SHA-1 of the secret" in scheme.legacy
    with pytest.warns(WebhookGuardWarning, match="seatable_legacy, a legacy scheme"):
        Guard([Route("/hooks/seatable", scheme)])
    assert get("seatable_legacy") is seatable_legacy
    # seatable (3.0) still refuses the legacy header: no silent fallback.
    assert check([(HEADER, LEGACY)]).reason is Reason.MALFORMED_SIGNATURE
