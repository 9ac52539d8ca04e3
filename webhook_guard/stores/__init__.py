"""Replay stores: remember verified deliveries so a replay is refused.

A store answers one question atomically: ``claim(key, ttl)`` is True the first time a key
is claimed within its TTL and False afterwards. It raises ``StoreError`` when it cannot
answer; the guard then refuses the request with 503 (fail closed).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from webhook_guard.stores.memory import MemoryReplayStore

__all__ = ("MemoryReplayStore", "ReplayStore")


@runtime_checkable
class ReplayStore(Protocol):
    """The replay store interface used by the WSGI adapter (and by ASGI for in-memory stores)."""

    def claim(self, key: str, ttl: float) -> bool:
        """Atomically record ``key`` for ``ttl`` seconds; False if it is already recorded."""

    def release(self, key: str) -> None:
        """Forget ``key`` (the app failed, so the provider's retry must be accepted)."""
