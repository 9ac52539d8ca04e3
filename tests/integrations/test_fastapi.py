"""``webhook_guard.integrations.fastapi``: ``VerifiedWebhook`` and ``WebhookVerdict`` in a
FastAPI app, guarded and unguarded, and the signature headers in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

import pytest

pytest.importorskip("fastapi")

import warnings

from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette >= 1.10 asks for httpx2; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from webhook_guard import Guard, Route
from webhook_guard.asgi import ASGIWebhookGuard
from webhook_guard.integrations.fastapi import (
    VerifiedWebhook,
    WebhookVerdict,
    document_webhooks,
)
from webhook_guard.providers import github, stripe, wecom
from webhook_guard.testing import FrozenClock, post_signed, sign_request

NOW = 1_790_000_000.0
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"


def make_app(*, report_only: bool = False) -> tuple[FastAPI, Guard]:
    app = FastAPI()

    @app.post("/hooks/github")
    async def github_hook(verdict: VerifiedWebhook) -> dict[str, Any]:
        return {"provider": verdict.provider, "key_id": verdict.key_id}

    @app.post("/hooks/stripe")
    async def stripe_hook(verdict: WebhookVerdict) -> dict[str, Any]:
        return {"verified": verdict.verified, "reason": verdict.reason.value}

    @app.post("/unguarded")
    async def unguarded(verdict: VerifiedWebhook) -> dict[str, Any]:
        return {"reached": True}  # pragma: no cover - must not run

    @app.post("/wecom")
    async def wecom_hook(verdict: VerifiedWebhook) -> dict[str, Any]:
        return {"plaintext": verdict.details["plaintext"]}

    guard = Guard(
        [
            Route("/hooks/github", github(secret="gh"), report_only=report_only),
            Route("/hooks/stripe", stripe(secret="whsec_s"), report_only=True),
            Route("/wecom", wecom(secret="tok", aes_key=AES_KEY, corp_id="ww")),
        ],
        clock=FrozenClock(NOW),
    )
    app.add_middleware(ASGIWebhookGuard, guard=guard)
    return app, guard


def post(app: FastAPI, provider: str, secret: str, path: str, **options: Any) -> Any:
    body = b"<xml>hi</xml>" if provider == "wecom" else b'{"id": "evt_1"}'
    signed = sign_request(provider, body, secret=secret, timestamp=NOW, **options)
    with TestClient(app) as client:
        return post_signed(client, signed, path)


def test_verified_webhook_hands_over_the_verdict() -> None:
    app, _ = make_app()
    response = post(app, "github", "gh", "/hooks/github")
    assert response.status_code == 200
    assert response.json() == {"provider": "github", "key_id": "#0"}


def test_encrypted_callback_details_reach_the_handler() -> None:
    app, _ = make_app()
    response = post(app, "wecom", "tok", "/wecom", aes_key=AES_KEY, corp_id="ww")
    assert response.json() == {"plaintext": "<xml>hi</xml>"}


def test_forged_request_never_reaches_the_handler() -> None:
    app, _ = make_app()
    assert post(app, "github", "forged", "/hooks/github").status_code == 401


def test_unguarded_route_is_refused_by_the_dependency(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = make_app()
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        response = post(app, "github", "gh", "/unguarded")
    assert response.status_code == 401
    assert response.json()["detail"]["error"] == "not_guarded"
    assert any("without one" in r.getMessage() for r in caplog.records)


def test_report_only_route_passes_unverified_requests_to_verified_webhook_as_401() -> None:
    app, _ = make_app(report_only=True)
    response = post(app, "github", "forged", "/hooks/github")
    assert response.status_code == 401
    assert response.json()["detail"]["error"] == "bad_signature"


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        pytest.param("whsec_s", {"verified": True, "reason": "verified"}, id="verified"),
        pytest.param("whsec_x", {"verified": False, "reason": "bad_signature"}, id="refused"),
    ],
)
def test_webhook_verdict_hands_over_any_verdict(secret: str, expected: dict[str, Any]) -> None:
    app, _ = make_app()
    response = post(app, "stripe", secret, "/hooks/stripe")
    assert response.status_code == 200
    assert response.json() == expected


def test_openapi_shows_the_signature_headers() -> None:
    app, guard = make_app()
    document_webhooks(app, guard)
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()

    def params(path: str) -> set[tuple[str, str]]:
        operation = schema["paths"][path]["post"]
        return {(p["in"], p["name"]) for p in operation.get("parameters", [])}

    assert ("header", "X-Hub-Signature-256") in params("/hooks/github")
    assert ("header", "Stripe-Signature") in params("/hooks/stripe")
    assert {("query", "msg_signature"), ("query", "nonce")} <= params("/wecom")
    assert params("/unguarded") == set()
    assert schema["paths"]["/hooks/github"]["post"]["x-webhook-guard"] == {"provider": "github"}


def test_verdict_is_not_a_request_parameter_in_openapi() -> None:
    app, _ = make_app()
    schema = app.openapi()
    operation = schema["paths"]["/hooks/github"]["post"]
    assert "requestBody" not in operation
    assert operation.get("parameters", []) == []


def test_missing_fastapi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    from webhook_guard import MissingExtraError

    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.delitem(sys.modules, "webhook_guard.integrations.fastapi")
    with pytest.raises(MissingExtraError, match=r"webhook-guard\[fastapi\]"):
        importlib.import_module("webhook_guard.integrations.fastapi")
