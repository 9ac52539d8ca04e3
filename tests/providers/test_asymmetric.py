"""Asymmetric signatures: ``discord`` and ``telnyx`` (Ed25519), ``sendgrid`` (ECDSA P-256)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import Key
from webhook_guard.providers import discord, sendgrid, telnyx
from webhook_guard.testing import FrozenClock, build_wsgi_environ

NOW = 1_700_000_000
TS = str(NOW)

# -- key material (fixed seeds, so failures are reproducible) ------------------------------

DISCORD_SEED = bytes(range(32))
DISCORD_PRIVATE = Ed25519PrivateKey.from_private_bytes(DISCORD_SEED)
DISCORD_PUBLIC = DISCORD_PRIVATE.public_key().public_bytes_raw().hex()
OTHER_SEED = bytes(range(1, 33))
OTHER_PUBLIC = Ed25519PrivateKey.from_private_bytes(OTHER_SEED).public_key().public_bytes_raw()

TELNYX_SEED = bytes(range(100, 132))
TELNYX_PRIVATE = Ed25519PrivateKey.from_private_bytes(TELNYX_SEED)
TELNYX_PUBLIC = base64.b64encode(TELNYX_PRIVATE.public_key().public_bytes_raw()).decode()
TELNYX_SEED_B64 = base64.b64encode(TELNYX_SEED).decode()

SG_PRIVATE = ec.derive_private_key(0x5EC12E7, ec.SECP256R1())
SG_PRIVATE_PEM = SG_PRIVATE.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
SG_PUBLIC_DER = SG_PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
SG_PUBLIC = base64.b64encode(SG_PUBLIC_DER).decode()
SG_PUBLIC_PEM = (
    SG_PRIVATE.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


#: The asymmetric providers this module tests.
FACTORIES = {"discord": discord, "sendgrid": sendgrid, "telnyx": telnyx}
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

BODY = b'{"type":2,"id":"1","data":{"name":"hello","emoji":"\xf0\x9f\x8e\x89"}}'
SG_BODY = b'[{"email":"a@example.com","event":"delivered"}]\r\n'


def keys(*values: str | bytes) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def request(headers: Iterable[tuple[str, str]] | dict[str, str], body: bytes) -> WebhookRequest:
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return WebhookRequest(method="POST", path="/hooks", headers=Headers(items), body=body)


def run(scheme: Any, headers: Any, body: bytes, key_set: KeySet, now: float = NOW) -> Check:
    return scheme.check(request(headers, body), key_set, now)  # type: ignore[no-any-return]


def discord_headers(body: bytes, ts: str = TS, seed: bytes = DISCORD_SEED) -> dict[str, str]:
    """Signed independently of the implementation (cryptography, not the scheme's sign())."""
    sig = Ed25519PrivateKey.from_private_bytes(seed).sign(ts.encode() + body)
    return {"X-Signature-Ed25519": sig.hex(), "X-Signature-Timestamp": ts}


def telnyx_headers(body: bytes, ts: str = TS) -> dict[str, str]:
    sig = TELNYX_PRIVATE.sign(ts.encode() + b"|" + body)
    return {"telnyx-signature-ed25519": base64.b64encode(sig).decode(), "telnyx-timestamp": ts}


def sendgrid_headers(body: bytes, ts: str = TS) -> dict[str, str]:
    sig = SG_PRIVATE.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
    }


DISCORD = discord(secret=DISCORD_PUBLIC)
TELNYX = telnyx(public_key=TELNYX_PUBLIC)
SENDGRID = sendgrid(secret=SG_PUBLIC)

# provider name -> (scheme, public key text, headers builder, signing secret for sign(), body)
CASES: dict[str, tuple[Any, str, Callable[..., dict[str, str]], str, bytes]] = {
    "discord": (DISCORD, DISCORD_PUBLIC, discord_headers, DISCORD_SEED.hex(), BODY),
    "telnyx": (TELNYX, TELNYX_PUBLIC, telnyx_headers, TELNYX_SEED_B64, BODY),
    "sendgrid": (SENDGRID, SG_PUBLIC, sendgrid_headers, SG_PRIVATE_PEM, SG_BODY),
}
PROVIDERS = sorted(CASES)


