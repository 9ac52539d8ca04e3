"""Metrics per decision: Prometheus (``prometheus`` extra) or a plain callback.

Both are ``on_decision`` hooks::

    metrics = PrometheusMetrics()            # registers on prometheus_client's default registry
    guard = Guard(routes, on_decision=metrics)

Series: ``webhook_guard_decisions_total{route,provider,outcome,reason}`` and the histogram
``webhook_guard_decision_seconds{route,provider}``. Labels carry route patterns, never raw
paths, so their number is bounded by the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from webhook_guard.core.verdict import Verdict
from webhook_guard.exceptions import MissingExtraError
from webhook_guard.observability import outcome_of

__all__ = ("CallbackMetrics", "PrometheusMetrics")

#: Latency buckets in seconds (decisions take microseconds to milliseconds).
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class PrometheusMetrics:
    """Counts decisions and observes their latency with ``prometheus_client``.

    :param registry: a ``CollectorRegistry`` (default: the global one).
    :param namespace: metric name prefix.
    """

    def __init__(self, registry: Any = None, *, namespace: str = "webhook_guard") -> None:
        try:
            import prometheus_client
        except ImportError:
            raise MissingExtraError("prometheus", "prometheus_client") from None
        kwargs: dict[str, Any] = {"namespace": namespace}
        if registry is not None:
            kwargs["registry"] = registry
        self.decisions = prometheus_client.Counter(
            "decisions",
            "Webhook verification decisions",
            ["route", "provider", "outcome", "reason"],
            **kwargs,
        )
        self.latency = prometheus_client.Histogram(
            "decision_seconds",
            "Time spent deciding on a webhook request",
            ["route", "provider"],
            buckets=BUCKETS,
            **kwargs,
        )

    def __call__(self, verdict: Verdict, duration: float) -> None:
        route, provider = verdict.route or "-", verdict.provider or "-"
        self.decisions.labels(route, provider, outcome_of(verdict), verdict.reason.value).inc()
        self.latency.labels(route, provider).observe(duration)


class CallbackMetrics:
    """Forwards metrics to any system: ``fn(name, labels, value)`` per data point.

    Calls ``fn("webhook_guard_decisions_total", {...}, 1)`` and
    ``fn("webhook_guard_decision_seconds", {"route": ..., "provider": ...}, seconds)``.
    """

    def __init__(self, fn: Callable[[str, dict[str, str], float], object]) -> None:
        self.fn = fn

    def __call__(self, verdict: Verdict, duration: float) -> None:
        route, provider = verdict.route or "-", verdict.provider or "-"
        labels = {
            "route": route,
            "provider": provider,
            "outcome": outcome_of(verdict),
            "reason": verdict.reason.value,
        }
        self.fn("webhook_guard_decisions_total", labels, 1)
        self.fn("webhook_guard_decision_seconds", {"route": route, "provider": provider}, duration)
