"""Framework integrations. Each needs its framework installed (the matching extra):

- ``webhook_guard.integrations.django``: ``WebhookGuardMiddleware`` configured by
  ``settings.WEBHOOK_GUARD``, with Django system checks (``django`` extra).
- ``webhook_guard.integrations.flask``: the ``WebhookGuard`` extension (``init_app``, reads
  ``app.config["WEBHOOK_GUARD"]``) (``flask`` extra).
- ``webhook_guard.integrations.fastapi``: ``VerifiedWebhook`` and ``WebhookVerdict`` handler
  parameters, and ``document_webhooks`` for OpenAPI (``fastapi`` extra).

Starlette needs no integration module: ``app.add_middleware(ASGIWebhookGuard, guard=guard)``
(or ``app = guard.asgi(app)``) and ``get_verdict(request)``.
"""

from __future__ import annotations
