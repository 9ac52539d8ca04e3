"""Body-HMAC providers, Mailgun, handshakes and static-token presets (providers/catalogue.py).

Oracles: the table ``SPEC`` below restates each provider's documented formula from
``shared/providers.md`` independently of the implementation's table; ``razorpay``,
``line-bot-sdk`` and ``pyairtable`` (verify-only SDKs) check our signatures, and we check
signatures computed the way those SDKs compute them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import VERDICT_KEY, Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import REGISTRY, get
from webhook_guard.providers.body import BodyHMAC
from webhook_guard.providers.embedded import Mailgun
from webhook_guard.providers.tokens import Token
from webhook_guard.testing import FrozenClock, build_wsgi_environ

#: The catalogue's rows by family (what this module tests).
FACTORIES = dict(REGISTRY)
BODY_HMAC = {
    n: row for n, row in REGISTRY.items() if row.family is BodyHMAC and n not in ("github", "seatable")
}
TOKENS = {
    n: row for n, row in REGISTRY.items()
    if row.family is Token and n not in ("token", "dingtalk_token") and "hash" not in row.spec
}  # fmt: skip  (seatable_legacy, which sends a hash of the token: tests/providers/test_seatable.py)

SECRET = "catalogue-secret"
# Airtable's macSecretBase64: the key is the decoded bytes.
AIRTABLE_SECRET = base64.b64encode(b"\x01airtable-mac-secret\xff").decode()
BODY = b'{"id":"evt_1","amount":100,"name":"Zo\xc3\xab"}'
NOW = 1_700_000_000.0


class Spec(NamedTuple):
    header: str
    algorithm: str
    encoding: str  # "hex" or "base64"
    prefix: str = ""


#: Restated from shared/providers.md (not imported from the implementation).
SPEC: dict[str, Spec] = {
    "shopify": Spec("X-Shopify-Hmac-Sha256", "sha256", "base64"),
    "bitbucket": Spec("X-Hub-Signature", "sha256", "hex", "sha256="),
    "jira": Spec("X-Hub-Signature", "sha256", "hex", "sha256="),
    "gitea": Spec("X-Gitea-Signature", "sha256", "hex"),
    "gogs": Spec("X-Gogs-Signature", "sha256", "hex"),
    "forgejo": Spec("X-Forgejo-Signature", "sha256", "hex"),
    "intercom": Spec("X-Hub-Signature", "sha1", "hex", "sha1="),
    "typeform": Spec("Typeform-Signature", "sha256", "base64", "sha256="),
    "razorpay": Spec("X-Razorpay-Signature", "sha256", "hex"),
    "paystack": Spec("x-paystack-signature", "sha512", "hex"),
    "line": Spec("x-line-signature", "sha256", "base64"),
    "dropbox": Spec("X-Dropbox-Signature", "sha256", "hex"),
    "asana": Spec("X-Hook-Signature", "sha256", "hex"),
    "xero": Spec("x-xero-signature", "sha256", "base64"),
    "quickbooks": Spec("intuit-signature", "sha256", "base64"),
    "meta": Spec("X-Hub-Signature-256", "sha256", "hex", "sha256="),
    "whatsapp": Spec("X-Hub-Signature-256", "sha256", "hex", "sha256="),
    "instagram": Spec("X-Hub-Signature-256", "sha256", "hex", "sha256="),
    "vercel": Spec("x-vercel-signature", "sha1", "hex"),
    "sentry": Spec("Sentry-Hook-Signature", "sha256", "hex"),
    "woocommerce": Spec("X-WC-Webhook-Signature", "sha256", "base64"),
    "lemon_squeezy": Spec("X-Signature", "sha256", "hex"),
    "notion": Spec("X-Notion-Signature", "sha256", "hex", "sha256="),
    "airtable": Spec("X-Airtable-Content-MAC", "sha256", "hex", "hmac-sha256="),
    "segment": Spec("X-Signature", "sha1", "hex"),
    "coinbase_commerce": Spec("X-CC-Webhook-Signature", "sha256", "hex"),
    "circleci": Spec("circleci-signature", "sha256", "hex", "v1="),
    "bolt": Spec("X-Bolt-Hmac-Sha256", "sha256", "base64"),
}
NAMES = sorted(SPEC)


def secret_for(name: str) -> str:
    return AIRTABLE_SECRET if name == "airtable" else SECRET


def other_secret(name: str) -> str:
    return base64.b64encode(b"another key").decode() if name == "airtable" else "other"


def key_bytes(name: str, secret: str) -> bytes:
    return base64.b64decode(secret) if name == "airtable" else secret.encode()


def documented(name: str, body: bytes = BODY, secret: str | None = None) -> dict[str, str]:
    """The header a sender computes by the provider's documented formula."""
    spec = SPEC[name]
    key = key_bytes(name, secret if secret is not None else secret_for(name))
    digest = hmac.new(key, body, getattr(hashlib, spec.algorithm)).digest()
    encoded = base64.b64encode(digest).decode() if spec.encoding == "base64" else digest.hex()
    return {spec.header: spec.prefix + encoded}


def request(
    headers: Any = (),
    body: bytes = BODY,
    *,
    method: str = "POST",
    query: str = "",
) -> WebhookRequest:
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return WebhookRequest(method=method, path="/h", headers=Headers(pairs), body=body, query=query)


def run(scheme: Scheme, req: WebhookRequest, secret: str = SECRET, now: float = NOW) -> Check:
    return scheme.check(req, KeySet([Secret(secret, key_id="k")]), now)


def check(name: str, headers: Any, body: bytes = BODY, **options: Any) -> Reason:
    scheme = get(name)(secret=secret_for(name), **options)
    return run(scheme, request(headers, body), secret_for(name)).reason


# --------------------------------------------------------------------------- registry


def test_every_catalogue_provider_is_registered_and_tested() -> None:
    assert set(BODY_HMAC) == set(SPEC)
    for name in [*SPEC, *TOKENS, "mailgun"]:
        assert get(name) is FACTORIES[name]
        scheme = get(name)(secret=secret_for(name))
        assert scheme.name == name


@pytest.mark.parametrize("name", NAMES)
def test_scheme_matches_the_documented_table(name: str) -> None:
    scheme: Any = get(name)(secret=secret_for(name))
    spec = SPEC[name]
    assert (scheme.header.lower(), scheme.algorithm, scheme.encoding, scheme.prefix) == (
        spec.header.lower(),
        spec.algorithm,
        spec.encoding,
        spec.prefix,
    )
    assert scheme.body_signed is True
    assert scheme.replay_ttl() is None  # no timestamp: the route's replay TTL applies


# --------------------------------------------------------------------------- body HMAC


