"""Adyen standard notifications: ``additionalData.hmacSignature`` in every
``NotificationRequestItem``, Base64 HMAC-SHA256 (hex-decoded key) over
``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success``.

Oracle: the Adyen Python library (``Adyen.util``), both ways, and its published test vector.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import adyen, get
from webhook_guard.providers.embedded import adyen_signing_string
from webhook_guard.testing import FrozenClock, build_wsgi_environ, sign_request

adyen_util = pytest.importorskip("Adyen.util")

# The Adyen Python library's own test (tests/test_util.py: test_notification_request_item_hmac).
KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ITEM: dict[str, Any] = {
    "pspReference": "7914073381342284",
    "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant",
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "success": "true",
    "eventDate": "2019-05-06T17:15:34.121+02:00",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa",
}
EXPECTED = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
NOW = 1_700_000_000.0
SCHEME = adyen(secret=KEY)


def notification(*items: dict[str, Any], signature: str | None = EXPECTED) -> dict[str, Any]:
    out = []
    for item in items or (ITEM,):
        item = copy.deepcopy(item)
        if signature is not None:
            item.setdefault("additionalData", {})["hmacSignature"] = signature
        out.append({"NotificationRequestItem": item})
    return {"live": "false", "notificationItems": out}


def check(body: dict[str, Any] | bytes, *keys: str) -> Check:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = WebhookRequest(
        "POST", "/hooks/adyen", Headers([("Content-Type", "application/json")]), raw
    )
    key_set = KeySet(Secret(k, key_id=f"k{i}") for i, k in enumerate(keys or (KEY,)))
    return SCHEME.check(request, key_set, NOW)


def test_published_vector() -> None:
    assert adyen_signing_string(ITEM) == (
        "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    )
    result = check(notification())
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.message_id == "7914073381342284:AUTHORISATION:true"
    signed = adyen_signing_string(ITEM).encode()  # type: ignore[union-attr]
    assert result.replay_material == b"adyen\x00" + hashlib.sha256(signed).digest()
    assert result.details["reply"] == "[accepted]"
    assert (SCHEME.body_signed, SCHEME.retry_horizon, get("adyen")) == (False, 31 * 86400.0, adyen)


def test_sdk_signs_we_verify() -> None:
    item = {**ITEM, "merchantReference": "Zoë:ref", "originalReference": "881234"}
    signature = adyen_util.generate_notification_sig(item, KEY).decode()
    assert check(notification(item, signature=signature)).reason is Reason.VERIFIED


def test_we_sign_sdk_verifies() -> None:
    body = json.dumps(notification(signature=None)).encode()
    signed = SCHEME.sign(body, secret=KEY)
    assert signed.headers == {"Content-Type": "application/json"}
    data = json.loads(signed.body)
    assert data["notificationItems"][0]["NotificationRequestItem"]["additionalData"] == {
        "hmacSignature": EXPECTED
    }
    assert adyen_util.is_valid_hmac_notification(data, KEY)
    assert check(signed.body).reason is Reason.VERIFIED


def test_lower_case_hex_key_is_the_same_key() -> None:
    assert check(notification(), KEY.lower()).reason is Reason.VERIFIED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pspReference", "7914073381342285"),
        ("merchantReference", "TestPayment-1407325143705"),
        ("eventCode", "CANCELLATION"),
        ("success", "false"),
        ("amount", {"currency": "USD", "value": 1130}),
        ("amount", {"currency": "EUR", "value": 1131}),
        ("originalReference", "x"),
    ],
)
def test_each_signed_field_is_signed(field: str, value: Any) -> None:
    assert check(notification({**ITEM, field: value})).reason is Reason.BAD_SIGNATURE


def test_unsigned_fields_are_not_signed() -> None:
    # As documented: only the listed fields are signed (hence body_signed=False).
    assert check(notification({**ITEM, "paymentMethod": "mc"})).reason is Reason.VERIFIED


def test_every_item_must_verify() -> None:
    second = {**ITEM, "pspReference": "8814073381342284"}
    good = adyen_util.generate_notification_sig(second, KEY).decode()
    both = notification(ITEM, second)
    both["notificationItems"][1]["NotificationRequestItem"]["additionalData"]["hmacSignature"] = (
        good
    )
    result = check(both)
    assert result.reason is Reason.VERIFIED
    assert (
        result.message_id
        == "7914073381342284:AUTHORISATION:true|8814073381342284:AUTHORISATION:true"
    )
    both["notificationItems"][1]["NotificationRequestItem"]["additionalData"]["hmacSignature"] = (
        EXPECTED
    )
    assert check(both).reason is Reason.BAD_SIGNATURE  # the second item is not genuine


def _signed_item(**fields: Any) -> dict[str, Any]:
    item = {**ITEM, **fields}
    item["additionalData"] = {
        "hmacSignature": adyen_util.generate_notification_sig(item, KEY).decode()
    }
    return item


def _wire(*items: dict[str, Any]) -> dict[str, Any]:
    return {"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}


def test_an_item_twice_is_refused() -> None:
    """The list around the items is not signed: [A, A] would be a new delivery of A."""
    item = _signed_item()
    assert check(_wire(item)).reason is Reason.VERIFIED
    assert check(_wire(item, item)).reason is Reason.BAD_REQUEST
    other = _signed_item(pspReference="8814073381342284")
    assert check(_wire(item, other, item)).reason is Reason.BAD_REQUEST


def test_identity_is_the_set_of_signed_items() -> None:
    a, b = _signed_item(), _signed_item(pspReference="8814073381342284")
    assert check(_wire(a, b)).replay_material == check(_wire(b, a)).replay_material
    assert check(_wire(a)).replay_material != check(_wire(b)).replay_material
    assert check(_wire(a)).replay_material != check(_wire(a, b)).replay_material


def test_a_colon_moved_between_fields_is_the_same_delivery() -> None:
    """Fields are joined with ":" unescaped: a value holding one can be re-split into other
    fields over the same signed string. The identity follows the signed string, and no
    message_id is derived from a split that was not signed."""
    genuine = _signed_item(merchantReference="order:42")
    moved = {
        **genuine,
        "merchantAccountCode": "TestMerchant:order",
        "merchantReference": "42",
    }
    assert adyen_signing_string(moved) == adyen_signing_string(genuine)
    first, second = check(_wire(genuine)), check(_wire(moved))
    assert (first.reason, second.reason) == (Reason.VERIFIED, Reason.VERIFIED)
    assert first.replay_material == second.replay_material
    assert (first.message_id, second.message_id) == (None, None)
    assert check(_wire(_signed_item())).message_id == "7914073381342284:AUTHORISATION:true"


def test_key_rotation_and_identity_under_the_first_key() -> None:
    other = "00" * 32
    assert check(notification(), other, KEY).reason is Reason.VERIFIED
    assert check(notification(), other).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", Reason.BAD_REQUEST),
        (b"not json", Reason.BAD_REQUEST),
        (b"[]", Reason.BAD_REQUEST),
        (b'{"notificationItems": []}', Reason.BAD_REQUEST),
        (b'{"notificationItems": [{"X": {}}]}', Reason.BAD_REQUEST),
        (b'{"notificationItems": [1]}', Reason.BAD_REQUEST),
        (json.dumps(notification(signature=None)).encode(), Reason.MISSING_SIGNATURE),
        (json.dumps(notification(signature="short")).encode(), Reason.MALFORMED_SIGNATURE),
        (json.dumps(notification({**ITEM, "success": True})).encode(), Reason.BAD_REQUEST),
        (json.dumps(notification({**ITEM, "amount": None})).encode(), Reason.BAD_REQUEST),
        (
            json.dumps(
                notification({**ITEM, "amount": {"value": 1.5, "currency": "EUR"}})
            ).encode(),
            Reason.BAD_REQUEST,
        ),
        (
            json.dumps(notification({**ITEM, "merchantReference": "\ud800"})).encode(),
            Reason.BAD_REQUEST,
        ),
        (
            json.dumps(notification()).encode().replace(b'"live"', b'"live": 1, "live"'),
            Reason.BAD_REQUEST,
        ),
    ],
)
def test_malformed_notifications(body: bytes, reason: Reason) -> None:
    assert check(body).reason is reason


@pytest.mark.parametrize("key", ["not hex", "", "abc"])
def test_key_must_be_hex(key: str) -> None:
    with pytest.raises(ConfigurationError, match="hexadecimal"):
        adyen(secret=key)


def test_through_the_guard_with_the_test_kit() -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        verdict = get_verdict(environ)
        seen.append(verdict)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [verdict.details["reply"].encode()]

    guard = Guard([Route("/hooks/adyen", adyen(secret=KEY))], clock=FrozenClock(NOW))
    signed = sign_request("adyen", json.dumps(notification(signature=None)).encode(), secret=KEY)
    environ = build_wsgi_environ("/hooks/adyen", body=signed.body, headers=signed.headers)
    status: list[str] = []
    out = b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    assert (status, out) == (["200 OK"], b"[accepted]")
    assert seen[0].message_id == "7914073381342284:AUTHORISATION:true"
