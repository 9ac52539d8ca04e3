"""The in-process replay store: bounded, expiring by an injected clock, thread-safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from webhook_guard.exceptions import StoreError
from webhook_guard.stores._claim import Claim

__all__ = ("DEFAULT_MAX_ENTRIES", "MemoryReplayStore")

DEFAULT_MAX_ENTRIES = 200_000
_NEW, _IN_FLIGHT, _DONE = Claim.NEW, Claim.IN_FLIGHT, Claim.DONE


class MemoryReplayStore:
    """Remembers replay keys in this process only.

    - Protects one process: under several worker processes each has its own memory, so
      a replay can be accepted once per process. Use the Redis store there.
    - Bounded: when full of live keys it refuses (``StoreError`` → 503) instead of
      evicting a key that is still inside its window, which would reopen replay. Keys
      of processed events live for the provider's retry horizon (Stripe: 3 days), so
      the default 200,000 entries hold about 46 deliveries a minute for 3 days (about
      140 a minute for a one-day horizon); raise ``max_entries`` (about 200 bytes
      each) or use Redis above that.

    :param max_entries: most keys held at once.
    :param clock: returns seconds; ``time.monotonic`` by default.
    """

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not max_entries >= 1:  # NaN fails too
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        # key -> (expiry, committed, claimed at)
        self._entries: dict[str, tuple[float, bool, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def claim(self, key: str, ttl: float) -> Claim:
        # Lock-free in the usual case: ``dict.setdefault`` is one atomic step under the
        # GIL, so of two racing claims exactly one inserts its entry. The lock guards the
        # rare paths that read, then write: replacing an expired entry, sweeping.
        entries = self._entries
        now = self._clock()
        if len(entries) >= self.max_entries or now >= self._next_sweep:
            return self._claim_slowly(key, ttl, now)
        fresh = (now + ttl, False, now)
        entry = entries.setdefault(key, fresh)
        if entry is fresh:
            return _NEW
        if entry[0] > now:
            return _DONE if entry[1] else _IN_FLIGHT
        return self._claim_slowly(key, ttl, now)

    def _claim_slowly(self, key: str, ttl: float, now: float) -> Claim:
        entries = self._entries
        with self._lock:
            if now >= self._next_sweep or len(entries) >= self.max_entries:
                self._sweep(now)
            entry = entries.get(key)
            if entry is not None and entry[0] > now:
                return _DONE if entry[1] else _IN_FLIGHT
            fresh = (now + ttl, False, now)
            if entry is not None:  # expired: replaced only here, under the lock
                entries[key] = fresh
                return _NEW
            if len(entries) >= self.max_entries:
                raise StoreError("memory replay store is full of live keys")
            current = entries.setdefault(key, fresh)  # a lock-free claim may have won
            if current is fresh:
                return _NEW
            return _DONE if current[1] else _IN_FLIGHT

    def commit(self, key: str, ttl: float) -> None:
        # The request holding the claim commits it (after a lapsed lease, possibly over the
        # claim of a retry: the event was processed, so it is recorded as such).
        entry = self._entries.get(key)
        if entry is not None and not entry[1]:
            self._entries[key] = (entry[2] + ttl, True, entry[2])

    def release(self, key: str) -> None:
        # A claim still pending only, never a processed event's key: a request whose lease
        # lapsed must not erase the commit of the retry that claimed the key after it.
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not entry[1]:
                del self._entries[key]

    async def aclaim(self, key: str, ttl: float) -> Claim:
        return self.claim(key, ttl)

    async def acommit(self, key: str, ttl: float) -> None:
        self.commit(key, ttl)

    async def arelease(self, key: str) -> None:
        self.release(key)

    def _sweep(self, now: float) -> None:
        expired = [k for k, entry in list(self._entries.items()) if entry[0] <= now]
        for k in expired:
            entry = self._entries.get(k)
            if entry is not None and entry[0] <= now:  # not re-claimed meanwhile
                del self._entries[k]
        self._next_sweep = now + 60.0

    def __len__(self) -> int:
        return len(self._entries)