def test_factories_registry() -> None:
    assert sorted(FACTORIES) == ["discord", "sendgrid", "telnyx"]
    for name, factory in FACTORIES.items():
        assert factory(secret=CASES[name][1]).name == name


# -- round trips and independent signers ------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_independent_signature_verifies(provider: str) -> None:
    scheme, public, build, _, body = CASES[provider]
    result = run(scheme, build(body), body, keys(public))
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.timestamp == NOW
    assert result.replay_material is not None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sign_round_trip(provider: str) -> None:
    scheme, public, _, private, body = CASES[provider]
    headers = scheme.sign(body, secret=private, timestamp=NOW)
    assert run(scheme, headers, body, keys(public)).reason is Reason.VERIFIED
    assert run(scheme, headers, body + b" ", keys(public)).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rotation_any_listed_key_verifies(provider: str) -> None:
    scheme, public, build, _, body = CASES[provider]
    other = {
        "discord": OTHER_PUBLIC.hex(),
        "telnyx": base64.b64encode(OTHER_PUBLIC).decode(),
        "sendgrid": base64.b64encode(
            ec.derive_private_key(7, ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode(),
    }[provider]
    result = run(
        scheme,
        build(body),
        body,
        KeySet([Secret(other, key_id="new"), Secret(public, key_id="old")]),
    )
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "old")
    assert run(scheme, build(body), body, keys(other)).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("provider", PROVIDERS)
def test_replay_material_is_per_message_not_per_signature(provider: str) -> None:
    scheme, public, build, _, body = CASES[provider]
    first = run(scheme, build(body), body, keys(public))
    again = run(scheme, build(body), body, keys(public))  # ECDSA: a different signature
    other_body = run(scheme, build(body + b" "), body + b" ", keys(public))
    other_ts = run(scheme, build(body, ts=str(NOW + 1)), body, keys(public))
    assert first.replay_material == again.replay_material
    assert len({first.replay_material, other_body.replay_material, other_ts.replay_material}) == 3


# -- failures, per provider ---------------------------------------------------------------


def _tamper_sig(provider: str, headers: dict[str, str], how: str) -> dict[str, str]:
    name = CASES[provider][0].signature_header
    sig = headers[name]
    out = dict(headers)
    if how == "truncated":
        out[name] = sig[:-4]
    elif how == "empty":
        out[name] = ""
    elif how == "flipped":
        raw = bytearray(bytes.fromhex(sig) if provider == "discord" else base64.b64decode(sig))
        raw[-1] ^= 1 if provider == "discord" else 0
        raw[10] ^= 0x40
        out[name] = raw.hex() if provider == "discord" else base64.b64encode(bytes(raw)).decode()
    elif how == "uppercase-or-urlsafe":
        out[name] = (
            sig.upper() if provider == "discord" else sig.replace("+", "-").replace("/", "_")
        )
    elif how == "non-ascii":
        out[name] = sig[:-1] + "\u00e9"
    elif how == "whitespace":
        out[name] = " " + sig
    elif how == "version-prefix":
        out[name] = "v1=" + sig
    return out


FAILURES = [
    pytest.param("wrong-key", Reason.BAD_SIGNATURE, id="wrong-key"),
    pytest.param("tampered-body", Reason.BAD_SIGNATURE, id="tampered-body"),
    pytest.param("timestamp-changed", Reason.BAD_SIGNATURE, id="timestamp-changed"),
    pytest.param("stale", Reason.STALE_TIMESTAMP, id="stale"),
    pytest.param("future", Reason.FUTURE_TIMESTAMP, id="future"),
    pytest.param("missing-signature", Reason.MISSING_SIGNATURE, id="missing-signature"),
    pytest.param("missing-timestamp", Reason.MISSING_TIMESTAMP, id="missing-timestamp"),
    pytest.param("duplicate-signature", Reason.MALFORMED_SIGNATURE, id="duplicate-signature"),
    pytest.param("duplicate-timestamp", Reason.MALFORMED_TIMESTAMP, id="duplicate-timestamp"),
    pytest.param("float-timestamp", Reason.MALFORMED_TIMESTAMP, id="float-timestamp"),
    pytest.param("ms-timestamp", Reason.FUTURE_TIMESTAMP, id="ms-timestamp"),
    pytest.param("truncated", Reason.MALFORMED_SIGNATURE, id="truncated-signature"),
    pytest.param("empty", Reason.MALFORMED_SIGNATURE, id="empty-signature"),
    pytest.param("flipped", Reason.BAD_SIGNATURE, id="flipped-signature-bits"),
    pytest.param("uppercase-or-urlsafe", Reason.MALFORMED_SIGNATURE, id="non-canonical-spelling"),
    pytest.param("non-ascii", Reason.MALFORMED_SIGNATURE, id="non-ascii-signature"),
    pytest.param("whitespace", Reason.MALFORMED_SIGNATURE, id="leading-space"),
    pytest.param("version-prefix", Reason.MALFORMED_SIGNATURE, id="unknown-version-prefix"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("how", "reason"), FAILURES)
def test_rejections(provider: str, how: str, reason: Reason) -> None:
    scheme, public, build, _, body = CASES[provider]
    headers = build(body)
    if how == "uppercase-or-urlsafe" and provider != "discord":
        # ECDSA signatures are randomised: sign again until the Base64 has a character
        # whose URL-safe spelling differs (each attempt succeeds with p > 0.9).
        for _ in range(200):
            if any(c in headers[scheme.signature_header] for c in "+/"):
                break
            headers = build(body)
        assert any(c in headers[scheme.signature_header] for c in "+/")
    ts_name = scheme.timestamp_header
    sig_name = scheme.signature_header
    send_body = body
    pairs: list[tuple[str, str]] | None = None
    key_set = keys(public)
    if how == "wrong-key":
        key_set = {
            "discord": keys(OTHER_PUBLIC.hex()),
            "telnyx": keys(base64.b64encode(OTHER_PUBLIC).decode()),
            "sendgrid": keys(
                base64.b64encode(
                    ec.derive_private_key(99, ec.SECP256R1())
                    .public_key()
                    .public_bytes(
                        serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                ).decode()
            ),
        }[provider]
    elif how == "tampered-body":
        send_body = body[:5] + bytes([body[5] ^ 1]) + body[6:]
    elif how == "timestamp-changed":
        headers[ts_name] = str(NOW - 1)
    elif how == "stale":
        headers = build(body, ts=str(NOW - 301))
    elif how == "future":
        headers = build(body, ts=str(NOW + 301))
    elif how == "missing-signature":
        del headers[sig_name]
    elif how == "missing-timestamp":
        del headers[ts_name]
    elif how == "duplicate-signature":
        pairs = [*headers.items(), (sig_name, headers[sig_name])]
    elif how == "duplicate-timestamp":
        pairs = [*headers.items(), (ts_name, TS)]
    elif how == "float-timestamp":
        headers[ts_name] = TS + ".0"
    elif how == "ms-timestamp":
        headers = build(body, ts=str(NOW * 1000))
    else:
        headers = _tamper_sig(provider, headers, how)
    result = run(scheme, pairs if pairs is not None else headers, send_body, key_set)
    assert result.reason is reason


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "offset", [pytest.param(-300, id="oldest-accepted"), pytest.param(300, id="newest-accepted")]
)
def test_window_edges_inclusive(provider: str, offset: int) -> None:
    scheme, public, build, _, body = CASES[provider]
    headers = build(body, ts=str(NOW + offset))
    assert run(scheme, headers, body, keys(public)).reason is Reason.VERIFIED


@pytest.mark.parametrize("provider", PROVIDERS)
def test_configured_window(provider: str) -> None:
    _scheme, public, build, _, body = CASES[provider]
    narrow = FACTORIES[provider](secret=public, window=60, future_window=5)
    assert (
        run(narrow, build(body, ts=str(NOW - 61)), body, keys(public)).reason
        is Reason.STALE_TIMESTAMP
    )
    assert (
        run(narrow, build(body, ts=str(NOW + 6)), body, keys(public)).reason
        is Reason.FUTURE_TIMESTAMP
    )
    assert run(narrow, build(body, ts=str(NOW - 60)), body, keys(public)).reason is Reason.VERIFIED
    assert narrow.replay_ttl() == 65


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "junk",
    [
        pytest.param("\x00" * 40, id="nul"),
        pytest.param("z" * 5000, id="oversized"),
        pytest.param("=" * 88, id="padding-only"),
        pytest.param("0" * 128, id="all-zero-hex"),
        pytest.param("A" * 88, id="all-A-base64"),
        pytest.param("MAYCAQACAQA=", id="der-zero-r-s"),
        pytest.param("\u20ac" * 10, id="unicode"),
    ],
)
def test_garbage_signature_never_raises(provider: str, junk: str) -> None:
    scheme, public, build, _, body = CASES[provider]
    headers = build(body)
    headers[scheme.signature_header] = junk
    result = run(scheme, headers, body, keys(public))
    assert result.reason in (Reason.MALFORMED_SIGNATURE, Reason.BAD_SIGNATURE)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_key_at_run_time_verifies_nothing(provider: str) -> None:
    """A key re-read from a rotated file that does not parse is skipped, not a crash."""
    scheme, public, build, _, body = CASES[provider]
    result = run(
        scheme,
        build(body),
        body,
        KeySet([Secret("not a key", key_id="bad"), Secret(public, key_id="good")]),
    )
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "good")
    assert run(scheme, build(body), body, keys("not a key")).reason is Reason.BAD_SIGNATURE


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param("zz" * 32, id="not-hex-or-base64"),
        pytest.param("ab" * 31, id="31-bytes-hex"),
        pytest.param(base64.b64encode(bytes(33)).decode(), id="33-bytes-base64"),
        pytest.param("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", id="bad-pem"),
    ],
)
def test_malformed_public_key_is_a_startup_error(provider: str, bad_key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        FACTORIES[provider](secret=bad_key)
    assert info.value.code == "webhook_guard.E002"


def test_sendgrid_refuses_a_key_on_another_curve() -> None:
    p384 = ec.derive_private_key(5, ec.SECP384R1()).public_key()
    der = p384.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigurationError):
        sendgrid(secret=base64.b64encode(der).decode())
    ed = Ed25519PrivateKey.from_private_bytes(DISCORD_SEED).public_key()
    der = ed.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigurationError):
        sendgrid(secret=base64.b64encode(der).decode())


