"""Settings of the real-server project: the recommended stack with the guard outside Django."""

from __future__ import annotations

SECRET_KEY = "django-csrf-site-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.integrations.django_csrf_urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "webhook_guard.integrations.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "webhook_guard.integrations.django.VerifiedWebhookMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webhook_guard.integrations.django.LoginRequiredMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"  # no database needed
