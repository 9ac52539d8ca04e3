"""``uvicorn tests.integrations.django_csrf_site.asgi:application``"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from tests.integrations.django_csrf_site import make_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integrations.django_csrf_site.settings")
application = make_guard().asgi(get_asgi_application())
