"""Django integration: the guard in front of Django, CSRF and login for verified webhooks.

settings.py (the guard configured in settings)::

    INSTALLED_APPS = [..., "webhook_guard.integrations.django"]  # system checks
    MIDDLEWARE = [
        "webhook_guard.integrations.django.WebhookGuardMiddleware",  # first
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "webhook_guard.integrations.django.LoginRequiredMiddleware",  # Django 5.1+, optional
    ]
    WEBHOOK_GUARD = {
        "routes": [
            {"path": "/hooks/github/{repo}", "provider": "github", "secret": "env:GH_SECRET"},
        ],
    }

Put ``WebhookGuardMiddleware`` first, before anything that reads the body. It marks the
requests it verifies so that ``CsrfViewMiddleware`` lets them through (a provider cannot
send a CSRF token); unverified requests still need the token. With the guard wrapping
the whole handler instead (``guard.wsgi(get_wsgi_application())`` or
``guard.asgi(get_asgi_application())``), put ``VerifiedWebhookMiddleware`` before
``CsrfViewMiddleware`` in its place. With ``LoginRequiredMiddleware``, use this package's
subclass instead of Django's: it lets verified requests through. Webhook views need no
decorator. In a view, ``get_verdict(request)`` returns the verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webhook_guard.guard import get_verdict
from webhook_guard.integrations.django.exempt import VerifiedWebhookMiddleware, mark_verified
from webhook_guard.integrations.django.middleware import WebhookGuardMiddleware

if TYPE_CHECKING:
    from webhook_guard.integrations.django.login import LoginRequiredMiddleware

# LoginRequiredMiddleware is imported on first use: it imports django.contrib.auth's
# models, which need the app registry (this package is itself an INSTALLED_APPS entry).
__all__ = (
    "LoginRequiredMiddleware",
    "VerifiedWebhookMiddleware",
    "WebhookGuardMiddleware",
    "get_verdict",
    "mark_verified",
)

default_app_config = "webhook_guard.integrations.django.apps.WebhookGuardConfig"


def __getattr__(name: str) -> Any:
    if name == "LoginRequiredMiddleware":
        from webhook_guard.integrations.django.login import LoginRequiredMiddleware

        return LoginRequiredMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