def test_sendgrid_accepts_pem_keys() -> None:
    scheme = sendgrid(public_key=SG_PUBLIC_PEM)
    assert (
        run(scheme, sendgrid_headers(SG_BODY), SG_BODY, keys(SG_PUBLIC_PEM)).reason
        is Reason.VERIFIED
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secret_and_public_key_are_exclusive_aliases(provider: str) -> None:
    public = CASES[provider][1]
    with pytest.raises(ConfigurationError):
        FACTORIES[provider](secret=public, public_key=public)
    with pytest.raises(ConfigurationError) as info:
        FACTORIES[provider]()
    assert info.value.code == "webhook_guard.E003"
    assert FACTORIES[provider](public_key=public).secret == public


@pytest.mark.parametrize("provider", PROVIDERS)
def test_key_references_resolved_at_startup(
    provider: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """References are resolved (and the keys checked) once, when the guard is built."""

    def guard(secret: Any) -> Guard:
        return Guard([Route("/k", FACTORIES[provider](secret=secret))], check_store=False)

    public = CASES[provider][1]
    monkeypatch.setenv("WG_TEST_PUBLIC_KEY", public)
    assert guard("env:WG_TEST_PUBLIC_KEY").routes[0].provider.name == provider  # type: ignore[union-attr]
    path = tmp_path / "key"
    path.write_text(public + "\n")
    assert guard([Key(f"file:{path}", id="f"), public]).routes[0].provider.name == provider  # type: ignore[union-attr]
    monkeypatch.delenv("WG_TEST_PUBLIC_KEY")
    with pytest.raises(ConfigurationError) as info:
        guard("env:WG_TEST_PUBLIC_KEY")
    assert info.value.code == "webhook_guard.E002"
    monkeypatch.setenv("WG_TEST_PUBLIC_KEY", "not-a-key")
    with pytest.raises(ConfigurationError) as info:
        guard({"new": "env:WG_TEST_PUBLIC_KEY"})
    assert info.value.code == "webhook_guard.E002"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"window": 0}, id="zero-window"),
        pytest.param({"window": -5}, id="negative-window"),
        pytest.param({"future_window": -1}, id="negative-future"),
        pytest.param({"window": 10**6}, id="huge-window"),
    ],
)
def test_window_options_validated(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as info:
        discord(secret=DISCORD_PUBLIC, **options)
    assert info.value.code == "webhook_guard.E005"


# -- Discord: PING / PONG and Webhook Events ------------------------------------------------

PING = b'{"application_id":"1","id":"2","token":"t","type":1,"version":1}'


def test_discord_verified_ping_is_answered_pong() -> None:
    result = run(DISCORD, discord_headers(PING), PING, keys(DISCORD_PUBLIC))
    assert result.reason is Reason.VERIFIED
    assert result.response is not None
    status, headers, content = result.response
    assert (status, json.loads(content)) == (200, {"type": 1})
    assert ("Content-Type", "application/json") in headers


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda h: {}, Reason.MISSING_SIGNATURE, id="unsigned-ping"),
        pytest.param(
            lambda h: {**h, "X-Signature-Ed25519": "0" * 128},
            Reason.BAD_SIGNATURE,
            id="probe-bad-sig",
        ),
        pytest.param(
            lambda h: {**h, "X-Signature-Ed25519": "zz"},
            Reason.MALFORMED_SIGNATURE,
            id="probe-junk",
        ),
    ],
)
def test_discord_unverified_ping_is_401(
    mutate: Callable[[dict[str, str]], dict[str, str]], reason: Reason
) -> None:
    result = run(DISCORD, mutate(discord_headers(PING)), PING, keys(DISCORD_PUBLIC))
    assert result.reason is reason
    assert reason.status == 401
    assert result.response is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"type":2,"data":{}}', id="application-command"),
        pytest.param(b'{"type":true}', id="bool-type"),
        pytest.param(b'{"type":"1"}', id="string-type"),
        pytest.param(b"[1]", id="array"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"type":1,' + b'"pad":"' + b"x" * 20000 + b'"}', id="large-body"),
    ],
)
def test_discord_other_bodies_go_to_the_app(body: bytes) -> None:
    result = run(DISCORD, discord_headers(body), body, keys(DISCORD_PUBLIC))
    assert result.reason is Reason.VERIFIED
    assert result.response is None


