"""One structured log event per decision.

Records go to the ``webhook_guard`` logger: INFO for accepted requests, WARNING for
rejections, ERROR for internal errors. Each record carries a ``webhook_guard`` attribute
with the fields below; secrets, signatures, tokens and bodies are never included.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.exceptions import WebhookGuardWarning

__all__ = ("LOGGER_NAME", "DecisionHook", "log_decision", "warn_config")

LOGGER_NAME = "webhook_guard"
logger = logging.getLogger(LOGGER_NAME)
logger.addHandler(logging.NullHandler())

#: Called with every verdict and the time spent deciding, in seconds.
DecisionHook = Callable[[Verdict, float], None]


def outcome_of(verdict: Verdict) -> str:
    if verdict.verified:
        return "verified"
    if verdict.reason is Reason.UNSIGNED:
        return "unsigned"
    if verdict.reason is Reason.DUPLICATE:
        return "duplicate"
    if verdict.report_only:
        return "report_only"
    return "rejected"


def log_decision(verdict: Verdict, duration: float, *, method: str = "") -> None:
    """Emit the decision record for ``verdict``."""
    if verdict.verified or verdict.reason in (Reason.UNSIGNED, Reason.DUPLICATE):
        level = logging.INFO
    elif verdict.reason is Reason.INTERNAL_ERROR:
        level = logging.ERROR
    else:
        level = logging.WARNING
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "event": "webhook_guard.decision",
        "outcome": outcome_of(verdict),
        "route": verdict.route,
        "provider": verdict.provider,
        "reason": verdict.reason.value,
        "status": verdict.status,
        "key_id": verdict.key_id,
        "message_id": verdict.message_id,
        "method": method,
        "duration_ms": round(duration * 1000, 3),
    }
    logger.log(
        level,
        "webhook %s route=%s provider=%s reason=%s status=%s key_id=%s duration_ms=%.3f",
        fields["outcome"],
        verdict.route or "-",
        verdict.provider or "-",
        verdict.reason.value,
        verdict.status,
        verdict.key_id or "-",
        fields["duration_ms"],
        extra={"webhook_guard": fields},
    )


def log_store_failure(verdict: Verdict) -> None:
    """The store failed to commit or release a claim after the app answered."""
    logger.error(
        "webhook_guard replay store failed to settle a claim route=%s provider=%s",
        verdict.route,
        verdict.provider,
        extra={
            "webhook_guard": {
                "event": "webhook_guard.store_failure",
                "route": verdict.route,
                "provider": verdict.provider,
            }
        },
    )


def warn_config(message: str, *, event: str, stacklevel: int = 3, **fields: Any) -> None:
    """A configuration-level problem: ``warnings.warn`` (``WebhookGuardWarning``, seen on
    stderr with no logging set up) and a WARNING record on the ``webhook_guard`` logger."""
    warnings.warn(message, WebhookGuardWarning, stacklevel=stacklevel)
    logger.warning(message, extra={"webhook_guard": {"event": event, **fields}})


def warn_memory_store(why: str) -> None:
    """The in-memory replay store protects one process only; say so when there are several."""
    warn_config(
        "webhook_guard: the in-memory replay store protects one process only, but "
        f"{why}; a replayed webhook can be accepted once per process. Use "
        "replay_store='redis://...' with several workers.",
        event="webhook_guard.memory_store_multiprocess",
        stacklevel=4,
    )


def log_hook_failure(verdict: Verdict, hook: object) -> None:
    """A user hook raised; the decision stands."""
    logger.exception(
        "webhook_guard hook %s raised; the decision is unchanged route=%s reason=%s",
        getattr(hook, "__qualname__", repr(hook)),
        verdict.route,
        verdict.reason.value,
        extra={"webhook_guard": {"event": "webhook_guard.hook_failure", "route": verdict.route}},
    )


def combine(*hooks: DecisionHook | None) -> DecisionHook:
    """One ``on_decision`` hook calling each of ``hooks`` (None entries are skipped)."""
    active = tuple(h for h in hooks if h is not None)

    def call(verdict: Verdict, duration: float) -> None:
        for hook in active:
            try:
                hook(verdict, duration)
            except Exception:  # one failing hook must not silence the others
                log_hook_failure(verdict, hook)

    return call
