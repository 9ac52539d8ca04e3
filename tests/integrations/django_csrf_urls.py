"""URLconf for ``test_django_csrf.py`` and the ``django_csrf_site`` project: webhook views
with no decorator at all, and ordinary views that still need a login or a CSRF token.
Views record their name in ``CALLS``, so a test can prove a view never ran.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import path

from webhook_guard import get_verdict

try:
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django < 5.1: no LoginRequiredMiddleware, nothing to opt out of

    def login_not_required(view):  # type: ignore[no-untyped-def]
        return view


CALLS: list[str] = []


def hook(request: HttpRequest) -> JsonResponse:
    """A webhook view exactly as a user writes it: no ``csrf_exempt``, no login opt-out."""
    CALLS.append("hook")
    verdict = get_verdict(request)
    return JsonResponse(
        {
            "view": "hook",
            "verified": verdict.verified,
            "report_only": verdict.report_only,
            "authenticated": request.user.is_authenticated,
            "bytes": len(request.body),
        }
    )


def account(request: HttpRequest) -> HttpResponse:
    """An ordinary page: LoginRequiredMiddleware must send anonymous users to log in."""
    CALLS.append("account")
    return HttpResponse("account")


@login_not_required
def form(request: HttpRequest) -> HttpResponse:
    """An ordinary public form: a POST needs Django's CSRF token."""
    CALLS.append("form")
    return HttpResponse("posted" if request.method == "POST" else get_token(request))


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("log in")


@login_not_required
def hits(request: HttpRequest) -> JsonResponse:
    """Readiness probe for the real-server test."""
    return JsonResponse({"calls": CALLS})


urlpatterns = [
    path("hooks/github", hook),
    path("hooks/report", hook),
    path("hooks/unsigned", hook),
    path("account/", account),
    path("form/", form),
    path("accounts/login/", login),
    path("hits", hits),
]
