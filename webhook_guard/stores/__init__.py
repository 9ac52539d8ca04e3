"""Replay stores: remember verified deliveries so each is processed once.

A store answers atomically, for a replay key (the identity of a verified event):

- ``claim(key, ttl)``: ``Claim.NEW`` the first time (the key is now *pending* for ``ttl``
  seconds, the processing timeout: a claim nobody settles lapses, so a crashed worker
  never loses the event), ``Claim.IN_FLIGHT`` while another copy is being processed,
  ``Claim.DONE`` after it was committed;
- ``commit(key, ttl)``: the app accepted the event (2xx); the key is kept ``ttl`` seconds
  *from the claim* (the provider's retry horizon), so later copies are duplicates;
- ``release(key)``: the app did not accept it, so the provider's retry must be processed.

Each has an ``a``-prefixed coroutine twin for ASGI. A store raises ``StoreError`` when it
cannot answer; the guard then refuses with 503 (fail closed).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from webhook_guard.stores._claim import Claim
from webhook_guard.stores.memory import MemoryReplayStore

__all__ = ("Claim", "MemoryReplayStore", "ReplayStore", "store_from_url")


@runtime_checkable
class ReplayStore(Protocol):
    """What the adapters need from a replay store."""

    def claim(self, key: str, ttl: float) -> Claim: ...  # ttl: the processing timeout

    def commit(self, key: str, ttl: float) -> None: ...  # ttl: from the claim on

    def release(self, key: str) -> None: ...  # a pending key only, never a committed one

    async def aclaim(self, key: str, ttl: float) -> Claim: ...

    async def acommit(self, key: str, ttl: float) -> None: ...

    async def arelease(self, key: str) -> None: ...


#: The URL schemes of the Redis store (``webhook_guard.stores.redis.URL_SCHEMES``).
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")


def store_from_url(url: str, **options: object) -> ReplayStore:
    """A store from a URL: ``"memory"``/``"memory://"``; one Redis node
    ``"redis://host:6379/0"`` (``rediss://``, ``unix://``); Redis Sentinel
    ``"redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]"``;
    Redis Cluster ``"redis+cluster://[[user]:password@]host[:port][,host[:port]...]"``.

    ``options`` go to the store (``RedisReplayStore(url, **options)``). A malformed
    Sentinel or Cluster URL is a ``ConfigurationError`` (``webhook_guard.E008``).
    """
    from webhook_guard.exceptions import ConfigurationError

    if url in ("memory", "memory://"):
        return MemoryReplayStore()
    if url.lower().startswith(_REDIS_SCHEMES):
        from webhook_guard.stores.redis import RedisReplayStore

        return RedisReplayStore(url, **options)  # type: ignore[arg-type]
    raise ConfigurationError(
        f"unknown replay store {url.partition(':')[0]!r} (use 'memory', 'redis://...', "
        "'redis+sentinel://...', 'redis+cluster://...' or a store object)",
        code="webhook_guard.E008",
    )
