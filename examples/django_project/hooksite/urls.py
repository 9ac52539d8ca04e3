from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from webhook_guard import get_verdict


# No csrf_exempt, no login_not_required: only verified deliveries get here, and the
# middleware lets exactly those past CSRF and the login requirement.
def github_hook(request: HttpRequest) -> JsonResponse:
    verdict = get_verdict(request)
    return JsonResponse({"verified": verdict.verified, "bytes": len(request.body)})


urlpatterns = [path("hooks/github", github_hook)]
