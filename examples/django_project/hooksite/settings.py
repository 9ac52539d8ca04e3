"""Settings of the example project: the guard is configured in ``WEBHOOK_GUARD``."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-change-me")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "hooksite.urls"
WSGI_APPLICATION = "hooksite.wsgi.application"
USE_TZ = True

INSTALLED_APPS = ["webhook_guard.integrations.django"]  # registers the system checks

MIDDLEWARE = [
    "webhook_guard.integrations.django.WebhookGuardMiddleware",  # first: nothing reads the body before it
    "django.middleware.common.CommonMiddleware",
]

# Secrets stay out of the code: "env:" or "file:" references (see the README).
os.environ.setdefault("GITHUB_WEBHOOK_SECRET", "example-secret-change-me")
WEBHOOK_GUARD = {
    "routes": [
        {"path": "/hooks/github", "provider": "github", "secret": "env:GITHUB_WEBHOOK_SECRET"},
    ],
}