def test_discord_webhook_events_kind() -> None:
    events = discord(secret=DISCORD_PUBLIC, kind="events")
    ping = b'{"version":1,"application_id":"1","type":0}'
    event = b'{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}'
    answered = run(events, discord_headers(ping), ping, keys(DISCORD_PUBLIC))
    assert answered.response == (204, (), b"")
    passed = run(events, discord_headers(event), event, keys(DISCORD_PUBLIC))
    assert (passed.reason, passed.response) == (Reason.VERIFIED, None)
    with pytest.raises(ConfigurationError):
        discord(secret=DISCORD_PUBLIC, kind="gateway")


# -- SDK oracles --------------------------------------------------------------------------


def test_discord_sdk_both_ways() -> None:
    di = pytest.importorskip("discord_interactions")
    nacl_signing = pytest.importorskip("nacl.signing")
    # signed by us, verified by the SDK
    ours = DISCORD.sign(BODY, secret=DISCORD_SEED.hex(), timestamp=NOW)
    assert di.verify_key(
        BODY, ours["X-Signature-Ed25519"], ours["X-Signature-Timestamp"], DISCORD_PUBLIC
    )
    assert not di.verify_key(BODY + b"x", ours["X-Signature-Ed25519"], TS, DISCORD_PUBLIC)
    # signed with PyNaCl (libsodium, as the SDK's docs do), verified by the SDK and by us
    signed = nacl_signing.SigningKey(DISCORD_SEED).sign(TS.encode() + BODY)
    headers = {"X-Signature-Ed25519": signed.signature.hex(), "X-Signature-Timestamp": TS}
    assert di.verify_key(BODY, headers["X-Signature-Ed25519"], TS, DISCORD_PUBLIC)
    assert run(DISCORD, headers, BODY, keys(DISCORD_PUBLIC)).reason is Reason.VERIFIED