@pytest.mark.parametrize("name", NAMES)
def test_documented_formula_verifies_and_sign_agrees(name: str) -> None:
    secret = secret_for(name)
    assert check(name, documented(name)) is Reason.VERIFIED
    assert get(name)(secret=secret).sign(BODY, secret=secret) == documented(name)
    # Header names are case-insensitive (HTTP/2 proxies lowercase them).
    [(header, value)] = documented(name).items()
    assert check(name, {header.lower(): value}) is Reason.VERIFIED
    assert check(name, {header.upper(): value}) is Reason.VERIFIED


@pytest.mark.parametrize("name", NAMES)
def test_replay_material_is_the_signature(name: str) -> None:
    scheme = get(name)(secret=secret_for(name))
    result = run(scheme, request(documented(name)), secret_for(name))
    [value] = documented(name).values()
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k"
    assert result.replay_material == value.encode()
    assert result.response is None


@pytest.mark.parametrize("name", NAMES)
def test_empty_body_round_trip(name: str) -> None:
    assert check(name, documented(name, b""), b"") is Reason.VERIFIED
    assert check(name, documented(name, b""), BODY) is Reason.BAD_SIGNATURE


def _mutations(name: str) -> list[tuple[str, Any, bytes, tuple[Reason, ...]]]:
    spec = SPEC[name]
    [(header, value)] = documented(name).items()
    encoded = value[len(spec.prefix) :]
    bad = Reason.BAD_SIGNATURE
    malformed = Reason.MALFORMED_SIGNATURE
    cases: list[tuple[str, Any, bytes, tuple[Reason, ...]]] = [
        ("tampered-body", {header: value}, BODY + b" ", (bad,)),
        ("body-reencoded", {header: value}, json.dumps(json.loads(BODY)).encode(), (bad,)),
        ("wrong-secret", documented(name, secret=other_secret(name)), BODY, (bad,)),
        ("missing", {}, BODY, (Reason.MISSING_SIGNATURE,)),
        ("empty", {header: ""}, BODY, (malformed,)),
        ("truncated", {header: value[:-2]}, BODY, (malformed,)),
        ("truncated-half", {header: value[: len(value) // 2]}, BODY, (malformed,)),
        ("extended", {header: value + "0"}, BODY, (malformed,)),
        ("trailing-space", {header: value + " "}, BODY, (malformed,)),
        ("leading-space", {header: " " + value[:-1]}, BODY, (malformed, bad)),
        ("duplicate", [(header, value), (header, value)], BODY, (malformed,)),
        ("duplicate-other-first", [(header, "x"), (header, value)], BODY, (malformed,)),
        ("comma-joined", {header: f"{value},{value}"}, BODY, (malformed,)),
        ("non-ascii", {header: value[:-1] + "\xe9"}, BODY, (bad, malformed)),
        ("non-ascii-digit", {header: value[:-1] + "\u0663"}, BODY, (bad, malformed)),
        (
            "flipped-last-char",
            {header: value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]},
            BODY,
            (bad,),
        ),
        ("huge", {header: "a" * 10_000}, BODY, (malformed,)),
    ]
    if spec.prefix:
        cases += [
            ("wrong-prefix", {header: "x" + value[1:]}, BODY, (malformed,)),
            ("no-prefix", {header: encoded}, BODY, (malformed,)),
            ("upper-prefix", {header: spec.prefix.upper() + encoded}, BODY, (malformed, bad)),
            ("other-algo-prefix", {header: "sha512=" + encoded}, BODY, (malformed,)),
        ]
    else:
        cases.append(("added-prefix", {header: "sha256=" + encoded}, BODY, (malformed,)))
    if spec.encoding == "hex":
        cases += [
            ("uppercase-hex", {header: spec.prefix + encoded.upper()}, BODY, (bad,)),
            (
                "base64-instead",
                {header: spec.prefix + base64.b64encode(bytes.fromhex(encoded)).decode()},
                BODY,
                (malformed,),
            ),
        ]
    else:
        raw = base64.b64decode(encoded)
        cases += [
            ("hex-instead", {header: spec.prefix + raw.hex()}, BODY, (malformed,)),
            ("unpadded", {header: spec.prefix + encoded.rstrip("=")}, BODY, (malformed,)),
        ]
        urlsafe = base64.urlsafe_b64encode(raw).decode()
        if urlsafe != encoded:
            cases.append(("base64url-instead", {header: spec.prefix + urlsafe}, BODY, (bad,)))
    return cases


FAILURES = [
    pytest.param(name, headers, body, reasons, id=f"{name}-{label}")
    for name in NAMES
    for label, headers, body, reasons in _mutations(name)
]


@pytest.mark.parametrize(("name", "headers", "body", "reasons"), FAILURES)
def test_failures(name: str, headers: Any, body: bytes, reasons: tuple[Reason, ...]) -> None:
    assert check(name, headers, body) in reasons


def test_sha1_and_sha512_lengths_are_enforced() -> None:
    assert len(documented("paystack")["x-paystack-signature"]) == 128
    assert len(documented("vercel")["x-vercel-signature"]) == 40
    # A SHA-256 hex value in a SHA-512 or SHA-1 header is malformed, not checked.
    sha256_hex = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert check("paystack", {"x-paystack-signature": sha256_hex}) is Reason.MALFORMED_SIGNATURE
    assert check("vercel", {"x-vercel-signature": sha256_hex}) is Reason.MALFORMED_SIGNATURE


def test_meta_legacy_sha1_header_is_not_a_fallback() -> None:
    legacy = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert check("meta", {"X-Hub-Signature": legacy}) is Reason.MISSING_SIGNATURE


def test_meta_escaped_unicode_bytes_are_what_is_signed() -> None:
    escaped = b'{"name":"Zo\\u00eb","url":"https:\\/\\/x"}'
    assert check("meta", documented("meta", escaped), escaped) is Reason.VERIFIED
    unescaped = json.dumps(json.loads(escaped), ensure_ascii=False).encode()
    assert check("meta", documented("meta", escaped), unescaped) is Reason.BAD_SIGNATURE


# Fixed vectors for body b'{"hello":"world"}', computed once with Python's hmac from the
# documented formulas (providers.md lists these providers' vectors as self-generated "G":
# none is published). They pin the helper and the implementation so both cannot drift.
PINNED: dict[str, tuple[str, str]] = {
    "shopify": ("X-Shopify-Hmac-Sha256", "8LLMW12djGtmzoG3d8vC/2W4lblPbk0+ucOL2nqGM8o="),
    "paystack": (
        "x-paystack-signature",
        "a5b1b02afaf24c55ce6f2186c84a403cd2f49a8c19f505c2a3e977c79e427cd9"
        "2041cf2d110e4308f2a6ddbc5c8f4868ad6028b1344a791d23a43ccbcb15c69d",
    ),
    "intercom": ("X-Hub-Signature", "sha1=89a3403f4326481aec13020f4e7f084df11d467c"),
    "airtable": (
        "X-Airtable-Content-MAC",
        "hmac-sha256=95b2e14c866fa11602af631c89e1a5c2ddc37c134bc89ba50801736188d2f08d",
    ),
    "typeform": ("Typeform-Signature", "sha256=8LLMW12djGtmzoG3d8vC/2W4lblPbk0+ucOL2nqGM8o="),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_vector(name: str) -> None:
    body = b'{"hello":"world"}'
    expected = dict([PINNED[name]])
    assert documented(name, body) == expected
    assert get(name)(secret=secret_for(name)).sign(body, secret=secret_for(name)) == expected
    assert check(name, expected, body) is Reason.VERIFIED


# --------------------------------------------------------------------------- SDK oracles


def test_razorpay_sdk_both_ways() -> None:
    razorpay = pytest.importorskip("razorpay")
    client = razorpay.Client(auth=("key", "secret"))
    text = BODY.decode()
    [(_, ours)] = get("razorpay")(secret=SECRET).sign(BODY, secret=SECRET).items()
    assert client.utility.verify_webhook_signature(text, ours, SECRET)
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        client.utility.verify_webhook_signature(text, ours, "other")
    # The SDK's own formula (utility.verify_signature): hex HMAC-SHA256 of the UTF-8 text.
    theirs = hmac.new(SECRET.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()
    assert client.utility.verify_webhook_signature(text, theirs, SECRET)
    assert check("razorpay", {"X-Razorpay-Signature": theirs}) is Reason.VERIFIED


LINE_BODY = json.dumps(
    {
        "destination": "U" + "0" * 32,
        "events": [
            {
                "type": "message",
                "mode": "active",
                "timestamp": 1462629479859,
                "source": {"type": "user", "userId": "U" + "1" * 32},
                "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
                "deliveryContext": {"isRedelivery": False},
                "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
                "message": {
                    "id": "325708",
                    "type": "text",
                    "text": "Hello, ☃",
                    "quoteToken": "q3Plxr4AgKd",
                },
            }
        ],
    },
    ensure_ascii=False,
).encode("utf-8")


def test_line_sdk_both_ways() -> None:
    webhook = pytest.importorskip("linebot.v3.webhook")
    exceptions = pytest.importorskip("linebot.v3.exceptions")
    [(_, ours)] = get("line")(secret=SECRET).sign(LINE_BODY, secret=SECRET).items()
    text = LINE_BODY.decode("utf-8")
    assert webhook.SignatureValidator(SECRET).validate(text, ours)
    assert not webhook.SignatureValidator("other").validate(text, ours)
    events = webhook.WebhookParser(SECRET).parse(text, ours)
    assert events[0].message.text == "Hello, ☃"
    with pytest.raises(exceptions.InvalidSignatureError):
        webhook.WebhookParser("other").parse(text, ours)
    # The SDK's formula: Base64 HMAC-SHA256 of body.encode("utf-8") with secret.encode("utf-8").
    theirs = base64.b64encode(
        hmac.new(SECRET.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    ).decode()
    assert webhook.SignatureValidator(SECRET).validate(text, theirs)
    assert check("line", {"x-line-signature": theirs}, LINE_BODY) is Reason.VERIFIED


AIRTABLE_BODY = (
    b'{"base":{"id":"appxxxxxxxxxxxxxx"},"webhook":{"id":"achxxxxxxxxxxxxxx"},'
    b'"timestamp":"2022-02-01T21:25:05.663Z"}'
)


def test_pyairtable_both_ways() -> None:
    webhook = pytest.importorskip("pyairtable.models.webhook")
    [(_, ours)] = (
        get("airtable")(secret=AIRTABLE_SECRET).sign(AIRTABLE_BODY, secret=AIRTABLE_SECRET).items()
    )
    notification = webhook.WebhookNotification.from_request(
        AIRTABLE_BODY.decode(), ours, AIRTABLE_SECRET
    )
    assert notification.base.id == "appxxxxxxxxxxxxxx"
    with pytest.raises(ValueError):
        webhook.WebhookNotification.from_request(
            AIRTABLE_BODY.decode(), ours, base64.b64encode(b"other").decode()
        )
    # The SDK's formula: "hmac-sha256=" + hex HMAC-SHA256 keyed with the decoded secret.
    theirs = (
        "hmac-sha256="
        + hmac.new(
            base64.decodebytes(AIRTABLE_SECRET.encode("ascii")), AIRTABLE_BODY, "sha256"
        ).hexdigest()
    )
    webhook.WebhookNotification.from_request(AIRTABLE_BODY.decode(), theirs, AIRTABLE_SECRET)
    assert check("airtable", {"X-Airtable-Content-MAC": theirs}, AIRTABLE_BODY) is Reason.VERIFIED
    # Keyed with the base64 text instead of the decoded bytes: the classic mistake.
    undecoded = (
        "hmac-sha256=" + hmac.new(AIRTABLE_SECRET.encode(), AIRTABLE_BODY, "sha256").hexdigest()
    )
    assert check("airtable", {"X-Airtable-Content-MAC": undecoded}, AIRTABLE_BODY) is (
        Reason.BAD_SIGNATURE
    )


@pytest.mark.parametrize("bad", ["not base64!", "", "abc"], ids=["symbols", "empty", "bad-padding"])
def test_airtable_rejects_a_secret_that_is_not_base64(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        get("airtable")(secret=bad)


def test_airtable_key_that_does_not_decode_matches_nothing() -> None:
    # env:/file:/callable keys are only read at request time: a bad one fails closed.
    scheme = get("airtable")(secret=lambda: "not base64!")
    result = scheme.check(
        request(documented("airtable")),
        KeySet([Secret("not base64!", key_id="k"), Secret(AIRTABLE_SECRET, key_id="good")]),
        NOW,
    )
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "good")
    result = scheme.check(
        request(documented("airtable")), KeySet([Secret("not base64!", key_id="k")]), NOW
    )
    assert result.reason is Reason.BAD_SIGNATURE


# --------------------------------------------------------------------------- handshakes

META_QUERY = "hub.mode=subscribe&hub.verify_token=meta-verify&hub.challenge=1158201444"


def meta_get(query: str, verify_token: str | None = "meta-verify", name: str = "meta") -> Check:  # noqa: S107
    scheme = get(name)(secret=SECRET, verify_token=verify_token)
    return run(scheme, request((), b"", method="GET", query=query))


@pytest.mark.parametrize("name", ["meta", "whatsapp", "instagram"])
def test_meta_subscription_answered(name: str) -> None:
    result = meta_get(META_QUERY, name=name)
    assert result.reason is Reason.VERIFIED
    assert result.response is not None
    status, headers, body = result.response
    assert (status, body) == (200, b"1158201444")
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    assert dict(headers)["Content-Type"].startswith("text/plain")
    assert result.replay_material is None


@pytest.mark.parametrize(
    ("query", "verify_token", "reason"),
    [
        pytest.param(
            META_QUERY.replace("meta-verify", "wrong"),
            "meta-verify",
            Reason.BAD_SIGNATURE,
            id="wrong-token",
        ),
        pytest.param(
            META_QUERY.replace("meta-verify", "meta-verif"),
            "meta-verify",
            Reason.BAD_SIGNATURE,
            id="prefix-of-token",
        ),
        pytest.param(
            META_QUERY.replace("meta-verify", "META-VERIFY"),
            "meta-verify",
            Reason.BAD_SIGNATURE,
            id="case-changed",
        ),
        pytest.param(
            "hub.mode=subscribe&hub.challenge=1",
            "meta-verify",
            Reason.MISSING_SIGNATURE,
            id="no-token",
        ),
        pytest.param(
            META_QUERY + "&hub.verify_token=meta-verify",
            "meta-verify",
            Reason.MALFORMED_SIGNATURE,
            id="token-twice",
        ),
        pytest.param(META_QUERY, None, Reason.MISSING_SIGNATURE, id="not-configured"),
        pytest.param(
            META_QUERY.replace("subscribe", "unsubscribe"),
            "meta-verify",
            Reason.BAD_REQUEST,
            id="wrong-mode",
        ),
        pytest.param(
            META_QUERY + "&hub.mode=subscribe", "meta-verify", Reason.BAD_REQUEST, id="mode-twice"
        ),
        pytest.param(
            META_QUERY + "&hub.challenge=2", "meta-verify", Reason.BAD_REQUEST, id="challenge-twice"
        ),
        pytest.param(
            "hub.mode=subscribe&hub.verify_token=meta-verify",
            "meta-verify",
            Reason.BAD_REQUEST,
            id="no-challenge",
        ),
        pytest.param(
            META_QUERY.replace("1158201444", "%3Cscript%3E"),
            "meta-verify",
            Reason.BAD_REQUEST,
            id="markup-challenge",
        ),
        pytest.param(
            META_QUERY.replace("1158201444", "1%0D%0AX-Evil:%201"),
            "meta-verify",
            Reason.BAD_REQUEST,
            id="crlf-challenge",
        ),
        pytest.param(
            META_QUERY.replace("1158201444", "9" * 600),
            "meta-verify",
            Reason.BAD_REQUEST,
            id="huge-challenge",
        ),
        pytest.param(
            META_QUERY.replace("meta-verify", "%C3%A9"),
            "meta-verify",
            Reason.BAD_SIGNATURE,
            id="non-ascii-token",
        ),
        pytest.param(
            META_QUERY.replace("meta-verify", "%ED%A0%80"),
            "meta-verify",
            Reason.BAD_SIGNATURE,
            id="surrogate-token",
        ),
    ],
)
def test_meta_subscription_rejected(query: str, verify_token: str | None, reason: Reason) -> None:
    result = meta_get(query, verify_token)
    assert result.reason is reason
    assert result.response is None


def test_meta_handshake_does_not_bypass_signature_on_post() -> None:
    scheme = get("meta")(secret=SECRET, verify_token="meta-verify")
    forged = run(scheme, request({}, BODY, query=META_QUERY))
    assert forged.reason is Reason.MISSING_SIGNATURE
    signed = run(scheme, request(documented("meta"), BODY, query=META_QUERY))
    assert signed.reason is Reason.VERIFIED
    assert signed.response is None


def test_meta_get_with_a_body_is_not_a_handshake() -> None:
    scheme = get("meta")(secret=SECRET, verify_token="meta-verify")
    result = run(scheme, request((), b"x", method="GET", query=META_QUERY))
    assert result.reason is Reason.BAD_REQUEST


def test_meta_verify_token_is_not_described_and_not_empty() -> None:
    scheme = get("meta")(secret=SECRET, verify_token="meta-verify")
    assert "meta-verify" not in repr(scheme.describe())
    assert scheme.describe()["answers_subscription"] is True
    with pytest.raises(ConfigurationError):
        get("meta")(secret=SECRET, verify_token="")


def test_meta_verify_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference is resolved by the configuration layer when the guard is built (with
    the secret's rules), not by the provider: an unset variable is a start-up error."""
    monkeypatch.setenv("META_VERIFY_TOKEN", "meta-verify")
    scheme = get("meta")(secret=SECRET, verify_token="env:META_VERIFY_TOKEN")
    unresolved = run(scheme, request((), b"", method="GET", query=META_QUERY))
    assert unresolved.reason is Reason.MISSING_SIGNATURE  # fails closed until resolved
    Guard([Route("/m", scheme)], check_store=False)
    assert run(scheme, request((), b"", method="GET", query=META_QUERY)).reason is Reason.VERIFIED
    monkeypatch.delenv("META_VERIFY_TOKEN")
    with pytest.raises(ConfigurationError) as raised:
        Guard(
            [Route("/m", get("meta")(secret=SECRET, verify_token="env:META_VERIFY_TOKEN"))],
            check_store=False,
        )
    assert raised.value.code == "webhook_guard.E002"
    assert "META_VERIFY_TOKEN" in str(raised.value)


def test_catalogue_options_from_configuration() -> None:
    guard = Guard.from_mapping(
        {
            "routes": [
                {"path": "/m", "provider": "meta", "secret": "s", "verify_token": "vt"},
                {"path": "/g", "provider": "mailgun", "secret": "k", "window": 600},
                {"path": "/o", "provider": "okta", "secret": "k", "prefix": "Bearer "},
                {"path": "/d", "provider": "dropbox", "secret": "k", "answer_challenge": True},
            ]
        }
    )
    described = json.dumps(guard.describe(), default=str)
    assert '"vt"' not in described
    with pytest.raises(ConfigurationError):
        Guard.from_mapping(
            {"routes": [{"path": "/s", "provider": "shopify", "secret": "s", "window": 5}]}
        )


def test_dropbox_challenge_opt_in() -> None:
    get_request = request((), b"", method="GET", query="challenge=abc123XYZ")
    answered = run(get("dropbox")(secret=SECRET, answer_challenge=True), get_request)
    assert answered.reason is Reason.VERIFIED
    assert answered.response is not None
    status, headers, body = answered.response
    assert (status, body) == (200, b"abc123XYZ")
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    assert dict(headers)["Content-Type"].startswith("text/plain")
    # Off by default: an unsigned GET is just a request without a signature.
    assert run(get("dropbox")(secret=SECRET), get_request).reason is Reason.MISSING_SIGNATURE


@pytest.mark.parametrize(
    ("query", "method", "body", "reason"),
    [
        pytest.param("challenge=%3Cb%3E", "GET", b"", Reason.BAD_REQUEST, id="markup"),
        pytest.param("challenge=a&challenge=b", "GET", b"", Reason.BAD_REQUEST, id="twice"),
        pytest.param("challenge=", "GET", b"", Reason.BAD_REQUEST, id="empty"),
        pytest.param("other=1", "GET", b"", Reason.MISSING_SIGNATURE, id="no-challenge"),
        pytest.param("challenge=abc", "POST", BODY, Reason.MISSING_SIGNATURE, id="post"),
        pytest.param("challenge=abc", "GET", b"x", Reason.MISSING_SIGNATURE, id="get-with-body"),
    ],
)
def test_dropbox_challenge_rejected(query: str, method: str, body: bytes, reason: Reason) -> None:
    scheme = get("dropbox")(secret=SECRET, answer_challenge=True)
    result = run(scheme, request((), body, method=method, query=query))
    assert result.reason is reason
    assert result.response is None


def test_dropbox_signed_post_still_verifies_with_challenge_enabled() -> None:
    scheme = get("dropbox")(secret=SECRET, answer_challenge=True)
    assert run(scheme, request(documented("dropbox"))).reason is Reason.VERIFIED


def test_asana_hook_secret_opt_in() -> None:
    hook = {"X-Hook-Secret": "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"}
    answered = run(get("asana")(secret=SECRET, handshake=True), request(hook, b""))
    assert answered.reason is Reason.VERIFIED
    assert answered.response == (200, (("X-Hook-Secret", hook["X-Hook-Secret"]),), b"")
    assert answered.details["hook_secret"] == hook["X-Hook-Secret"]
    assert answered.replay_material is None
    # Off by default: the handshake is unsigned, so it is a missing signature.
    result = run(get("asana")(secret=SECRET), request(hook, b""))
    assert result.reason is Reason.MISSING_SIGNATURE
    assert result.response is None


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Hook-Secret", "a\r\nSet-Cookie: x=1")], id="crlf"),
        pytest.param([("X-Hook-Secret", "<script>")], id="markup"),
        pytest.param([("X-Hook-Secret", "")], id="empty"),
        pytest.param([("X-Hook-Secret", "a"), ("X-Hook-Secret", "b")], id="twice"),
        pytest.param([("X-Hook-Secret", "a" * 5000)], id="huge"),
    ],
)
def test_asana_bad_hook_secret_is_not_echoed(headers: list[tuple[str, str]]) -> None:
    result = run(get("asana")(secret=SECRET, handshake=True), request(headers, b""))
    assert result.reason is Reason.BAD_REQUEST
    assert result.response is None


def test_asana_signed_event_with_handshake_enabled() -> None:
    scheme = get("asana")(secret=SECRET, handshake=True)
    assert run(scheme, request(documented("asana"))).reason is Reason.VERIFIED
    # A request carrying both is an event: its signature decides, nothing is echoed.
    both = {**documented("asana", secret="other"), "X-Hook-Secret": "abc"}
    result = run(scheme, request(both))
    assert result.reason is Reason.BAD_SIGNATURE
    assert result.response is None


@pytest.mark.parametrize("name", ["shopify", "xero"])
def test_failure_status_is_401(name: str) -> None:
    # Shopify and Xero's intent-to-receive check expect 401 for a bad signature.
    assert check(name, documented(name, secret="x")).status == 401


def test_shopify_next_gen_header_name() -> None:
    """Shopify's newer event format sends the same signature without the ``X-`` prefix."""
    classic = documented("shopify")
    [value] = classic.values()
    assert check("shopify", {"shopify-hmac-sha256": value}) is Reason.VERIFIED
    assert check("shopify", classic) is Reason.VERIFIED
    [forged] = documented("shopify", secret="x").values()
    assert check("shopify", {"shopify-hmac-sha256": forged}) is Reason.BAD_SIGNATURE
    # Both names at once is ambiguous, even when one of them is genuine.
    both = {"X-Shopify-Hmac-Sha256": value, "shopify-hmac-sha256": value}
    assert check("shopify", both) is Reason.MALFORMED_SIGNATURE
    mixed = {"X-Shopify-Hmac-Sha256": forged, "shopify-hmac-sha256": value}
    assert check("shopify", mixed) is Reason.MALFORMED_SIGNATURE
    assert check("shopify", {}) is Reason.MISSING_SIGNATURE


XERO_CASES = [
    pytest.param(lambda: documented("xero", secret="x"), 401, id="mis-signed"),
    pytest.param(lambda: {}, 401, id="unsigned"),
    pytest.param(lambda: {"x-xero-signature": "!!"}, 401, id="malformed"),
]


@pytest.mark.parametrize(("headers", "status"), XERO_CASES)
def test_xero_intent_to_receive_refusal_is_an_empty_401(headers: Any, status: int) -> None:
    send, seen = _wsgi([Route("/hooks/xero", get("xero")(secret=SECRET))])
    got, response_headers, out = send("/hooks/xero", headers())
    assert (got, out, response_headers.get("Content-Length")) == (str(status), b"", "0")
    assert "Content-Type" not in response_headers
    assert seen == []
    assert send("/hooks/xero", documented("xero"))[0] == "200"
    assert [v.verified for _, v in seen] == [True]


def test_only_xero_refuses_with_an_empty_body() -> None:
    send, _ = _wsgi(
        [
            Route("/hooks/xero", get("xero")(secret=SECRET)),
            Route("/hooks/shopify", get("shopify")(secret=SECRET)),
        ]
    )
    status, _, out = send("/hooks/shopify", documented("shopify", secret="x"))
    assert (status, json.loads(out)["error"]) == ("401", "bad_signature")
    # Not an authentication failure: the usual body, whatever the provider.
    status, _, out = send("/hooks/xero", documented("xero"), b"x" * (2 * 1024 * 1024))
    assert (status, json.loads(out)["error"]) == ("413", "body_too_large")


NOTION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"


def test_notion_verification_token_opt_in() -> None:
    body = json.dumps({"verification_token": NOTION_TOKEN}).encode()
    answered = run(get("notion")(secret=SECRET, verification=True), request({}, body))
    assert answered.reason is Reason.VERIFIED
    assert answered.details == {
        "handshake": "verification_token",
        "verification_token": NOTION_TOKEN,
    }
    assert answered.response is not None
    assert answered.response[0] == 200
    assert NOTION_TOKEN.encode() not in answered.response[2]
    assert answered.replay_material is None
    # Off by default: unsigned, so a missing signature.
    assert run(get("notion")(secret=SECRET), request({}, body)).reason is Reason.MISSING_SIGNATURE


@pytest.mark.parametrize(
    ("body", "method", "headers", "reason"),
    [
        pytest.param(
            b'{"verification_token": "a\\r\\nb"}', "POST", {}, Reason.BAD_REQUEST, id="crlf"
        ),
        pytest.param(b'{"verification_token": 1}', "POST", {}, Reason.BAD_REQUEST, id="number"),
        pytest.param(
            b'{"verification_token": "a", "type": "page.created"}',
            "POST",
            {},
            Reason.MISSING_SIGNATURE,
            id="an-event-is-not-a-verification",
        ),
        pytest.param(
            b'{"verification_token": "a", "verification_token": "b"}',
            "POST",
            {},
            Reason.MISSING_SIGNATURE,
            id="duplicate-key",
        ),
        pytest.param(
            b'{"verification_token": "a"}', "GET", {}, Reason.MISSING_SIGNATURE, id="get"
        ),
        pytest.param(
            b'{"verification_token": "a"}',
            "POST",
            {"X-Notion-Signature": "sha256=" + "0" * 64},
            Reason.BAD_SIGNATURE,
            id="signed-request-is-an-event",
        ),
        pytest.param(b"[1]", "POST", {}, Reason.MISSING_SIGNATURE, id="not-an-object"),
    ],
)
def test_notion_verification_refusals(
    body: bytes, method: str, headers: dict[str, str], reason: Reason
) -> None:
    scheme = get("notion")(secret=SECRET, verification=True)
    result = run(scheme, request(headers, body, method=method))
    assert result.reason is reason
    assert result.response is None


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_token_presets(name: str) -> None:
    header = TOKENS[name].spec["header"]
    assert check(name, {header: SECRET}) is Reason.VERIFIED
    assert check(name, {header.lower(): SECRET}) is Reason.VERIFIED
    assert check(name, {header: SECRET + "x"}) is Reason.BAD_SIGNATURE
    assert check(name, {header: SECRET[:-1]}) is Reason.BAD_SIGNATURE
    assert check(name, {header: ""}) is Reason.BAD_SIGNATURE
    assert check(name, {header: SECRET.upper()}) is Reason.BAD_SIGNATURE
    assert check(name, {header: SECRET + "\xe9"}) is Reason.MALFORMED_SIGNATURE
    assert check(name, {}) is Reason.MISSING_SIGNATURE
    assert check(name, {"X-Other": SECRET}) is Reason.MISSING_SIGNATURE
    assert check(name, [(header, SECRET), (header, SECRET)]) is Reason.MALFORMED_SIGNATURE
    scheme = get(name)(secret=SECRET)
    assert scheme.body_signed is False
    assert scheme.sign(BODY, secret=SECRET) == {header: SECRET}
    result = run(scheme, request({header: SECRET}))
    assert result.replay_material is None  # nothing signed: no replay key


def test_token_presets_accept_several_tokens() -> None:
    scheme = get("telegram")(secret={"new": "tok-new", "old": "tok-old"})
    keys = KeySet([Secret("tok-new", key_id="new"), Secret("tok-old", key_id="old")])
    for token, key_id in (("tok-new", "new"), ("tok-old", "old")):
        req = request({"X-Telegram-Bot-Api-Secret-Token": token})
        assert scheme.check(req, keys, NOW).key_id == key_id


def test_okta_bearer_prefix_and_custom_header() -> None:
    scheme = get("okta")(secret=SECRET, prefix="Bearer ")
    assert run(scheme, request({"Authorization": f"Bearer {SECRET}"})).reason is Reason.VERIFIED
    assert run(scheme, request({"Authorization": SECRET})).reason is Reason.MALFORMED_SIGNATURE
    custom = get("okta")(secret=SECRET, header="X-Okta-Auth")
    assert run(custom, request({"X-Okta-Auth": SECRET})).reason is Reason.VERIFIED
    assert run(custom, request({"Authorization": SECRET})).reason is Reason.MISSING_SIGNATURE


def test_okta_verification_answered_after_the_token_verifies() -> None:
    scheme = get("okta")(secret=SECRET)
    challenge = {"X-Okta-Verification-Challenge": "2ZMKDbpK5XZKpVhSvYMA0gvWkKmSJNsU8XE3FEUy"}
    ok = run(scheme, request({"Authorization": SECRET, **challenge}, b"", method="GET"))
    assert ok.reason is Reason.VERIFIED
    assert ok.response is not None
    status, headers, body = ok.response
    assert status == 200
    assert dict(headers)["Content-Type"] == "application/json"
    assert json.loads(body) == {"verification": challenge["X-Okta-Verification-Challenge"]}
    # Without the token, or with a wrong one: rejected, nothing echoed.
    for auth in ({}, {"Authorization": "wrong"}):
        result = run(scheme, request({**auth, **challenge}, b"", method="GET"))
        assert result.reason is not Reason.VERIFIED
        assert result.response is None
    # A bad challenge is not echoed even with the token.
    bad = {"Authorization": SECRET, "X-Okta-Verification-Challenge": '"}<x>'}
    assert run(scheme, request(bad, b"", method="GET")).reason is Reason.BAD_REQUEST
    # Opt-out: the GET is then an ordinary verified request for the app.
    plain = get("okta")(secret=SECRET, answer_verification=False)
    result = run(plain, request({"Authorization": SECRET, **challenge}, b"", method="GET"))
    assert result.reason is Reason.VERIFIED
    assert result.response is None
    # POST events carry no challenge: verified, no response.
    event = run(scheme, request({"Authorization": SECRET}))
    assert event.reason is Reason.VERIFIED
    assert event.response is None


# --------------------------------------------------------------------------- Mailgun

MG_KEY = "key-mailgun-signing"
MG_TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"


def mailgun_body(
    *,
    timestamp: Any = str(int(NOW)),
    token: Any = MG_TOKEN,
    signature: Any = None,
    secret: str = MG_KEY,
    event: Any = None,
) -> bytes:
    if signature is None:
        signature = hmac.new(secret.encode(), f"{timestamp}{token}".encode(), "sha256").hexdigest()
    block = {"timestamp": timestamp, "token": token, "signature": signature}
    return json.dumps(
        {"signature": block, "event-data": event or {"event": "delivered", "id": "m1"}}
    ).encode()


def mg(body: bytes, *, headers: Any = (), now: float = NOW, **options: Any) -> Check:
    scheme = get("mailgun")(secret=MG_KEY, **options)
    return run(scheme, request(headers, body), MG_KEY, now)


def test_mailgun_round_trip_and_signed_body_helper() -> None:
    result = mg(mailgun_body())
    assert result.reason is Reason.VERIFIED
    assert result.message_id == MG_TOKEN
    assert result.timestamp == int(NOW)
    assert result.replay_material is not None
    assert MG_TOKEN.encode() in result.replay_material
    scheme = get("mailgun")(secret=MG_KEY)
    assert isinstance(scheme, Mailgun)
    assert scheme.body_signed is False
    signed = scheme.sign(b'{"event": "opened"}', secret=MG_KEY, timestamp=NOW, token=MG_TOKEN)
    assert signed.headers == {"Content-Type": "application/json"}  # signed inside the body
    body = signed.body
    assert mg(body).reason is Reason.VERIFIED
    assert json.loads(body)["signature"] == json.loads(mailgun_body())["signature"]


def test_mailgun_event_data_is_not_signed() -> None:
    """Documented trap: only timestamp + token are signed; the replay key (the token) stops
    a captured signature block from carrying a second payload (see the end-to-end test)."""
    first = mg(mailgun_body(event={"event": "delivered"}))
    second = mg(mailgun_body(event={"event": "failed"}))
    assert first.reason is second.reason is Reason.VERIFIED
    assert first.replay_material == second.replay_material


@pytest.mark.parametrize(
    ("body", "now", "reason"),
    [
        pytest.param(mailgun_body(secret="other"), NOW, Reason.BAD_SIGNATURE, id="wrong-key"),
        pytest.param(mailgun_body(signature="0" * 64), NOW, Reason.BAD_SIGNATURE, id="zero-sig"),
        pytest.param(mailgun_body(signature="A" * 64), NOW, Reason.BAD_SIGNATURE, id="upper"),
        pytest.param(mailgun_body(signature="ab"), NOW, Reason.MALFORMED_SIGNATURE, id="short-sig"),
        pytest.param(mailgun_body(signature=123), NOW, Reason.MALFORMED_SIGNATURE, id="int-sig"),
        pytest.param(mailgun_body(token=""), NOW, Reason.MALFORMED_SIGNATURE, id="empty-token"),
        pytest.param(
            mailgun_body(token="t" * 300), NOW, Reason.MALFORMED_SIGNATURE, id="huge-token"
        ),
        pytest.param(
            mailgun_body(token="tok\xe9n"), NOW, Reason.MALFORMED_SIGNATURE, id="non-ascii-token"
        ),
        pytest.param(
            mailgun_body(token="tok\nen"), NOW, Reason.MALFORMED_SIGNATURE, id="newline-token"
        ),
        pytest.param(mailgun_body(token=["x"]), NOW, Reason.MALFORMED_SIGNATURE, id="list-token"),
        pytest.param(
            mailgun_body(timestamp=int(NOW)), NOW, Reason.MALFORMED_TIMESTAMP, id="int-ts"
        ),
        pytest.param(
            mailgun_body(timestamp=f"{int(NOW)}.5"), NOW, Reason.MALFORMED_TIMESTAMP, id="float-ts"
        ),
        pytest.param(
            mailgun_body(timestamp=f" {int(NOW)}"), NOW, Reason.MALFORMED_TIMESTAMP, id="space-ts"
        ),
        pytest.param(
            mailgun_body(timestamp="\u0661" * 10),
            NOW,
            Reason.MALFORMED_TIMESTAMP,
            id="arabic-digits",
        ),
        pytest.param(mailgun_body(), NOW + 301, Reason.STALE_TIMESTAMP, id="stale"),
        pytest.param(mailgun_body(), NOW - 301, Reason.FUTURE_TIMESTAMP, id="future"),
        pytest.param(mailgun_body(), NOW + 300, Reason.VERIFIED, id="window-edge-past"),
        pytest.param(mailgun_body(), NOW - 300, Reason.VERIFIED, id="window-edge-future"),
        pytest.param(b'{"event-data":{}}', NOW, Reason.MISSING_SIGNATURE, id="no-signature"),
        pytest.param(
            b'{"signature":{"timestamp":"1","token":"t"}}',
            NOW,
            Reason.MISSING_SIGNATURE,
            id="no-sig-field",
        ),
        pytest.param(
            b'{"signature":"abc"}', NOW, Reason.MALFORMED_SIGNATURE, id="signature-not-object"
        ),
        pytest.param(b"[1,2]", NOW, Reason.MISSING_SIGNATURE, id="array"),
        pytest.param(b"not json", NOW, Reason.BAD_REQUEST, id="not-json"),
        pytest.param(b"\xff\xfe", NOW, Reason.BAD_REQUEST, id="not-utf8"),
        pytest.param(b"[" * 100_000, NOW, Reason.BAD_REQUEST, id="deep-nesting"),
        pytest.param(b"", NOW, Reason.BAD_REQUEST, id="empty-body"),
    ],
)
def test_mailgun_failures(body: bytes, now: float, reason: Reason) -> None:
    assert mg(body, now=now).reason is reason


def test_mailgun_missing_timestamp() -> None:
    block = json.loads(mailgun_body())
    del block["signature"]["timestamp"]
    assert mg(json.dumps(block).encode()).reason is Reason.MISSING_TIMESTAMP


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            mailgun_body()[:-1] + b',"signature":{"timestamp":"1","token":"x","signature":"y"}}',
            id="signature-twice",
        ),
        pytest.param(
            mailgun_body().replace(b'"token": ', b'"token": "other", "token": ', 1),
            id="token-twice",
        ),
    ],
)
def test_mailgun_duplicate_json_keys_are_rejected(body: bytes) -> None:
    assert mg(body).reason is Reason.BAD_REQUEST


def test_mailgun_window_is_configurable_and_validated() -> None:
    assert mg(mailgun_body(), now=NOW + 500, window=600).reason is Reason.VERIFIED
    assert mg(mailgun_body(), now=NOW - 30, window=600, future_window=10).reason is (
        Reason.FUTURE_TIMESTAMP
    )
    assert get("mailgun")(secret=MG_KEY, window=600, future_window=10).replay_ttl() == 610
    with pytest.raises(ConfigurationError):
        get("mailgun")(secret=MG_KEY, window=0)
    with pytest.raises(ConfigurationError):
        get("mailgun")(secret=MG_KEY, window=10**6)


FORM = [("Content-Type", "application/x-www-form-urlencoded")]


def form_body(**override: str) -> bytes:
    from urllib.parse import urlencode

    ts = str(int(NOW))
    fields = {
        "timestamp": ts,
        "token": MG_TOKEN,
        "signature": hmac.new(MG_KEY.encode(), (ts + MG_TOKEN).encode(), "sha256").hexdigest(),
        "event": "delivered",
        "recipient": "a@example.com",
    }
    fields.update(override)
    return urlencode(fields).encode()


def test_mailgun_legacy_form_post() -> None:
    assert mg(form_body(), headers=FORM).reason is Reason.VERIFIED
    assert mg(form_body(token="other"), headers=FORM).reason is Reason.BAD_SIGNATURE
    twice = form_body() + b"&token=" + MG_TOKEN.encode()
    assert mg(twice, headers=FORM).reason is Reason.BAD_REQUEST
    assert mg(b"event=x", headers=FORM).reason is Reason.MISSING_SIGNATURE
    assert mg(b"\xff=\xfe", headers=FORM).reason is Reason.BAD_REQUEST
    # JSON sent with a form content type is not read as JSON.
    assert mg(mailgun_body(), headers=FORM).reason is not Reason.VERIFIED


# --------------------------------------------------------------------------- totality


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), value=st.text(max_size=200))
def test_any_header_gives_a_check(name: str, value: str) -> None:
    assert check(name, {SPEC[name].header: value}) is not Reason.VERIFIED


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda c: (
                st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3)
            ),
            max_leaves=10,
        ).map(lambda v: json.dumps({"signature": v}).encode()),
    ),
    form=st.booleans(),
)
def test_mailgun_any_body_gives_a_check(body: bytes, form: bool) -> None:
    assert mg(body, headers=FORM if form else ()).reason is not Reason.VERIFIED


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=st.text(max_size=100),
    header=st.text(max_size=60),
    method=st.sampled_from(["GET", "POST", "HEAD"]),
)
def test_handshake_paths_are_total(query: str, header: str, method: str) -> None:
    schemes = [
        get("meta")(secret=SECRET, verify_token="meta-verify"),
        get("dropbox")(secret=SECRET, answer_challenge=True),
        get("asana")(secret=SECRET, handshake=True),
        get("okta")(secret=SECRET),
    ]
    headers = [("X-Hook-Secret", header), ("X-Okta-Verification-Challenge", header)]
    for scheme in schemes:
        result = run(scheme, request(headers, b"", method=method, query=query))
        if result.response is not None:
            assert result.reason is Reason.VERIFIED
            for _, value in result.response[1]:
                assert "\r" not in value
                assert "\n" not in value


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError):
        get("shopify")(secret=SECRET, template="{timestamp}{body}")
    with pytest.raises(TypeError):
        get("gitlab")(secret=SECRET, header="X-Other")


