"""``webhook_guard.responses.render``: one JSON shape per rejection reason."""

from __future__ import annotations

import json

import pytest

from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.responses import render

REJECTIONS = [r for r in Reason if r.status >= 400]


def headers_of(rendered: tuple[int, list[tuple[str, str]], bytes]) -> dict[str, str]:
    return {k.lower(): v for k, v in rendered[1]}


@pytest.mark.parametrize("reason", [pytest.param(r, id=r.value) for r in REJECTIONS])
def test_every_rejection_renders_its_code_and_status(reason: Reason) -> None:
    rendered = render(Verdict(verified=False, reason=reason, status=reason.status))
    status, _, body = rendered
    assert status == reason.status
    payload = json.loads(body)
    assert payload["error"] == reason.value
    headers = headers_of(rendered)
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    assert headers["cache-control"] == "no-store"
    assert ("retry-after" in headers) == (reason.status == 503)


def test_rejection_list_is_not_empty() -> None:
    assert {r.status for r in REJECTIONS} >= {400, 401, 408, 409, 411, 413, 500, 503}


def test_store_unavailable_has_retry_after() -> None:
    rendered = render(Verdict(verified=False, reason=Reason.STORE_UNAVAILABLE, status=503))
    assert rendered[0] == 503
    assert int(headers_of(rendered)["retry-after"]) > 0


@pytest.mark.parametrize("status", [200, 409])
def test_duplicate_renders_status_duplicate(status: int) -> None:
    rendered = render(Verdict(verified=False, reason=Reason.DUPLICATE, status=status))
    assert rendered[0] == status
    payload = json.loads(rendered[2])
    assert payload["status"] == "duplicate"
    assert "error" not in payload


def test_route_status_override_is_kept() -> None:
    rendered = render(Verdict(verified=False, reason=Reason.BAD_SIGNATURE, status=404))
    assert rendered[0] == 404
    assert json.loads(rendered[2])["error"] == "bad_signature"
