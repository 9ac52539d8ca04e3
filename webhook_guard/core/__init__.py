"""The sans-IO core of webhook_guard.

Nothing in this package does I/O, reads the clock or the environment, or imports
anything outside the standard library and ``webhook_guard.core``. It receives values
(paths, headers, bytes, keys, the current time) and returns values (plans, verdicts).
A test imports it in a fresh interpreter and checks that rule.
"""

from __future__ import annotations

from webhook_guard.core.guard import Engine, Plan
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.routes import Route
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict

__all__ = (
    "VERDICT_KEY",
    "Check",
    "Engine",
    "Headers",
    "KeySet",
    "Plan",
    "Reason",
    "Route",
    "Scheme",
    "Secret",
    "Verdict",
    "WebhookRequest",
)
