"""``uvicorn tests.deployment.adapter_app:app``: the guarded Flask app through asgiref's
``WsgiToAsgi`` (an ASGI server in front of a WSGI app)."""

from __future__ import annotations

from asgiref.wsgi import WsgiToAsgi

from tests.deployment.flask_app import app as flask_app

app = WsgiToAsgi(flask_app)  # type: ignore[no-untyped-call]
