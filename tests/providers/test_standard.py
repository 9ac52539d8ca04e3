"""Standard Webhooks and its variants (Svix, Clerk, Resend, Polar, GitLab signing tokens).

Oracles: the spec's published vector, and the ``standardwebhooks`` and ``svix``
libraries both ways (they sign, we verify; we sign, they verify).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import REGISTRY, get, standard_webhooks
from webhook_guard.providers.standard import StandardWebhooks
from webhook_guard.testing import FrozenClock, build_wsgi_environ

#: The providers of the Standard Webhooks family.
FACTORIES = {n: row for n, row in REGISTRY.items() if row.family is StandardWebhooks}

# The spec's vector (standard-webhooks libraries/python/tests/test_webhooks.py).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 24).decode()
NOW = 1_790_000_000.0
BODY = b'{"type":"user.created","data":{"id":"user_1"}}'


def check(
    scheme: StandardWebhooks,
    headers: Any,
    body: bytes = BODY,
    *,
    secret: str = SECRET,
    now: float = NOW,
) -> Any:

    pairs = list(headers.items()) if isinstance(headers, Mapping) else headers
    request = WebhookRequest(method="POST", path="/h", headers=Headers(pairs), body=body)
    return scheme.check(request, KeySet([Secret(secret, key_id="k")]), now)


def test_published_vector() -> None:
    scheme = standard_webhooks(secret=VECTOR_SECRET)
    headers = scheme.sign(
        VECTOR_BODY, secret=VECTOR_SECRET, timestamp=VECTOR_TS, message_id=VECTOR_ID
    )
    assert headers["webhook-signature"] == VECTOR_SIG
    result = check(scheme, headers, VECTOR_BODY, secret=VECTOR_SECRET, now=VECTOR_TS)
    assert result.reason is Reason.VERIFIED
    assert result.message_id == VECTOR_ID


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_round_trip_every_variant(name: str) -> None:
    secret = "polar_whs_raw-secret-value" if name == "polar" else SECRET
    scheme = get(name)(secret=secret)
    assert scheme.name == name
    headers = scheme.sign(BODY, secret=secret, timestamp=NOW, message_id="msg_1")
    result = check(scheme, headers, secret=secret)
    assert result.reason is Reason.VERIFIED
    assert result.replay_material == b"id:msg_1"


def _sdk(module: str) -> Any:
    if module == "standardwebhooks":
        from standardwebhooks.webhooks import Webhook

        return Webhook
    from svix.webhooks import Webhook as SvixWebhook

    return SvixWebhook


@pytest.mark.parametrize(
    ("module", "name"), [("standardwebhooks", "standard_webhooks"), ("svix", "svix")]
)
def test_sdk_signs_we_verify(module: str, name: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    signature = _sdk(module)(SECRET).sign("msg_sdk", now, BODY.decode())
    prefix = "svix" if name == "svix" else "webhook"
    headers = {
        f"{prefix}-id": "msg_sdk",
        f"{prefix}-timestamp": str(int(now.timestamp())),
        f"{prefix}-signature": signature,
    }
    assert check(get(name)(secret=SECRET), headers, now=now.timestamp()).reason is Reason.VERIFIED


@pytest.mark.parametrize(
    ("module", "name"), [("standardwebhooks", "standard_webhooks"), ("svix", "svix")]
)
def test_we_sign_sdk_verifies(module: str, name: str) -> None:
    import time

    headers = get(name)(secret=SECRET).sign(BODY, secret=SECRET, timestamp=time.time())
    _sdk(module)(SECRET).verify(BODY, headers)  # raises on a bad signature
    with pytest.raises(Exception, match=r"(?i)signature"):
        _sdk(module)(OTHER).verify(BODY, headers)


def test_polar_sdk_style_raw_key() -> None:
    """Polar's SDK hands ``base64(secret)`` to standardwebhooks: the raw secret is the key."""
    import time

    raw = "polar_whs_raw-secret-value"
    headers = get("polar")(secret=raw).sign(BODY, secret=raw, timestamp=time.time())
    from standardwebhooks.webhooks import Webhook

    Webhook(base64.b64encode(raw.encode()).decode()).verify(BODY, headers)


def signed(**changes: Any) -> dict[str, str]:
    headers = standard_webhooks(secret=SECRET).sign(
        BODY, secret=SECRET, timestamp=NOW, message_id="msg_1"
    ).headers
    headers.update(changes)
    return headers