def test_telnyx_pynacl_both_ways() -> None:
    nacl_signing = pytest.importorskip("nacl.signing")
    nacl_exceptions = pytest.importorskip("nacl.exceptions")
    signer = nacl_signing.SigningKey(TELNYX_SEED)
    assert base64.b64encode(bytes(signer.verify_key)).decode() == TELNYX_PUBLIC
    signed = signer.sign(TS.encode() + b"|" + BODY)
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signed.signature).decode(),
        "telnyx-timestamp": TS,
    }
    assert run(TELNYX, headers, BODY, keys(TELNYX_PUBLIC)).reason is Reason.VERIFIED
    ours = TELNYX.sign(BODY, secret=TELNYX_SEED_B64, timestamp=NOW)
    verifier = nacl_signing.VerifyKey(base64.b64decode(TELNYX_PUBLIC))
    verifier.verify(TS.encode() + b"|" + BODY, base64.b64decode(ours["telnyx-signature-ed25519"]))
    with pytest.raises(nacl_exceptions.BadSignatureError):
        verifier.verify(TS.encode() + BODY, base64.b64decode(ours["telnyx-signature-ed25519"]))


# SendGrid's published vector (sendgrid/sendgrid-python test/unit/test_eventwebhook.py).
SG_VECTOR_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SG_VECTOR_SIG = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
SG_VECTOR_TS = "1600112502"
SG_VECTOR_BODY = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


