"""Decision records on the ``webhook_guard`` logger, user hooks, and log hygiene."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from webhook_guard import Guard, Reason, Route, Verdict
from webhook_guard.providers import dingtalk, github, token
from webhook_guard.testing import FrozenClock, asgi_receive, build_wsgi_environ

SECRET = "obs-secret-MARKER-5f1c2a9e7b"
TOKEN = "obs-token-MARKER-88d0e4c1aa"
DING_SECRET = "obs-ding-MARKER-3b7e91f02c"
BODY = b'{"note":"obs-body-MARKER-c0ffee42"}'
FORGED_SIG = "sha256=" + "ab" * 32
WRONG_TOKEN = "obs-wrong-token-MARKER-77"
NOW = 1_700_000_000.0
GH = github(secret=SECRET)
DING = dingtalk(secret=DING_SECRET)
FIELDS = {"route", "provider", "outcome", "reason", "status", "key_id", "duration_ms"}


def routes() -> list[Route]:
    return [
        Route("/hooks/github", GH),
        Route("/hooks/token", token(secret=TOKEN, query="token")),
        Route("/hooks/ding", DING),
    ]


def make(**options: Any) -> tuple[Any, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ)
        environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b"ok"]

    guard = Guard(routes(), clock=FrozenClock(NOW), **options)
    return guard.wsgi(app), seen


def call(wrapped: Any, path: str, headers: dict[str, str] | None = None, query: str = "") -> int:
    status: list[int] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status.append(int(line[:3]))

    environ = build_wsgi_environ(path, body=BODY, headers=headers or {}, query=query)
    b"".join(wrapped(environ, start_response))
    return status[0]


def genuine_headers() -> dict[str, str]:
    return GH.sign(BODY, secret=SECRET, timestamp=NOW)


def decisions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "webhook_guard"
        and getattr(r, "webhook_guard", {}).get("event") == "webhook_guard.decision"
    ]


# -- one record per decision --------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "level", "outcome", "reason"),
    [
        pytest.param(None, 200, logging.INFO, "verified", "verified", id="genuine"),
        pytest.param(
            {"X-Hub-Signature-256": FORGED_SIG},
            401,
            logging.WARNING,
            "rejected",
            "bad_signature",
            id="forged",
        ),
        pytest.param({}, 401, logging.WARNING, "rejected", "missing_signature", id="unsigned"),
    ],
)
def test_one_record_per_decision(
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str] | None,
    status: int,
    level: int,
    outcome: str,
    reason: str,
) -> None:
    wrapped, _ = make()
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        got = call(wrapped, "/hooks/github", genuine_headers() if headers is None else headers)
    assert got == status
    [record] = decisions(caplog)
    assert record.levelno == level
    fields = record.webhook_guard  # type: ignore[attr-defined]
    assert set(fields) >= FIELDS
    assert fields["route"] == "/hooks/github"
    assert fields["provider"] == "github"
    assert fields["outcome"] == outcome
    assert fields["reason"] == reason
    assert fields["status"] == status
    assert fields["duration_ms"] >= 0
    if outcome == "verified":
        assert fields["key_id"]
    else:
        assert fields["key_id"] is None


def test_unguarded_request_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    wrapped, _ = make()
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        assert call(wrapped, "/elsewhere") == 200
    assert [r for r in caplog.records if r.name.startswith("webhook_guard")] == []


def test_transport_rejection_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    wrapped, _ = make(max_body=4)
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        assert call(wrapped, "/hooks/github", genuine_headers()) == 413
    [record] = decisions(caplog)
    assert record.levelno == logging.WARNING
    assert record.webhook_guard["reason"] == "body_too_large"  # type: ignore[attr-defined]


def test_duplicate_is_logged_as_info(caplog: pytest.LogCaptureFixture) -> None:
    wrapped, _ = make()
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        call(wrapped, "/hooks/github", genuine_headers())
        call(wrapped, "/hooks/github", genuine_headers())
    records = decisions(caplog)
    assert [r.webhook_guard["outcome"] for r in records] == ["verified", "duplicate"]  # type: ignore[attr-defined]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]


def test_asgi_logs_one_record(caplog: pytest.LogCaptureFixture) -> None:
    guard = Guard(routes(), clock=FrozenClock(NOW))
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in genuine_headers().items()]
    scope = {"type": "http", "method": "POST", "path": "/hooks/github", "headers": headers}
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        asyncio.run(guard.asgi(app)(scope, asgi_receive(BODY), send))
    assert sent[0]["status"] == 200
    [record] = decisions(caplog)
    assert record.webhook_guard["outcome"] == "verified"  # type: ignore[attr-defined]
    assert record.webhook_guard["method"] == "POST"  # type: ignore[attr-defined]


# -- hooks ------------------------------------------------------------------------------


def test_hooks_receive_the_right_verdicts() -> None:
    decided: list[tuple[Verdict, float]] = []
    verified: list[Verdict] = []
    rejected: list[Verdict] = []
    wrapped, seen = make(
        on_decision=lambda v, d: decided.append((v, d)),
        on_verified=verified.append,
        on_rejected=rejected.append,
    )
    assert call(wrapped, "/hooks/github", genuine_headers()) == 200
    assert call(wrapped, "/hooks/github", {"X-Hub-Signature-256": FORGED_SIG}) == 401
    assert [v.reason for v, _ in decided] == [Reason.VERIFIED, Reason.BAD_SIGNATURE]
    assert all(d >= 0 for _, d in decided)
    assert [v.reason for v in verified] == [Reason.VERIFIED]
    assert verified[0].verified is True
    assert verified[0] is seen[0]["webhook_guard.verdict"]
    assert [v.reason for v in rejected] == [Reason.BAD_SIGNATURE]
    assert rejected[0].verified is False


def test_report_only_pass_is_neither_verified_nor_rejected() -> None:
    verified: list[Verdict] = []
    rejected: list[Verdict] = []
    guard = Guard(
        [Route("/hooks/github", GH, report_only=True)],
        clock=FrozenClock(NOW),
        on_verified=verified.append,
        on_rejected=rejected.append,
    )

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b""]

    assert call(guard.wsgi(app), "/hooks/github", {"X-Hub-Signature-256": FORGED_SIG}) == 200
    assert verified == []
    assert rejected == []


def boom(*args: Any) -> None:
    raise RuntimeError("hook exploded")


@pytest.mark.parametrize("hook", ["on_decision", "on_verified", "on_rejected"])
def test_raising_hook_changes_nothing_and_is_logged(
    caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    wrapped, seen = make(**{hook: boom})
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        assert call(wrapped, "/hooks/github", genuine_headers()) == 200
        assert call(wrapped, "/hooks/github", {"X-Hub-Signature-256": FORGED_SIG}) == 401
    assert len(seen) == 1
    assert seen[0]["webhook_guard.verdict"].verified is True
    failures = [
        r
        for r in caplog.records
        if getattr(r, "webhook_guard", {}).get("event") == "webhook_guard.hook_failure"
    ]
    expected = 2 if hook == "on_decision" else 1
    assert len(failures) == expected
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)
    assert len(decisions(caplog)) == 2


# -- hygiene ----------------------------------------------------------------------------


def test_logs_never_contain_secrets_signatures_tokens_or_bodies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrapped, _ = make(on_decision=boom)
    genuine = genuine_headers()
    ding = DING.sign(BODY, secret=DING_SECRET, timestamp=NOW)
    bad_ding = ding["sign"][::-1]
    markers = [
        SECRET,
        TOKEN,
        DING_SECRET,
        WRONG_TOKEN,
        "obs-body-MARKER",
        genuine["X-Hub-Signature-256"].split("=", 1)[1],
        FORGED_SIG.split("=", 1)[1],
        ding["sign"],
        bad_ding,
    ]
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        statuses = [
            call(wrapped, "/hooks/github", genuine),
            call(wrapped, "/hooks/github", {"X-Hub-Signature-256": FORGED_SIG}),
            call(wrapped, "/hooks/token", query=f"token={TOKEN}"),
            call(wrapped, "/hooks/token", query=f"token={WRONG_TOKEN}"),
            call(wrapped, "/hooks/ding", ding),
            call(wrapped, "/hooks/ding", {**ding, "sign": bad_ding}),
        ]
    assert statuses == [200, 401, 200, 401, 200, 401]
    records = [r for r in caplog.records if r.name.startswith("webhook_guard")]
    assert len(decisions(caplog)) == 6
    for record in records:
        texts = [record.getMessage(), repr(record.args)]
        texts.append(repr(getattr(record, "webhook_guard", {})))
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        for text in texts:
            for marker in markers:
                assert marker not in text, (marker, text)
