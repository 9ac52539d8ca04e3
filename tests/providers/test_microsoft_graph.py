"""Microsoft Graph change notifications: every item of ``{"value": [...]}`` carries the
subscription's ``clientState`` (compared in constant time); the endpoint validation
``POST ?validationToken=...`` is echoed (text/plain) only with ``answer_validation=True``.
Oracle: the documented algorithm (Graph's "Receive change notifications through webhooks")."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.providers.helpers import guard_for
from webhook_guard import Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get, microsoft_graph
from webhook_guard.testing import FrozenClock, build_wsgi_environ, sign_request

STATE = "secretClientValue"
NOW = 1_700_000_000.0
ITEM = {
    "id": "lsgTZMr9KwAAA",
    "subscriptionId": "{subscription_guid}",
    "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
    "clientState": STATE,
    "changeType": "created",
    "resource": "users/{user_guid}@{tenant_guid}/messages/{long_id_string}",
    "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": "{long_id_string}"},
}
SCHEME = microsoft_graph(secret=STATE)


def check(
    body: Any, *, query: str = "", scheme: Any = SCHEME, keys: tuple[str, ...] = (STATE,)
) -> Check:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = WebhookRequest(
        "POST", "/graph", Headers([("Content-Type", "application/json")]), raw, query
    )
    return scheme.check(request, KeySet(Secret(k, key_id=f"k{i}") for i, k in enumerate(keys)), NOW)


def test_documented_notification_verifies() -> None:
    result = check({"value": [ITEM]})
    assert result.reason is Reason.VERIFIED
    assert result.key_id == "k0"
    assert result.replay_material is None  # nothing is signed: no replay key
    assert (SCHEME.body_signed, get("microsoft_graph")) == (False, microsoft_graph)


def test_every_item_must_carry_a_configured_state() -> None:
    other = {**ITEM, "clientState": "another"}
    assert check({"value": [ITEM, ITEM]}).reason is Reason.VERIFIED
    assert check({"value": [ITEM, other]}).reason is Reason.BAD_SIGNATURE
    assert check({"value": [other]}, keys=("old", "another")).key_id == "k1"  # rotation


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", Reason.BAD_REQUEST),
        (b"[]", Reason.BAD_REQUEST),
        ({"value": []}, Reason.BAD_REQUEST),
        ({"value": {}}, Reason.BAD_REQUEST),
        ({"value": [1]}, Reason.MISSING_SIGNATURE),
        (
            {"value": [{k: v for k, v in ITEM.items() if k != "clientState"}]},
            Reason.MISSING_SIGNATURE,
        ),
        ({"value": [{**ITEM, "clientState": 1}]}, Reason.MALFORMED_SIGNATURE),
        ({"value": [{**ITEM, "clientState": "é"}]}, Reason.MALFORMED_SIGNATURE),
    ],
)
def test_refusals(body: Any, reason: Reason) -> None:
    assert check(body).reason is reason


def test_validation_is_answered_only_when_opted_in() -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    query = "validationToken=" + quote(token)
    assert check(b"", query=query).reason is Reason.BAD_REQUEST  # not opted in: an unsigned request
    answered = check(b"", query=query, scheme=microsoft_graph(secret=STATE, answer_validation=True))
    assert answered.reason is Reason.VERIFIED
    assert answered.response is not None
    status, headers, body = answered.response
    assert (status, body) == (200, token.encode())
    assert dict(headers)["Content-Type"].startswith("text/plain")
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    bad = microsoft_graph(secret=STATE, answer_validation=True)
    assert (
        check(b"", query="validationToken=a&validationToken=b", scheme=bad).reason
        is Reason.BAD_REQUEST
    )
    assert check(b"", query="validationToken=%0a", scheme=bad).reason is Reason.BAD_REQUEST


def test_end_to_end_with_the_test_kit() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("202 Accepted", [])
        return [b""]

    guard = guard_for(Route("/graph", microsoft_graph(secret=STATE)), clock=FrozenClock(NOW))
    unsigned = {"value": [{k: v for k, v in ITEM.items() if k != "clientState"}]}
    signed = sign_request("microsoft_graph", json.dumps(unsigned).encode(), secret=STATE)
    assert json.loads(signed.body) == {"value": [ITEM]}
    environ = build_wsgi_environ("/graph", body=signed.body, headers=signed.headers)
    status: list[str] = []
    b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    assert (status, seen) == (["202 Accepted"], [signed.body])