@pytest.mark.parametrize(
    ("body", "signature", "reason"),
    [
        pytest.param(SG_VECTOR_BODY, SG_VECTOR_SIG, Reason.VERIFIED, id="published-vector"),
        pytest.param(
            SG_VECTOR_BODY.rstrip(b"\r\n"), SG_VECTOR_SIG, Reason.BAD_SIGNATURE, id="stripped-crlf"
        ),
        pytest.param(
            SG_VECTOR_BODY,
            "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=",
            Reason.BAD_SIGNATURE,
            id="published-bad-signature",
        ),
    ],
)
def test_sendgrid_published_vector(body: bytes, signature: str, reason: Reason) -> None:
    scheme = sendgrid(secret=SG_VECTOR_KEY)
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": SG_VECTOR_TS,
    }
    assert (
        run(scheme, headers, body, keys(SG_VECTOR_KEY), now=int(SG_VECTOR_TS) + 10).reason is reason
    )


def test_sendgrid_sdk_both_ways() -> None:
    ew_module = pytest.importorskip("sendgrid.helpers.eventwebhook")
    ew = ew_module.EventWebhook(SG_PUBLIC)
    ours = SENDGRID.sign(SG_BODY, secret=SG_PRIVATE_PEM, timestamp=NOW)
    sig = ours["X-Twilio-Email-Event-Webhook-Signature"]
    assert ew.verify_signature(SG_BODY.decode(), sig, TS)
    assert not ew.verify_signature(SG_BODY.decode().rstrip(), sig, TS)
    # The SDK has no signer: the published vector is what the SDK verifies, and we verify it too.
    vector = ew_module.EventWebhook(SG_VECTOR_KEY)
    assert vector.verify_signature(SG_VECTOR_BODY.decode(), SG_VECTOR_SIG, SG_VECTOR_TS)


def test_sendgrid_pycryptodome_signer() -> None:
    """An ECDSA implementation independent of OpenSSL signs; we verify."""
    ecc = pytest.importorskip("Crypto.PublicKey.ECC")
    dss = pytest.importorskip("Crypto.Signature.DSS")
    sha256 = pytest.importorskip("Crypto.Hash.SHA256")
    key = ecc.construct(curve="P-256", d=0x5EC12E7)
    assert key.public_key().export_key(format="DER") == SG_PUBLIC_DER
    sig = dss.new(key, "fips-186-3", encoding="der").sign(sha256.new(TS.encode() + SG_BODY))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": TS,
    }
    assert run(SENDGRID, headers, SG_BODY, keys(SG_PUBLIC)).reason is Reason.VERIFIED
    ours = SENDGRID.sign(SG_BODY, secret=SG_PRIVATE_PEM, timestamp=NOW)
    der = base64.b64decode(ours["X-Twilio-Email-Event-Webhook-Signature"])
    dss.new(key.public_key(), "fips-186-3", encoding="der").verify(
        sha256.new(TS.encode() + SG_BODY), der
    )


