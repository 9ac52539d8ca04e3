"""Flask extension: ``WebhookGuard(app)`` or ``WebhookGuard().init_app(app)``.

::

    from flask import Flask
    from webhook_guard.integrations.flask import WebhookGuard

    app = Flask(__name__)
    app.config["WEBHOOK_GUARD"] = {
        "routes": [{"path": "/hooks/github", "provider": "github", "secret": "env:GH_SECRET"}],
    }
    WebhookGuard(app)

``app.config["WEBHOOK_GUARD"]`` takes the same mapping as ``Guard.from_mapping`` (or a path
to a TOML file). The guard wraps ``app.wsgi_app``, so it runs before Flask routes the
request; handlers read the verdict with ``webhook_guard.get_verdict(request)`` or this
module's ``verdict()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_guard.core.verdict import Verdict
from webhook_guard.exceptions import ConfigurationError, MissingExtraError
from webhook_guard.guard import Guard, get_verdict

__all__ = ("CONFIG_KEY", "EXTENSION_KEY", "WebhookGuard", "verdict")

#: The ``app.config`` key read when no guard is given.
CONFIG_KEY = "WEBHOOK_GUARD"
#: The ``app.extensions`` key under which the app's ``Guard`` is kept.
EXTENSION_KEY = "webhook_guard"


class WebhookGuard:
    """Verify webhooks before a Flask app's handlers run (the Flask extension pattern).

    - ``init_app(app)`` wraps ``app.wsgi_app`` with the guard and records it in
      ``app.extensions["webhook_guard"]``; one extension object serves several apps.
    - Without ``guard=``, each app's guard is built from ``app.config["WEBHOOK_GUARD"]``
      at ``init_app`` time, so configuration errors are raised at start-up.

    :param app: the Flask app (or call ``init_app`` later, for app factories).
    :param guard: a configured ``Guard``, used for every app instead of the config.
    :param overrides: ``Guard`` options that win over the configuration (e.g. ``clock``
        in tests).
    """

    def __init__(self, app: Any = None, *, guard: Guard | None = None, **overrides: Any) -> None:
        self.guard = guard
        self.overrides = overrides
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> Guard:
        """Guard ``app``; returns the app's ``Guard``."""
        extensions = getattr(app, "extensions", None)
        if extensions is None or not hasattr(app, "wsgi_app"):
            raise TypeError(f"WebhookGuard.init_app needs a Flask app, not {type(app).__name__}")
        if EXTENSION_KEY in extensions:
            raise ConfigurationError(
                "WebhookGuard.init_app was called twice for this app",
                code="webhook_guard.E006",
            )
        guard = self.guard if self.guard is not None else self._from_config(app.config)
        app.wsgi_app = guard.wsgi(app.wsgi_app)
        extensions[EXTENSION_KEY] = guard
        return guard

    def _from_config(self, config: Mapping[str, Any]) -> Guard:
        settings = config.get(CONFIG_KEY)
        if settings is None:
            raise ConfigurationError(
                f"set app.config[{CONFIG_KEY!r}] (the Guard.from_mapping schema) or pass guard=",
                code="webhook_guard.E006",
            )
        if isinstance(settings, str):
            return Guard.from_file(settings, **self.overrides)
        if not isinstance(settings, Mapping):
            raise ConfigurationError(
                f"app.config[{CONFIG_KEY!r}] must be a mapping or a TOML file path",
                code="webhook_guard.E006",
            )
        return Guard.from_mapping(settings, source=f"app.config[{CONFIG_KEY!r}]", **self.overrides)


def verdict() -> Verdict:
    """The verdict of the current Flask request (not verified outside a guarded route)."""
    try:
        from flask import request
    except ImportError:
        raise MissingExtraError("flask", "flask") from None
    return get_verdict(request)
