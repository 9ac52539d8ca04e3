from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from webhook_guard import get_verdict


@csrf_exempt  # providers cannot send a CSRF token; the guard authenticates them instead
def github_hook(request: HttpRequest) -> JsonResponse:
    verdict = get_verdict(request)  # only verified deliveries get here
    return JsonResponse({"verified": verdict.verified, "bytes": len(request.body)})


urlpatterns = [path("hooks/github", github_hook)]
