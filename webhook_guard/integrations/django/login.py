"""``LoginRequiredMiddleware`` that lets verified webhooks through (Django 5.1+).

Django's ``django.contrib.auth.middleware.LoginRequiredMiddleware`` redirects every
anonymous request to the login page unless the view is ``login_not_required``. A
provider never logs in, so a webhook would need that decorator on its view, which also
opens the view to anonymous requests that are *not* verified (report-only routes).
This subclass decides per request instead: a request whose verdict is verified reaches
its view; every other request is handled exactly as Django's middleware handles it.
No user is faked: ``request.user`` stays anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from webhook_guard.guard import get_verdict

try:
    from django.contrib.auth.middleware import (
        LoginRequiredMiddleware as DjangoLoginRequiredMiddleware,
    )
except ImportError as exc:  # pragma: no cover - Django < 5.1
    raise ImportError(
        "webhook_guard.integrations.django.LoginRequiredMiddleware replaces Django's "
        "LoginRequiredMiddleware, which Django 5.1 added; this Django has none"
    ) from exc

__all__ = ("LoginRequiredMiddleware",)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's ``LoginRequiredMiddleware``, except for requests the guard verified.

    - A request whose verdict (``get_verdict(request)``) is verified goes on to its
      view without a login. The verdict comes from ``WebhookGuardMiddleware``,
      ``guard.wsgi(...)`` or ``guard.asgi(...)``, whichever is in use.
    - Everything else, including unverified requests on report-only and unsigned
      routes, goes through Django's checks unchanged.

    Use it in place of Django's, at the same position in ``MIDDLEWARE``::

        MIDDLEWARE = [
            ...,
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "webhook_guard.integrations.django.LoginRequiredMiddleware",
            ...,
        ]

    The system check ``webhook_guard.W004`` reports Django's own class in ``MIDDLEWARE``.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if get_verdict(request).verified:
            return None
        response: HttpResponseBase | None = super().process_view(
            request, view_func, view_args, view_kwargs
        )
        return response
