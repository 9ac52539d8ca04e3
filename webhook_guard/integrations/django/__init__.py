"""Django integration: ``settings.WEBHOOK_GUARD`` + ``WebhookGuardMiddleware`` + system checks.

settings.py::

    INSTALLED_APPS = [..., "webhook_guard.integrations.django"]
    MIDDLEWARE = ["webhook_guard.integrations.django.WebhookGuardMiddleware", ...]  # first
    WEBHOOK_GUARD = {
        "routes": [
            {"path": "/hooks/github/{repo}", "provider": "github", "secret": "env:GH_SECRET"},
        ],
    }

Put the middleware first, before anything that reads the body (CSRF reads POST data).
In a view, ``get_verdict(request)`` returns the verdict. Webhook views still need
``csrf_exempt``: providers cannot send a CSRF token.
"""

from __future__ import annotations

from webhook_guard.guard import get_verdict
from webhook_guard.integrations.django.middleware import WebhookGuardMiddleware

__all__ = ("WebhookGuardMiddleware", "get_verdict")

default_app_config = "webhook_guard.integrations.django.apps.WebhookGuardConfig"