SIG = signed()["webhook-signature"]
OTHER_SIG = standard_webhooks(secret=OTHER).sign(
    BODY, secret=OTHER, timestamp=NOW, message_id="msg_1"
)["webhook-signature"]


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        pytest.param(signed(), BODY + b" ", Reason.BAD_SIGNATURE, id="tampered-body"),
        pytest.param(signed(**{"webhook-id": "msg_2"}), BODY, Reason.BAD_SIGNATURE, id="other-id"),
        pytest.param(
            signed(**{"webhook-signature": OTHER_SIG}),
            BODY,
            Reason.BAD_SIGNATURE,
            id="wrong-secret",
        ),
        pytest.param(
            signed(**{"webhook-signature": f"{OTHER_SIG} {SIG}"}),
            BODY,
            Reason.VERIFIED,
            id="rotation-list",
        ),
        pytest.param(
            signed(**{"webhook-signature": f"v2,{SIG[3:]} {SIG}"}),
            BODY,
            Reason.VERIFIED,
            id="unknown-version-skipped",
        ),
        pytest.param(
            signed(**{"webhook-signature": f"v2,{SIG[3:]}"}),
            BODY,
            Reason.BAD_SIGNATURE,
            id="only-unknown-version",
        ),
        pytest.param(
            signed(**{"webhook-signature": f"v1a,{SIG[3:]}"}),
            BODY,
            Reason.BAD_SIGNATURE,
            id="v1a-on-hmac-route",
        ),
        pytest.param(
            signed(**{"webhook-signature": SIG[:-4]}), BODY, Reason.BAD_SIGNATURE, id="truncated"
        ),
        pytest.param(
            signed(**{"webhook-signature": SIG.replace(",", "=")}),
            BODY,
            Reason.MALFORMED_SIGNATURE,
            id="no-comma",
        ),
        pytest.param(
            signed(**{"webhook-signature": SIG + " "}),
            BODY,
            Reason.MALFORMED_SIGNATURE,
            id="trailing-space",
        ),
        pytest.param(
            signed(**{"webhook-signature": " ".join([SIG] * 9)}),
            BODY,
            Reason.MALFORMED_SIGNATURE,
            id="too-many",
        ),
        pytest.param(
            signed(**{"webhook-signature": ""}), BODY, Reason.MALFORMED_SIGNATURE, id="empty"
        ),
        pytest.param(
            signed(**{"webhook-timestamp": str(int(NOW) - 301)}),
            BODY,
            Reason.STALE_TIMESTAMP,
            id="stale",
        ),
        pytest.param(
            signed(**{"webhook-timestamp": str(int(NOW) + 301)}),
            BODY,
            Reason.FUTURE_TIMESTAMP,
            id="future",
        ),
        pytest.param(
            signed(**{"webhook-timestamp": f"{NOW}"}),
            BODY,
            Reason.MALFORMED_TIMESTAMP,
            id="float-timestamp",
        ),
        pytest.param(
            signed(**{"webhook-timestamp": " 1790000000"}),
            BODY,
            Reason.MALFORMED_TIMESTAMP,
            id="spaced-timestamp",
        ),
        pytest.param(signed(**{"webhook-id": "msg.1"}), BODY, Reason.BAD_REQUEST, id="dot-in-id"),
        pytest.param(signed(**{"webhook-id": "m" * 257}), BODY, Reason.BAD_REQUEST, id="long-id"),
        pytest.param(
            {k: v for k, v in signed().items() if k != "webhook-signature"},
            BODY,
            Reason.MISSING_SIGNATURE,
            id="no-signature",
        ),
        pytest.param(
            {k: v for k, v in signed().items() if k != "webhook-timestamp"},
            BODY,
            Reason.MISSING_TIMESTAMP,
            id="no-timestamp",
        ),
        pytest.param(
            {k: v for k, v in signed().items() if k != "webhook-id"},
            BODY,
            Reason.MISSING_SIGNATURE,
            id="no-id",
        ),
        pytest.param(
            [*signed().items(), ("webhook-signature", SIG)],
            BODY,
            Reason.MALFORMED_SIGNATURE,
            id="signature-twice",
        ),
        pytest.param(
            [*signed().items(), ("webhook-timestamp", str(int(NOW)))],
            BODY,
            Reason.MALFORMED_TIMESTAMP,
            id="timestamp-twice",
        ),
        pytest.param(
            [*signed().items(), ("webhook-id", "msg_1")], BODY, Reason.BAD_REQUEST, id="id-twice"
        ),
    ],
)
def test_failures(headers: Any, body: bytes, reason: Reason) -> None:
    assert check(standard_webhooks(secret=SECRET), headers, body).reason is reason


