"""CSRF for verified webhooks: one request at a time, never a whole view.

A provider cannot send Django's CSRF token, so ``CsrfViewMiddleware`` refuses every
webhook POST unless the view is ``csrf_exempt``. The guard's verdict is a stronger
proof than the token: the request was signed with the route's secret. So a request
whose verdict is *verified* is marked as already checked
(``request.csrf_processing_done = True``, which ``CsrfViewMiddleware.process_view``
honours), and every other request, including unverified ones on report-only and
unsigned routes, still goes through CSRF.

``WebhookGuardMiddleware`` (``settings.WEBHOOK_GUARD``) marks the requests it verifies
itself. When the guard wraps the whole handler instead (``guard.wsgi(...)`` in
``wsgi.py`` or ``guard.asgi(...)`` in ``asgi.py``), add ``VerifiedWebhookMiddleware``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest

from webhook_guard.core.verdict import Verdict
from webhook_guard.guard import get_verdict

__all__ = ("VerifiedWebhookMiddleware", "mark_verified")


def mark_verified(request: HttpRequest, verdict: Verdict) -> bool:
    """Let ``CsrfViewMiddleware`` pass ``request`` when ``verdict`` is verified.

    - Only a verified verdict marks the request; report-only, unsigned and not-guarded
      verdicts leave it alone, so CSRF still applies to them.
    - The mark is Django's own ``request.csrf_processing_done``; it is per request and
      the view is not changed.

    :param request: the Django request.
    :param verdict: the guard's verdict for this request.
    :return: whether the request was marked.

    .. code-block:: python

        verdict = get_verdict(request)
        mark_verified(request, verdict)
    """
    if not verdict.verified:
        return False
    request.csrf_processing_done = True
    return True


class VerifiedWebhookMiddleware:
    """Skips CSRF for requests the guard verified in front of Django.

    For ``application = guard.wsgi(get_wsgi_application())`` or
    ``application = guard.asgi(get_asgi_application())``: the verdict arrives in the
    WSGI environ or the ASGI scope, and this middleware marks verified requests with
    ``mark_verified`` before ``CsrfViewMiddleware`` looks at them. Not needed with
    ``WebhookGuardMiddleware``, which marks its own verdicts.

    settings.py::

        MIDDLEWARE = [
            ...,
            "webhook_guard.integrations.django.VerifiedWebhookMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            ...,
        ]

    Security: a verdict cannot come from a request header (it is a namespaced environ or
    scope key), so a client cannot mark its own request.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        mark_verified(request, get_verdict(request))
        if self.async_mode:
            return self.__acall__(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
        return await get_response(request)
