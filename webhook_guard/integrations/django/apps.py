from __future__ import annotations

from django.apps import AppConfig


class WebhookGuardConfig(AppConfig):
    """Registers the ``webhook_guard`` system checks."""

    name = "webhook_guard.integrations.django"
    label = "webhook_guard"
    verbose_name = "webhook_guard"

    def ready(self) -> None:
        from webhook_guard.integrations.django import checks  # noqa: F401 - registers checks
