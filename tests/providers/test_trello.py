"""Trello: ``X-Trello-Webhook`` = Base64 HMAC-SHA1 (app secret) of the raw body followed by
the callback URL exactly as registered. Oracle: the documented algorithm (Trello's
"Webhooks" guide), computed here with ``hmac``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from tests.providers.helpers import guard_for
from webhook_guard import Route
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get, trello
from webhook_guard.testing import FrozenClock, build_wsgi_environ, sign_request

SECRET = "trello-app-secret"
CALLBACK = "https://hooks.example.com/trello?memberID=14&mainModel=true"
BODY = b'{"model":{"id":"4d5ea62fd76aa1136000000c"},"action":{"id":"51f9424bcd6e040f3c002412","type":"updateCard","data":{"card":{"name":"Zo\xc3\xab"}}}}'
HEADER = "X-Trello-Webhook"
SCHEME = trello(secret=SECRET)
NOW = 1_700_000_000.0


def documented(body: bytes, url: str, secret: str = SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), body + url.encode(), hashlib.sha1).digest()
    ).decode()


def check(
    value: str | None, body: bytes = BODY, url: str = CALLBACK, method: str = "POST"
) -> Check:
    headers = [("Content-Type", "application/json")] + (
        [(HEADER, value)] if value is not None else []
    )
    request = WebhookRequest(method, "/trello", Headers(headers), body, url.partition("?")[2], url)
    return SCHEME.check(request, KeySet([Secret(SECRET, key_id="k0")]), NOW)


def test_documented_algorithm_both_ways() -> None:
    result = check(documented(BODY, CALLBACK))
    assert result.reason is Reason.VERIFIED
    assert result.replay_material == documented(BODY, CALLBACK).encode()
    assert SCHEME.sign(BODY, secret=SECRET, url=CALLBACK).headers == {
        HEADER: documented(BODY, CALLBACK)
    }
    assert (SCHEME.event_id, SCHEME.retry_horizon, get("trello")) == (None, 86400.0, trello)


@pytest.mark.parametrize(
    ("value", "body", "url", "reason"),
    [
        (documented(BODY, CALLBACK), BODY + b" ", CALLBACK, Reason.BAD_SIGNATURE),
        (documented(BODY, CALLBACK), BODY, CALLBACK.replace("14", "15"), Reason.BAD_SIGNATURE),
        (documented(BODY, CALLBACK), BODY, CALLBACK.split("?")[0], Reason.BAD_SIGNATURE),
        (documented(BODY, CALLBACK, "other"), BODY, CALLBACK, Reason.BAD_SIGNATURE),
        (documented(BODY, CALLBACK), BODY, "", Reason.BAD_REQUEST),
        (documented(BODY, CALLBACK), BODY, "https://hooks.example.com/tréllo", Reason.BAD_REQUEST),
        (None, BODY, CALLBACK, Reason.MISSING_SIGNATURE),
        ("not base64!", BODY, CALLBACK, Reason.MALFORMED_SIGNATURE),
    ],
)
def test_refusals(value: str | None, body: bytes, url: str, reason: Reason) -> None:
    assert check(value, body, url).reason is reason


def test_head_probe_is_opt_in() -> None:
    head = WebhookRequest("HEAD", "/trello", Headers([]), b"", "", CALLBACK)
    keys = KeySet([Secret(SECRET, key_id="k0")])
    assert SCHEME.check(head, keys, NOW).reason is Reason.MISSING_SIGNATURE
    answered = trello(secret=SECRET, answer_head=True).check(head, keys, NOW)
    assert answered.reason is Reason.VERIFIED
    assert answered.response is not None
    assert answered.response[0] == 200


def test_end_to_end_retry_is_a_duplicate_and_another_webhook_is_not() -> None:
    """Trello's retry is the same request: a duplicate. The same action seen by a second
    webhook (another model: the card, not the board) is a delivery of its own, though it
    carries the same action id."""
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    route = Route("/trello", trello(secret=SECRET), public_url=CALLBACK.split("?")[0])
    guard = guard_for(route, clock=FrozenClock(NOW))
    on_card = BODY.replace(b"4d5ea62fd76aa1136000000c", b"5a1b2c3d4e5f60718293a4b5")
    status: list[str] = []
    for body in (BODY, BODY, on_card):
        signed = sign_request("trello", body, secret=SECRET, url=CALLBACK)
        environ = build_wsgi_environ(
            "/trello", body=signed.body, headers=signed.headers, query=signed.query
        )
        b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    assert status == ["200 OK", "200 OK", "200 OK"]
    assert seen == [BODY, on_card]