def test_window_edges_are_inclusive() -> None:
    scheme = standard_webhooks(secret=SECRET)
    for ts in (int(NOW) - 300, int(NOW) + 300):
        assert (
            check(
                scheme,
                signed(**{"webhook-timestamp": str(ts)})
                | scheme.sign(BODY, secret=SECRET, timestamp=ts, message_id="msg_1").headers,
            ).reason
            is Reason.VERIFIED
        )


def test_svix_headers_take_precedence_and_do_not_mix() -> None:
    scheme = get("svix")(secret=SECRET)
    genuine = scheme.sign(BODY, secret=SECRET, timestamp=NOW, message_id="msg_1")
    # A webhook-* set alongside svix-* is ignored: the svix-* set is used whole.
    mixed = {**genuine, "webhook-id": "msg_x", "webhook-signature": "v1,AAAA"}
    assert check(scheme, mixed).reason is Reason.VERIFIED
    partial = {
        "svix-id": "msg_1",
        "webhook-timestamp": genuine["svix-timestamp"],
        "webhook-signature": genuine["svix-signature"],
    }
    assert check(scheme, partial).reason is Reason.MISSING_SIGNATURE


def test_malformed_configured_secret_fails_closed() -> None:
    result = check(standard_webhooks(secret="whsec_!!!"), signed(), secret="whsec_!!!")
    assert result.reason is Reason.BAD_SIGNATURE


def test_secret_and_public_key_together_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        standard_webhooks(secret=SECRET, public_key="whpk_x")
    assert info.value.code == "webhook_guard.E004"


# -- v1a (Ed25519) -----------------------------------------------------------------------


def ed25519_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return "whsk_" + base64.b64encode(seed).decode(), "whpk_" + base64.b64encode(public).decode()


def test_v1a_ed25519_round_trip_and_independent_check() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    private, public = ed25519_pair()
    scheme = standard_webhooks(public_key=public)
    headers = scheme.sign(BODY, secret=private, timestamp=NOW, message_id="msg_1")
    version, signature = headers["webhook-signature"].split(",")
    assert version == "v1a"
    # Independent check with cryptography directly.
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public[5:])).verify(
        base64.b64decode(signature), f"msg_1.{int(NOW)}.".encode() + BODY
    )
    assert check(scheme, headers, secret=public).reason is Reason.VERIFIED
    assert check(scheme, headers, BODY + b"x", secret=public).reason is Reason.BAD_SIGNATURE
    # An HMAC v1 signature on a public-key route is not accepted.
    assert check(scheme, signed(), secret=public).reason is Reason.BAD_SIGNATURE


# -- properties and end to end ------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(max_size=200), ts=st.text(max_size=20), mid=st.text(max_size=40))
def test_any_header_values_give_a_check(value: str, ts: str, mid: str) -> None:
    result = check(
        standard_webhooks(secret=SECRET),
        {"webhook-id": mid, "webhook-timestamp": ts, "webhook-signature": value},
    )
    assert result.reason is not Reason.VERIFIED


def test_end_to_end_retry_is_acknowledged_as_duplicate() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    clock = FrozenClock(NOW)
    guarded = Guard([Route("/hooks/clerk", get("clerk")(secret=SECRET))], clock=clock).wsgi(app)
    scheme = get("clerk")(secret=SECRET)

    def send(headers: dict[str, str]) -> str:
        status: list[str] = []
        environ = build_wsgi_environ("/hooks/clerk", body=BODY, headers=headers)
        b"".join(guarded(environ, lambda s, h, e=None: status.append(s)))
        return status[0]

    assert send(scheme.sign(BODY, secret=SECRET, timestamp=NOW, message_id="msg_1")).startswith(
        "200"
    )
    clock.advance(30)  # the provider retries the same message: new timestamp, new signature
    assert send(
        scheme.sign(BODY, secret=SECRET, timestamp=NOW + 30, message_id="msg_1")
    ).startswith("200")
    assert send(scheme.sign(BODY, secret=OTHER, timestamp=NOW + 30, message_id="msg_2")).startswith(
        "401"
    )
    assert seen == [BODY]
