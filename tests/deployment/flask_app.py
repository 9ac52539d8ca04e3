"""A Flask app behind ``guard.wsgi`` for wsgiref, Werkzeug's dev server, gunicorn and
asgiref's ``WsgiToAsgi`` (``adapter_app``). A method-override middleware sits inside the
guard, as in tests/integrations/test_frameworks.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from tests.deployment.diff_common import METHODS, make_guard, record
from webhook_guard import get_verdict


class MethodOverride:
    """The common WSGI method-override middleware."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE")
        if override:
            environ["REQUEST_METHOD"] = override.upper()
        return self.app(environ, start_response)


app = Flask("webhook_guard_differential")


def _endpoint(name: str) -> Callable[..., Response]:
    def view(**kwargs: str) -> Response:
        out = record(
            name,
            request.headers.get("X-Probe"),
            request.path,
            request.get_data(),
            get_verdict(request),
        )
        return Response(out, content_type="application/json")

    view.__name__ = f"view_{name}"
    return view


@app.get("/health")
def health() -> Response:
    return Response(b'{"ok": true}', content_type="application/json")


app.add_url_rule("/hooks/github", view_func=_endpoint("github"), methods=METHODS)
app.add_url_rule("/repos/<repo>/hooks", view_func=_endpoint("repo"), methods=METHODS)
_other = _endpoint("other")
app.add_url_rule("/", view_func=_other, methods=METHODS, defaults={"p": ""})
app.add_url_rule("/<path:p>", view_func=_other, methods=METHODS, endpoint="other_path")
app.wsgi_app = make_guard().wsgi(MethodOverride(app.wsgi_app))  # type: ignore[method-assign]
