"""One structured log event per decision.

Records go to the ``webhook_guard`` logger: INFO for accepted requests, WARNING for
rejections, ERROR for internal errors. Each record carries a ``webhook_guard`` attribute
with the fields below; secrets, signatures, tokens and bodies are never included.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable
from typing import Any

from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.exceptions import WebhookGuardWarning

__all__ = ("LOGGER_NAME", "DecisionHook", "decision_level", "log_decision", "logger", "warn_config")

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


def decision_level(verdict: Verdict) -> int:
    """INFO for accepted requests and duplicates, ERROR for internal errors, else WARNING."""
    if verdict.verified or verdict.reason in (Reason.UNSIGNED, Reason.DUPLICATE):
        return logging.INFO
    if verdict.reason is Reason.INTERNAL_ERROR:
        return logging.ERROR
    return logging.WARNING


def log_decision(verdict: Verdict, duration: float, *, method: str = "") -> None:
    """Emit the decision record for ``verdict``."""
    level = decision_level(verdict)
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


def _cause(exc: BaseException) -> str:
    """``Type: message`` of the root cause (a StoreError wraps the driver's error)."""
    root = exc.__cause__ or exc
    return f"{type(root).__name__}: {root}"


def log_store_failure(verdict: Verdict, exc: BaseException, step: str) -> None:
    """The replay store failed to claim (the request got 503) or to commit or release a
    claim after the app answered. Logged with its cause, at most every few seconds."""
    cause = _cause(exc)
    logger.error(
        "webhook_guard replay store failed to %s route=%s provider=%s cause=%s",
        step,
        verdict.route,
        verdict.provider,
        cause,
        extra={
            "webhook_guard": {
                "event": "webhook_guard.store_failure",
                "step": step,
                "route": verdict.route,
                "provider": verdict.provider,
                "cause": cause,
            }
        },
    )


def log_store_down_at_start(store: object, exc: BaseException) -> None:
    """The replay store did not answer at start-up: the guard starts fail-closed."""
    cause = _cause(exc)
    logger.error(
        "webhook_guard: the replay store %r does not answer at start-up (%s); guarded "
        "routes answer 503 with Retry-After until it does, other routes are not affected",
        store,
        cause,
        extra={"webhook_guard": {"event": "webhook_guard.store_down", "cause": cause}},
    )
    _warn_never_raising(
        f"webhook_guard: the replay store {store!r} does not answer at start-up ({cause}); "
        "guarded routes answer 503 until it does",
        stacklevel=5,
    )


def _warn_never_raising(message: str, *, stacklevel: int) -> None:
    """``warnings.warn`` for a condition that must never stop the host (a transient outage,
    or a request in flight), even when warnings are turned into errors (``-W error``):
    the message is logged either way. ``check_store="strict"`` is the way to fail fast."""
    with contextlib.suppress(WebhookGuardWarning):
        warnings.warn(message, WebhookGuardWarning, stacklevel=stacklevel)


def warn_config(
    message: str, *, event: str, stacklevel: int = 3, in_request: bool = False, **fields: Any
) -> None:
    """A configuration-level problem: a WARNING record on the ``webhook_guard`` logger and
    ``warnings.warn`` (``WebhookGuardWarning``, seen on stderr with no logging set up;
    turned into an error where the user asked for that, except ``in_request``: a request
    is never failed for it)."""
    logger.warning(message, extra={"webhook_guard": {"event": event, **fields}})
    if in_request:
        _warn_never_raising(message, stacklevel=stacklevel + 1)
    else:
        warnings.warn(message, WebhookGuardWarning, stacklevel=stacklevel)


def warn_memory_store(why: str, *, in_request: bool = False) -> None:
    """The in-memory replay store protects one process only; say so when there are several."""
    warn_config(
        "webhook_guard: the in-memory replay store protects one process only, but "
        f"{why}; a replayed webhook can be accepted once per process. Use "
        "replay_store='redis://...' with several workers.",
        event="webhook_guard.memory_store_multiprocess",
        stacklevel=4,
        in_request=in_request,
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
