"""webhook_guard: verify every webhook's sender before any application code runs.

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import github

guard = Guard([Route("/hooks/github/{repo}", github(secret="env:GH_SECRET"))])
app.wsgi_app = guard.wsgi(app.wsgi_app)   # or: app = guard.asgi(app)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.routes import Route
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.exceptions import (
    ConfigurationError,
    MissingExtraError,
    StoreError,
    WebhookGuardError,
    WebhookGuardWarning,
)

if TYPE_CHECKING:
    from webhook_guard.guard import Guard, get_verdict

__version__ = "0.1.0"

__all__ = (
    "VERDICT_KEY",
    "ConfigurationError",
    "Guard",
    "Headers",
    "KeySet",
    "MissingExtraError",
    "Reason",
    "Route",
    "Secret",
    "StoreError",
    "Verdict",
    "WebhookGuardError",
    "WebhookGuardWarning",
    "WebhookRequest",
    "__version__",
    "get_verdict",
)


def __getattr__(name: str) -> Any:
    # Loaded on first use, so ``import webhook_guard.core`` stays sans-IO (no logging,
    # stores or key sources come with the package).
    if name in ("Guard", "get_verdict"):
        from webhook_guard import guard

        value = getattr(guard, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
