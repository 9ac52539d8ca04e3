"""WSGI entry point. The middleware in settings guards the hooks; alternatively wrap the
whole handler, ``application = guard.wsgi(get_wsgi_application())``, and put
``webhook_guard.integrations.django.VerifiedWebhookMiddleware`` before
``CsrfViewMiddleware`` in settings (see settings.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hooksite.settings")
application = get_wsgi_application()
