from __future__ import annotations

import logging
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.alerts import SurgeDetector, SurgeEvent
from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.providers import github
from webhook_guard.testing import FrozenClock, build_wsgi_environ


def rejected(route: str = "/hooks/a") -> Verdict:
    return Verdict(
        verified=False, reason=Reason.BAD_SIGNATURE, status=401, route=route, provider="github"
    )


def verified(route: str = "/hooks/a") -> Verdict:
    return Verdict(verified=True, reason=Reason.VERIFIED, route=route, provider="github")


@pytest.fixture
def setup() -> tuple[SurgeDetector, FrozenClock, list[SurgeEvent]]:
    clock = FrozenClock(1000.0)
    events: list[SurgeEvent] = []
    return SurgeDetector(threshold=3, window=10, on_alert=events.append, clock=clock), clock, events


def test_one_alert_per_surge_and_a_recovery(setup: Any, caplog: pytest.LogCaptureFixture) -> None:
    detector, clock, events = setup
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        for _ in range(3):
            detector(rejected())
            clock.advance(1)
        assert events == []  # exactly the threshold: no surge
        for _ in range(5):
            detector(rejected())  # the 4th and later rejections within 10 s
            clock.advance(1)
        assert [e.kind for e in events] == ["surge"]
        assert events[0].count == 4
        assert events[0].route == "/hooks/a"
        assert detector.in_surge("/hooks/a")
        clock.advance(20)
        detector(verified())
        assert [e.kind for e in events] == ["surge", "recovered"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].webhook_guard["event"] == "webhook_guard.surge"


def test_rejections_spread_over_time_never_surge(setup: Any) -> None:
    detector, clock, events = setup
    for _ in range(50):
        detector(rejected())
        clock.advance(3.4)  # at most 3 within any 10 s window
    assert events == []


def test_routes_are_counted_separately(setup: Any) -> None:
    detector, _clock, events = setup
    for i in range(8):
        detector(rejected(f"/hooks/{i % 4}"))
    assert events == []
    detector(rejected("/hooks/0"))
    detector(rejected("/hooks/0"))
    assert [(e.kind, e.route) for e in events] == [("surge", "/hooks/0")]


def test_verified_requests_do_not_count(setup: Any) -> None:
    detector, _clock, events = setup
    for _ in range(20):
        detector(verified())
    assert events == []


def test_through_a_guard_and_a_raising_alert_callback() -> None:
    clock = FrozenClock(0.0)

    def explode(event: SurgeEvent) -> None:
        raise RuntimeError("pager down")

    detector = SurgeDetector(threshold=2, window=60, on_alert=explode, clock=clock)
    scheme = github(secret="s")
    seen: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(1)
        start_response("200 OK", [])
        return [b""]

    wsgi = Guard([Route("/hooks/github", scheme)], on_decision=detector).wsgi(app)
    statuses: list[str] = []
    for _ in range(4):
        wsgi(
            build_wsgi_environ(
                "/hooks/github", body=b"x", headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
            ),
            lambda s, h, e=None: statuses.append(s),
        )
    assert all(s.startswith("401") for s in statuses)
    assert detector.in_surge("/hooks/github")
    body = b"genuine"
    wsgi(
        build_wsgi_environ("/hooks/github", body=body, headers=scheme.sign(body, secret="s")),
        lambda s, h, e=None: statuses.append(s),
    )
    assert statuses[-1].startswith("200")
    assert seen == [1]


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        SurgeDetector(threshold=0)
    with pytest.raises(ValueError):
        SurgeDetector(window=0)
