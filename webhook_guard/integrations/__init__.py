"""Framework integrations. Each needs its framework installed (the matching extra):

- ``webhook_guard.integrations.django``: ``WebhookGuardMiddleware`` configured by
  ``settings.WEBHOOK_GUARD``, with Django system checks (``django`` extra).

Flask, Starlette and FastAPI need no integration module: wrap the app in one line
(``app.wsgi_app = guard.wsgi(app.wsgi_app)``, ``app = guard.asgi(app)`` or
``app.add_middleware(ASGIWebhookGuard, guard=guard)``) and read ``get_verdict(request)``.
"""

from __future__ import annotations
