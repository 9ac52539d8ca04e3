"""URLconf of the Django app used by ``test_frameworks.py``; views record into ``SEEN``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from tests.integrations.common import Seen
from webhook_guard import get_verdict

SEEN = [Seen()]


def _view(name: str):  # type: ignore[no-untyped-def]
    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> JsonResponse:
        SEEN[0].record(name, request.body, request)
        verdict = get_verdict(request)
        return JsonResponse({"handler": name, "params": dict(verdict.params), **kwargs})

    return view


urlpatterns = [
    path("hooks/github", _view("github")),
    path("repos/<str:repo>/hooks", _view("repo")),
    path("hooks/seatable", _view("seatable")),
    path("hooks/dingtalk", _view("dingtalk")),
    re_path(r"^.*$", _view("other")),
]
