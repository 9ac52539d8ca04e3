"""Settings of the example project: the guard is configured in ``WEBHOOK_GUARD``.

CSRF and (Django 5.1+) LoginRequiredMiddleware stay on for every other view; the
webhook view needs no ``csrf_exempt`` or ``login_not_required``:
``WebhookGuardMiddleware`` exempts the requests it verified from CSRF, one request at
a time, and webhook_guard's ``LoginRequiredMiddleware`` lets them through without a login.
"""

from __future__ import annotations

import os

import django

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-change-me")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "hooksite.urls"
WSGI_APPLICATION = "hooksite.wsgi.application"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "webhook_guard.integrations.django",  # registers the system checks
]

MIDDLEWARE = [
    "webhook_guard.integrations.django.WebhookGuardMiddleware",  # first: nothing reads the body before it
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
if django.VERSION >= (5, 1):  # in place of django.contrib.auth's LoginRequiredMiddleware
    MIDDLEWARE.append("webhook_guard.integrations.django.LoginRequiredMiddleware")
# The guard in wsgi.py/asgi.py instead (guard.wsgi(...) / guard.asgi(...))? Then drop
# WebhookGuardMiddleware and WEBHOOK_GUARD, and put
# "webhook_guard.integrations.django.VerifiedWebhookMiddleware" before CsrfViewMiddleware.

# Cookie sessions keep the example free of a database; any session engine works.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

# Secrets stay out of the code: "env:" or "file:" references (see the README).
os.environ.setdefault("GITHUB_WEBHOOK_SECRET", "example-secret-change-me")
WEBHOOK_GUARD = {
    "routes": [
        {"path": "/hooks/github", "provider": "github", "secret": "env:GITHUB_WEBHOOK_SECRET"},
    ],
}
