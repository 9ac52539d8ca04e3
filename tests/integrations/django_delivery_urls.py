"""URLconf for ``tests/test_delivery.py``: one webhook view per provider, answering with
the status the test queued and recording what it saw."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from webhook_guard import get_verdict

#: Set by the test: ``HANDLER[0](name, body, verdict) -> status``.
HANDLER: list = [None]  # type: ignore[type-arg]
#: Set by the test: ``STREAM[0]()``, the content of a streamed 200 (sync or async iterable).
STREAM: list = [None]  # type: ignore[type-arg]


@csrf_exempt
def view(request: HttpRequest, name: str) -> JsonResponse:
    status = HANDLER[0](name, request.body, get_verdict(request))
    return JsonResponse({"handled": name}, status=status)


@csrf_exempt
def stream(request: HttpRequest, name: str) -> StreamingHttpResponse:
    return StreamingHttpResponse(STREAM[0](), status=200)


urlpatterns = [path("hooks/<str:name>", view), path("stream/<str:name>", stream)]
