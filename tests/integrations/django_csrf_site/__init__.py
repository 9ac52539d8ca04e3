"""A small Django project run by real servers in ``test_django_csrf.py``: CSRF and
LoginRequiredMiddleware on, the guard wrapping the whole handler (``wsgi.py``,
``asgi.py``), ``VerifiedWebhookMiddleware`` in settings, and no decorated views.
"""

from __future__ import annotations

import os

from webhook_guard import Guard, Route
from webhook_guard.providers import github

SECRET_ENV = "WG_DJANGO_CSRF_SECRET"


def make_guard() -> Guard:
    secret = os.environ[SECRET_ENV]
    return Guard(
        [
            Route("/hooks/github", github(secret=secret)),
            Route("/hooks/report", github(secret=secret), report_only=True),
            Route("/hooks/unsigned", unsigned=True),
        ]
    )
