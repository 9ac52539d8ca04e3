"""Known-answer tests for the seed providers, computed independently of the implementation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import dingtalk, github, seatable

NOW = 1_577_262_236.757


def request(headers: dict[str, str], body: bytes = b"") -> WebhookRequest:
    return WebhookRequest(method="POST", path="/", headers=Headers(headers.items()), body=body)


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def test_github_published_vector() -> None:
    # github/docs "Validating webhook deliveries"
    scheme = github(secret="It's a Secret to Everybody")
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    check = scheme.check(
        request({"X-Hub-Signature-256": sig}, b"Hello, World!"),
        keys("It's a Secret to Everybody"),
        NOW,
    )
    assert check.reason is Reason.VERIFIED
    assert scheme.sign(b"Hello, World!", secret="It's a Secret to Everybody").headers == {
        "X-Hub-Signature-256": sig
    }


def test_dingtalk_documented_sample_vector() -> None:
    # providers.md 1a: secret "this is secret", timestamp 1577262236757
    scheme = dingtalk(secret="this is secret")
    headers = {"timestamp": "1577262236757", "sign": "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="}
    check = scheme.check(request(headers, b"{}"), keys("this is secret"), NOW)
    assert check.reason is Reason.VERIFIED
    assert check.timestamp == 1577262236757


def test_dingtalk_independent_computation() -> None:
    secret, ts = "SECabc", "1577262236757"
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert dingtalk(secret=secret).sign(b"", secret=secret, timestamp=int(ts) / 1000).headers == {
        "timestamp": ts,
        "sign": expected,
    }


def test_seatable_independent_computation() -> None:
    body = b'{"event": "update", "data": {"row_name": "\\u4f60\\u597d"}}'
    expected = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    scheme = seatable(secret="secret")
    check = scheme.check(request({"X-SeaTable-Signature": expected}, body), keys("secret"), NOW)
    assert check.reason is Reason.VERIFIED


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param({"X-Hub-Signature-256": ""}, Reason.MALFORMED_SIGNATURE, id="empty"),
        pytest.param({"X-Hub-Signature-256": "sha256="}, Reason.MALFORMED_SIGNATURE, id="bare-prefix"),
        pytest.param({"X-Hub-Signature-256": "sha256=757107ea"}, Reason.MALFORMED_SIGNATURE, id="truncated"),
        pytest.param({"X-Hub-Signature-256": "sha256=" + "\xff" * 64}, Reason.BAD_SIGNATURE, id="non-ascii"),
        pytest.param({"X-Hub-Signature": "sha1=" + "0" * 40}, Reason.MISSING_SIGNATURE, id="sha1-not-a-fallback"),
    ],
)
def test_github_rejections(headers: dict[str, str], reason: Reason) -> None:
    check = github(secret="s").check(request(headers, b"Hello, World!"), keys("s"), NOW)
    assert check.reason is reason