# --------------------------------------------------------------------------- end to end


def _wsgi(routes: list[Route], **guard: Any) -> Any:
    seen: list[tuple[bytes, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append((environ["wsgi.input"].read(), environ[VERDICT_KEY]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    guarded = Guard(routes, clock=FrozenClock(NOW), **guard).wsgi(app)

    def send(
        path: str, headers: dict[str, str], body: bytes = BODY, **kw: Any
    ) -> tuple[str, dict[str, str], bytes]:
        captured: list[Any] = []
        out = b"".join(
            guarded(
                build_wsgi_environ(path, body=body, headers=headers, **kw),
                lambda s, h, e=None: captured.append((s, h)),
            )
        )
        status, response_headers = captured[0]
        return status[:3], dict(response_headers), out

    return send, seen


def test_end_to_end_wsgi() -> None:
    hook_secret: list[str] = []
    send, seen = _wsgi(
        [
            Route("/hooks/shopify", get("shopify")(secret=SECRET)),
            Route("/hooks/gitlab", get("gitlab")(secret=SECRET)),
            Route("/hooks/meta", get("meta")(secret=SECRET, verify_token="meta-verify")),
            Route("/hooks/asana", get("asana")(secret=SECRET, handshake=True)),
            Route("/hooks/mailgun", get("mailgun")(secret=MG_KEY)),
        ],
        on_verified=lambda v: hook_secret.append(v.details.get("hook_secret", "")),
    )
    status, _, _ = send("/hooks/shopify", documented("shopify"))
    assert status == "200"
    assert seen[-1][0] == BODY
    assert seen[-1][1].provider == "shopify"
    assert seen[-1][1].verified
    status, _, out = send("/hooks/shopify", documented("shopify", secret="x"))
    assert status == "401"
    assert json.loads(out)["error"] == "bad_signature"
    # The same genuine delivery again is a duplicate: the app is not called twice.
    send("/hooks/shopify", documented("shopify"))
    assert len(seen) == 1

    assert send("/hooks/gitlab", {"X-Gitlab-Token": SECRET})[0] == "200"
    assert seen[-1][1].provider == "gitlab"
    assert seen[-1][1].body_signed is False
    assert send("/hooks/gitlab", {"X-Gitlab-Token": "wrong"})[0] == "401"
    assert len(seen) == 2

    # Meta's subscription check is answered by the guard; the app is not called.
    status, headers, out = send("/hooks/meta", {}, b"", method="GET", query=META_QUERY)
    assert (status, out) == ("200", b"1158201444")
    assert headers["X-Content-Type-Options"] == "nosniff"
    bad_query = META_QUERY.replace("meta-verify", "nope")
    status, _, out = send("/hooks/meta", {}, b"", method="GET", query=bad_query)
    assert status == "401"
    assert b"1158201444" not in out
    status, _, _ = send("/hooks/meta", documented("meta"))
    assert status == "200"
    assert seen[-1][1].provider == "meta"
    assert len(seen) == 3

    # Asana's handshake: echoed by the guard, secret handed to on_verified.
    status, headers, out = send("/hooks/asana", {"X-Hook-Secret": "abc123"}, b"")
    assert (status, headers["X-Hook-Secret"], out) == ("200", "abc123", b"")
    assert hook_secret[-1] == "abc123"
    assert len(seen) == 3

    # Mailgun: a captured signature block cannot carry a second payload.
    assert send("/hooks/mailgun", {}, mailgun_body(event={"event": "delivered"}))[0] == "200"
    assert seen[-1][1].provider == "mailgun"
    assert seen[-1][1].body_signed is False
    status, _, out = send("/hooks/mailgun", {}, mailgun_body(event={"event": "forged"}))
    assert json.loads(out).get("status") == "duplicate" or status == "409"
    assert len(seen) == 4
    assert send("/hooks/mailgun", {}, mailgun_body(secret="forged"))[0] == "401"
    assert len(seen) == 4


def test_dropbox_challenge_with_a_signature_header_is_an_event() -> None:
    scheme = get("dropbox")(secret=SECRET, answer_challenge=True)
    forged = {"X-Dropbox-Signature": "0" * 64}
    result = run(scheme, request(forged, b"", method="GET", query="challenge=abc"))
    assert result.reason is Reason.BAD_SIGNATURE
    assert result.response is None


def test_okta_challenge_only_on_get() -> None:
    scheme = get("okta")(secret=SECRET)
    headers = {"Authorization": SECRET, "X-Okta-Verification-Challenge": "abc"}
    result = run(scheme, request(headers, BODY, method="POST"))
    assert result.reason is Reason.VERIFIED
    assert result.response is None
