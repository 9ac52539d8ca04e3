from __future__ import annotations

from webhook_guard.core.guard import Claim

__all__ = ("Claim",)
