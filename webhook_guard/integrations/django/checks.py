"""Django system checks: ``manage.py check`` reports configuration errors with stable ids."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from webhook_guard.exceptions import ConfigurationError
from webhook_guard.integrations.django.conf import SETTING, get_guard

MIDDLEWARE_PATH = "webhook_guard.integrations.django.WebhookGuardMiddleware"


@register(Tags.security)
def check_webhook_guard(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    if not hasattr(settings, SETTING):
        return errors
    try:
        get_guard()
    except ConfigurationError as exc:
        errors.append(Error(exc.message, id=exc.code, obj=f"settings.{SETTING}"))
        return errors
    middleware = list(getattr(settings, "MIDDLEWARE", []) or [])
    if MIDDLEWARE_PATH not in middleware:
        errors.append(
            Warning(
                f"settings.{SETTING} is set but {MIDDLEWARE_PATH} is not in MIDDLEWARE",
                hint="Add it first in MIDDLEWARE.",
                id="webhook_guard.W001",
            )
        )
    elif middleware.index(MIDDLEWARE_PATH) != 0:
        errors.append(
            Warning(
                f"{MIDDLEWARE_PATH} is not first in MIDDLEWARE",
                hint="Middleware before it may read the body or answer before verification.",
                id="webhook_guard.W002",
            )
        )
    return errors
