"""Failure-surge detection: more than ``threshold`` rejections within ``window`` seconds on
a route raises one alert (an ERROR log line and ``on_alert``), not one per request, and a
recovery event when the rate falls back. Use it as an ``on_decision`` hook::

    detector = SurgeDetector(threshold=20, window=60, on_alert=page_someone)
    guard = Guard(routes, on_decision=combine(metrics, detector))
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from webhook_guard.core.verdict import Verdict

__all__ = ("SurgeDetector", "SurgeEvent")

logger = logging.getLogger("webhook_guard")


@dataclass(frozen=True, slots=True)
class SurgeEvent:
    """``kind`` is ``"surge"`` or ``"recovered"``; ``count`` rejections within ``window`` s."""

    kind: str
    route: str
    provider: str
    count: int
    threshold: int
    window: float


class SurgeDetector:
    """Per-route sliding window of rejections (requests that did not pass).

    :param threshold: alert when more than this many rejections fall within ``window``.
    :param window: seconds.
    :param on_alert: called with a ``SurgeEvent`` on each surge and each recovery.
    :param clock: monotonic seconds; injected in tests.
    """

    def __init__(
        self,
        *,
        threshold: int = 20,
        window: float = 60.0,
        on_alert: Callable[[SurgeEvent], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or window <= 0:
            raise ValueError("threshold must be >= 1 and window > 0")
        self.threshold = threshold
        self.window = float(window)
        self.on_alert = on_alert
        self.clock = clock
        self._times: dict[str, deque[float]] = {}
        self._surging: set[str] = set()
        self._lock = threading.Lock()

    def in_surge(self, route: str) -> bool:
        return route in self._surging

    def __call__(self, verdict: Verdict, duration: float = 0.0) -> None:
        route = verdict.route or "-"
        now = self.clock()
        with self._lock:
            times = self._times.get(route)
            if times is None:
                # threshold + 1 timestamps are all it takes to know "more than threshold".
                times = self._times[route] = deque(maxlen=self.threshold + 1)
            if not verdict.passes:
                times.append(now)
            while times and times[0] <= now - self.window:
                times.popleft()
            count = len(times)
            event = None
            if count > self.threshold and route not in self._surging:
                self._surging.add(route)
                event = SurgeEvent(
                    "surge", route, verdict.provider, count, self.threshold, self.window
                )
            elif count <= self.threshold and route in self._surging:
                self._surging.discard(route)
                event = SurgeEvent(
                    "recovered", route, verdict.provider, count, self.threshold, self.window
                )
        if event is not None:
            self._emit(event)

    def _emit(self, event: SurgeEvent) -> None:
        fields = {
            "event": f"webhook_guard.{event.kind}",
            "route": event.route,
            "provider": event.provider,
            "count": event.count,
            "threshold": event.threshold,
            "window": event.window,
        }
        if event.kind == "surge":
            logger.error(
                "webhook_guard surge: more than %d rejections in %gs on route %s",
                event.threshold,
                event.window,
                event.route,
                extra={"webhook_guard": fields},
            )
        else:
            logger.info(
                "webhook_guard recovered: rejections on route %s back to %d or fewer in %gs",
                event.route,
                event.threshold,
                event.window,
                extra={"webhook_guard": fields},
            )
        if self.on_alert is not None:
            try:
                self.on_alert(event)
            except Exception:
                logger.exception("webhook_guard alert callback raised")
