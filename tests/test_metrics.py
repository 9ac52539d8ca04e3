from __future__ import annotations

from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.metrics import CallbackMetrics, PrometheusMetrics
from webhook_guard.observability import combine
from webhook_guard.providers import github
from webhook_guard.testing import build_wsgi_environ

prometheus_client = pytest.importorskip("prometheus_client")

SECRET = "metrics-secret"
BODY = b'{"zen": "metrics"}'


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def send(wsgi: Any, headers: dict[str, str], body: bytes = BODY) -> str:
    statuses: list[str] = []
    wsgi(
        build_wsgi_environ("/hooks/github", body=body, headers=headers),
        lambda s, h, e=None: statuses.append(s),
    )
    return statuses[0]


def test_prometheus_counts_and_latency_from_a_real_registry() -> None:
    registry = prometheus_client.CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    scheme = github(secret=SECRET)
    wsgi = Guard([Route("/hooks/github", scheme)], on_decision=metrics).wsgi(app)
    assert send(wsgi, scheme.sign(BODY, secret=SECRET)).startswith("200")
    assert send(wsgi, scheme.sign(BODY, secret="wrong")).startswith("401")
    assert send(wsgi, scheme.sign(BODY, secret="wrong")).startswith("401")
    assert send(wsgi, {}).startswith("401")

    def count(outcome: str, reason: str) -> float | None:
        labels = {
            "route": "/hooks/github",
            "provider": "github",
            "outcome": outcome,
            "reason": reason,
        }
        return registry.get_sample_value("webhook_guard_decisions_total", labels)

    assert count("verified", "verified") == 1
    assert count("rejected", "bad_signature") == 2
    assert count("rejected", "missing_signature") == 1
    observed = registry.get_sample_value(
        "webhook_guard_decision_seconds_count", {"route": "/hooks/github", "provider": "github"}
    )
    assert observed == 4
    text = prometheus_client.generate_latest(registry).decode()
    assert SECRET not in text
    assert "wrong" not in text


def test_callback_metrics_interface() -> None:
    points: list[tuple[str, dict[str, str], float]] = []
    scheme = github(secret=SECRET)
    wsgi = Guard(
        [Route("/hooks/github", scheme)],
        on_decision=CallbackMetrics(lambda n, lab, v: points.append((n, lab, v))),
    ).wsgi(app)
    send(wsgi, scheme.sign(BODY, secret="wrong"))
    names = [p[0] for p in points]
    assert names == ["webhook_guard_decisions_total", "webhook_guard_decision_seconds"]
    assert points[0][1] == {
        "route": "/hooks/github",
        "provider": "github",
        "outcome": "rejected",
        "reason": "bad_signature",
    }
    assert points[0][2] == 1
    assert points[1][2] >= 0


def test_combine_keeps_calling_after_a_failing_hook() -> None:
    calls: list[str] = []

    def broken(verdict: Any, duration: float) -> None:
        raise RuntimeError("boom")

    scheme = github(secret=SECRET)
    hook = combine(broken, None, lambda v, d: calls.append(v.reason.value))
    wsgi = Guard([Route("/hooks/github", scheme)], on_decision=hook).wsgi(app)
    assert send(wsgi, scheme.sign(BODY, secret=SECRET)).startswith("200")
    assert calls == ["verified"]
