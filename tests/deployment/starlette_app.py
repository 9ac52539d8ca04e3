"""``uvicorn tests.deployment.starlette_app:app``: a Starlette app behind ``guard.asgi``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.deployment.diff_common import METHODS, make_guard, record
from webhook_guard import get_verdict


def _endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def view(request: Request) -> Response:
        out = record(
            name,
            request.headers.get("x-probe"),
            request.url.path,
            await request.body(),
            get_verdict(request),
        )
        return Response(out, media_type="application/json")

    return view


async def health(request: Request) -> Response:
    return Response(b'{"ok": true}', media_type="application/json")


routes = [
    Route("/health", health),
    Route("/hooks/github", _endpoint("github"), methods=METHODS),
    Route("/repos/{repo}/hooks", _endpoint("repo"), methods=METHODS),
    Route("/{p:path}", _endpoint("other"), methods=METHODS),
]
app = make_guard().asgi(Starlette(routes=routes))