def test_sendgrid_malleated_signature_shares_the_replay_key() -> None:
    headers = sendgrid_headers(SG_BODY)
    name = "X-Twilio-Email-Event-Webhook-Signature"
    r, s = decode_dss_signature(base64.b64decode(headers[name]))
    twin = {**headers, name: base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()}
    first = run(SENDGRID, headers, SG_BODY, keys(SG_PUBLIC))
    second = run(SENDGRID, twin, SG_BODY, keys(SG_PUBLIC))
    assert first.reason is Reason.VERIFIED
    if second.reason is Reason.VERIFIED:  # OpenSSL accepts high-s; the replay key still matches
        assert second.replay_material == first.replay_material


def test_sendgrid_non_canonical_der_is_malformed() -> None:
    headers = sendgrid_headers(SG_BODY)
    name = "X-Twilio-Email-Event-Webhook-Signature"
    der = base64.b64decode(headers[name])
    assert der[0] == 0x30
    assert der[1] < 0x80
    long_form = bytes([0x30, 0x81, der[1]]) + der[2:]  # BER long-form length
    trailing = der + b"\x00"
    for variant in (long_form, trailing):
        bad = {**headers, name: base64.b64encode(variant).decode()}
        assert run(SENDGRID, bad, SG_BODY, keys(SG_PUBLIC)).reason is Reason.MALFORMED_SIGNATURE


def test_telnyx_sdk_both_ways() -> None:
    """telnyx's own verifier (``telnyx.lib.webhook_verification``, PyNaCl, 300 s on the real clock)."""
    verification = pytest.importorskip("telnyx.lib.webhook_verification")
    nacl_signing = pytest.importorskip("nacl.signing")
    now = int(time.time())
    body = b'{"data":{"event_type":"message.received","id":"e1"}}'
    ours = TELNYX.sign(body, secret=TELNYX_SEED_B64, timestamp=now)
    verification.verify_webhook_signature(body, ours, TELNYX_PUBLIC)  # raises when invalid
    with pytest.raises(verification.WebhookVerificationError):
        verification.verify_webhook_signature(body + b" ", ours, TELNYX_PUBLIC)
    # Signed with PyNaCl the way the SDK verifies (``f"{timestamp}|{payload}"``), verified by us.
    signed = nacl_signing.SigningKey(TELNYX_SEED).sign(f"{now}|".encode() + body)
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signed.signature).decode(),
        "telnyx-timestamp": str(now),
    }
    verification.verify_webhook_signature(body, headers, TELNYX_PUBLIC)
    assert run(TELNYX, headers, body, keys(TELNYX_PUBLIC), now=now).reason is Reason.VERIFIED


# -- end to end through the WSGI adapter -------------------------------------------------------


def _wsgi_call(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    environ = build_wsgi_environ("/hooks/discord", body=body, headers=headers)
    status: list[str] = []

    def start_response(s: str, h: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)
        return lambda data: None

    out = b"".join(app(environ, start_response))
    return int(status[0].split()[0]), out


def test_discord_end_to_end_wsgi() -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        verdict = get_verdict(environ)
        seen.append((verdict.provider, verdict.verified, environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"type":4,"data":{"content":"hi"}}']

    guard = Guard(
        [Route("/hooks/discord", discord(public_key=DISCORD_PUBLIC))], clock=FrozenClock(NOW)
    )
    wrapped = guard.wsgi(app)

    status, _ = _wsgi_call(wrapped, BODY, discord_headers(BODY))
    assert status == 200
    assert seen == [("discord", True, BODY)]

    forged = discord_headers(BODY, seed=OTHER_SEED)
    status, content = _wsgi_call(wrapped, BODY, forged)
    assert status == 401
    assert json.loads(content)["error"] == "bad_signature"

    status, content = _wsgi_call(wrapped, PING, discord_headers(PING))
    assert (status, json.loads(content)) == (200, {"type": 1})
    assert len(seen) == 1  # the guard answered the PING; the app was not called

    status, _ = _wsgi_call(wrapped, PING, {})
    assert status == 401
    assert len(seen) == 1
