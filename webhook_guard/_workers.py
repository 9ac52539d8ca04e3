"""Best-effort detection of a server running this app in several worker processes.

The in-memory replay store protects one process only, so the guard warns when it can
tell that there are several. Detection is a heuristic and never gives an all-clear:
``None`` means "cannot tell", not "one process".
"""

from __future__ import annotations

import os

__all__ = ("several_processes",)


def several_processes() -> str | None:
    """Why this process looks like one of several workers, or None when it cannot tell."""
    value = os.environ.get("WEB_CONCURRENCY", "")
    if value.isascii() and value.isdigit() and int(value) > 1:
        return f"WEB_CONCURRENCY is {int(value)}"
    return None
