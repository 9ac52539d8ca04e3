#!/usr/bin/env python
"""The example Django project: ``python manage.py runserver 127.0.0.1:8000``."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hooksite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
