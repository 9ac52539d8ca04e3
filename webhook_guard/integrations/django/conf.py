"""``settings.WEBHOOK_GUARD`` → a ``Guard``, built once and rebuilt when the setting changes."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from webhook_guard.guard import Guard

__all__ = ("SETTING", "get_guard")

SETTING = "WEBHOOK_GUARD"
_cache: dict[str, Any] = {}


def get_guard() -> Guard:
    """The guard described by ``settings.WEBHOOK_GUARD`` (a ``Guard`` or a mapping)."""
    config = getattr(settings, SETTING, None)
    if isinstance(config, Guard):
        return config
    if config is None:
        config = {"routes": []}
    cached = _cache.get("guard")
    if cached is not None and _cache.get("config") is config:
        return cached  # type: ignore[no-any-return]
    guard = Guard.from_mapping(config, source=f"settings.{SETTING}")
    _cache.update(guard=guard, config=config)
    return guard
