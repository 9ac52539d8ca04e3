"""``gunicorn tests.integrations.django_csrf_site.wsgi:application``"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from tests.integrations.django_csrf_site import make_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integrations.django_csrf_site.settings")
application = make_guard().wsgi(get_wsgi_application())
