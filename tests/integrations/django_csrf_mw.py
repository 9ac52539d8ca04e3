"""Project-style subclasses of the login middlewares, for the system-check tests."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware

from webhook_guard.integrations.django import LoginRequiredMiddleware as Guarded


class Own(LoginRequiredMiddleware):  # type: ignore[misc]
    """A project's own tweak of Django's middleware: still blocks webhooks (W004)."""


class Ours(Guarded):
    """The same tweak built on ours: lets verified webhooks through."""
