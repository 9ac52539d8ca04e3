"""Django system checks: ``manage.py check`` reports configuration errors with stable ids.

========================  ================================================================
``webhook_guard.E0xx``    ``settings.WEBHOOK_GUARD`` is invalid (the ids of ``config.py``)
``webhook_guard.W001``    ``settings.WEBHOOK_GUARD`` is set but the middleware is missing
``webhook_guard.W002``    ``WebhookGuardMiddleware`` is not first in ``MIDDLEWARE``
``webhook_guard.W003``    ``CsrfViewMiddleware`` would refuse verified webhooks: nothing
                          marks them (no ``WebhookGuardMiddleware`` or
                          ``VerifiedWebhookMiddleware``)
``webhook_guard.W004``    Django's ``LoginRequiredMiddleware`` would redirect verified
                          webhooks to the login page
``webhook_guard.W005``    a ``WebhookGuardWarning`` raised while building the guard (a
                          literal secret in settings, the in-memory store under several
                          processes, ...), reported here even under ``-W error``
========================  ================================================================
"""

from __future__ import annotations

import warnings
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from webhook_guard.exceptions import ConfigurationError, WebhookGuardWarning
from webhook_guard.integrations.django.conf import SETTING, get_guard
from webhook_guard.integrations.django.exempt import VerifiedWebhookMiddleware
from webhook_guard.integrations.django.middleware import WebhookGuardMiddleware

MIDDLEWARE_PATH = "webhook_guard.integrations.django.WebhookGuardMiddleware"
VERIFIED_PATH = "webhook_guard.integrations.django.VerifiedWebhookMiddleware"
LOGIN_REQUIRED_PATH = "webhook_guard.integrations.django.LoginRequiredMiddleware"
CSRF_PATH = "django.middleware.csrf.CsrfViewMiddleware"
DJANGO_LOGIN_REQUIRED_PATH = "django.contrib.auth.middleware.LoginRequiredMiddleware"
_OUR_LOGIN_REQUIRED = "webhook_guard.integrations.django.login.LoginRequiredMiddleware"


@register(Tags.security)
def check_webhook_guard(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    if not hasattr(settings, SETTING):
        return errors
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WebhookGuardWarning)  # a check reports, never raises
        try:
            get_guard()
        except ConfigurationError as exc:
            errors.append(Error(exc.message, id=exc.code, obj=f"settings.{SETTING}"))
    for warned in caught:
        if issubclass(warned.category, WebhookGuardWarning):
            errors.append(Warning(str(warned.message), id="webhook_guard.W005", obj=f"settings.{SETTING}"))
        else:  # not ours: on to the filters the user set
            warnings.warn_explicit(warned.message, warned.category, warned.filename, warned.lineno)
    if any(e.id.startswith("webhook_guard.E") for e in errors):
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


@register(Tags.security)
def check_verified_webhooks_pass(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """W003/W004: middleware that would still turn verified webhooks away."""
    classes = _middleware_classes()
    errors: list[Any] = []
    marks = any(issubclass(c, (WebhookGuardMiddleware, VerifiedWebhookMiddleware)) for c in classes)
    if not marks and any(_inherits(c, CSRF_PATH) for c in classes):
        errors.append(
            Warning(
                f"{CSRF_PATH} refuses verified webhooks: no middleware exempts them from CSRF",
                hint=(
                    f"With guard.wsgi(...) or guard.asgi(...), add {VERIFIED_PATH} before "
                    f"CsrfViewMiddleware; with settings.{SETTING}, add {MIDDLEWARE_PATH} "
                    "first in MIDDLEWARE."
                ),
                obj="settings.MIDDLEWARE",
                id="webhook_guard.W003",
            )
        )
    if any(
        _inherits(c, DJANGO_LOGIN_REQUIRED_PATH) and not _inherits(c, _OUR_LOGIN_REQUIRED)
        for c in classes
    ):
        errors.append(
            Warning(
                f"{DJANGO_LOGIN_REQUIRED_PATH} redirects verified webhooks to the login page",
                hint=(
                    f"Replace it with {LOGIN_REQUIRED_PATH}, which lets verified requests "
                    "through (a subclass of Django's; subclass it for your own changes)."
                ),
                obj="settings.MIDDLEWARE",
                id="webhook_guard.W004",
            )
        )
    return errors


def _middleware_classes() -> list[type]:
    """The classes in ``settings.MIDDLEWARE``; entries that fail to import are skipped
    (Django reports those when it loads the middleware)."""
    classes = []
    for path in list(getattr(settings, "MIDDLEWARE", []) or []):
        try:
            value = import_string(path)
        except ImportError:
            continue
        if isinstance(value, type):
            classes.append(value)
    return classes


def _inherits(cls: type, qualified: str) -> bool:
    """``cls`` is or subclasses the class named ``qualified``; compared by name, so
    ``django.contrib.auth`` is not imported for a project that does not use it."""
    return any(f"{c.__module__}.{c.__qualname__}" == qualified for c in cls.__mro__)
