"""The shared replay store on Redis: each delivery accepted once across workers and hosts.

One round trip per verified request before the app runs: an atomic
``SET key pending NX PX <processing timeout> GET`` claims the key and, when it exists,
returns its state (``pending`` in flight, ``done`` processed) in the same command (Redis
6.2+ accepts ``GET`` with ``NX`` from 7.0; older servers get a ``GET`` after a failed
claim). When the app answers 2xx the key becomes ``done`` (``SET XX PX``), kept for the
provider's retry horizon counted from the claim, after the response has been handed to
the server; otherwise it is deleted so the provider's retry is processed. Each command
touches one key, so keys are cluster-safe. Keys are
``<prefix><hash of route + event identity>``.

Errors and timeouts raise ``StoreError`` (the guard answers 503 with ``Retry-After``).
redis-py reconnects by itself, so service resumes without a restart when Redis returns.

Needs the ``redis`` extra: ``pip install 'webhook-guard[redis]'``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from webhook_guard.exceptions import MissingExtraError, StoreError
from webhook_guard.stores._claim import Claim

__all__ = ("DEFAULT_TIMEOUT", "RedisReplayStore")

#: Connect and socket timeout in seconds: a stalled Redis costs a request at most this long.
DEFAULT_TIMEOUT = 1.0
_PENDING = b"pending"
_DONE = b"done"
#: Claims this process made and has not settled yet, at most (older ones are dropped).
_MAX_OPEN_CLAIMS = 100_000


def _redis() -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - exercised without the extra
        raise MissingExtraError("redis", "redis") from None
    return redis


class RedisReplayStore:
    """Replay store shared through Redis (redis-py; sync client for WSGI, asyncio for ASGI).

    :param url: ``redis://host:6379/0`` (or ``rediss://``, ``unix://``); or pass ``client=``.
    :param client: a ``redis.Redis`` client to use for sync calls.
    :param async_client: a ``redis.asyncio.Redis`` client to use for async calls.
    :param prefix: prepended to every key.
    :param timeout: connect and socket timeout in seconds.
    :param max_connections: connection pool size per client; a request waits at most
        ``timeout`` for a free connection.

    Example::

        Guard(routes, replay_store="redis://127.0.0.1:6379/0")
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        async_client: Any = None,
        prefix: str = "webhook_guard:",
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 64,
    ) -> None:
        self._redis = _redis()
        if url is None and client is None and async_client is None:
            raise ValueError("RedisReplayStore needs a url, a client or an async_client")
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.max_connections = max_connections
        self._client = client
        self._async_client = async_client
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._errors = (self._redis.RedisError, OSError, asyncio.TimeoutError)
        self._claims: dict[str, float] = {}  # key -> monotonic time of this process's claim
        self._set_get = True

    # -- clients ----------------------------------------------------------------------

    def _from_url(self, module: Any) -> Any:
        # A blocking pool: a burst above max_connections waits (at most ``timeout``) for a
        # free connection instead of failing at once with "Too many connections" (→ 503).
        assert self.url is not None
        pool = module.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry_on_timeout=False,
        )
        client = module.Redis(connection_pool=pool)
        client.auto_close_connection_pool = True  # as from_url does: close() closes the pool
        return client

    def sync_client(self) -> Any:
        if self._client is None:
            if self.url is None:
                raise StoreError("this RedisReplayStore has only an async client")
            self._client = self._from_url(self._redis)
        return self._client

    def async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._async_client is not None and (self.url is None or self._async_loop is loop):
            return self._async_client
        if self.url is None:
            raise StoreError("this RedisReplayStore has only a sync client")
        # asyncio connections belong to one event loop: one client per loop.
        self._async_client = self._from_url(self._redis.asyncio)
        self._async_loop = loop
        return self._async_client

    def ping(self) -> None:
        """Start-up check: raise ``StoreError`` unless Redis answers.

        A store given only an asyncio client is not checked here: its connections belong
        to the event loop that will serve requests, which is not running yet.
        """
        if self._client is None and self.url is None:
            return
        try:
            self.sync_client().ping()
        except self._errors as exc:
            raise StoreError(f"Redis replay store does not answer: {type(exc).__name__}") from exc

    def problems(self) -> list[str]:
        """Configuration that can let a replay through: an eviction policy other than
        ``noeviction`` (checked when ``CONFIG GET`` is allowed)."""
        if self._client is None and self.url is None:
            return []
        try:
            policy = self.sync_client().config_get("maxmemory-policy").get("maxmemory-policy")
        except self._errors:  # CONFIG is often disabled on managed Redis: cannot tell
            return []
        if isinstance(policy, bytes):
            policy = policy.decode("ascii", "replace")
        if policy and policy != "noeviction":
            return [
                f"Redis maxmemory-policy is {policy!r}: when memory runs out Redis may evict "
                "replay keys, letting a replayed webhook through; use 'noeviction' (a full "
                "Redis then refuses writes and the guard answers 503)"
            ]
        return []

    def usable(self, *, asynchronous: bool) -> bool:
        """Whether this store has (or can make) the client an adapter of that kind needs."""
        if self.url is not None:
            return True
        return (self._async_client if asynchronous else self._client) is not None

    # -- the store interface ------------------------------------------------------------

    @staticmethod
    def _claimed(previous: Any) -> Claim:
        if previous is None:
            return Claim.NEW
        return Claim.DONE if previous == _DONE else Claim.IN_FLIGHT

    def _opened(self, key: str, claim: Claim) -> Claim:
        if claim is Claim.NEW:
            claims = self._claims
            if len(claims) >= _MAX_OPEN_CLAIMS:
                claims.clear()  # unsettled claims (responses never closed): commit then
                # counts the horizon from the commit, a little longer than needed
            claims[key] = time.monotonic()
        return claim

    def _remaining_ms(self, key: str, ttl: float) -> int:
        """``ttl`` counted from this process's claim of ``key`` (from now if unknown)."""
        claimed = self._claims.pop(key, None)
        elapsed = time.monotonic() - claimed if claimed is not None else 0.0
        return int((ttl - elapsed) * 1000)

    def claim(self, key: str, ttl: float) -> Claim:
        name, ms = self.prefix + key, max(1, int(ttl * 1000))
        try:
            client = self.sync_client()
            if self._set_get:
                try:
                    previous = client.set(name, _PENDING, nx=True, px=ms, get=True)
                except self._redis.ResponseError:  # Redis < 7.0: no GET with NX
                    self._set_get = False
            if not self._set_get:
                claimed = client.set(name, _PENDING, nx=True, px=ms)
                previous = None if claimed else (client.get(name) or _PENDING)
            return self._opened(key, self._claimed(previous))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    def commit(self, key: str, ttl: float) -> None:
        ms = self._remaining_ms(key, ttl)
        try:
            if ms > 0:
                self.sync_client().set(self.prefix + key, _DONE, xx=True, px=ms)
            else:
                self.sync_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    def release(self, key: str) -> None:
        self._claims.pop(key, None)
        try:
            self.sync_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    async def aclaim(self, key: str, ttl: float) -> Claim:
        name, ms = self.prefix + key, max(1, int(ttl * 1000))
        try:
            client = self.async_client()
            if self._set_get:
                try:
                    previous = await client.set(name, _PENDING, nx=True, px=ms, get=True)
                except self._redis.ResponseError:
                    self._set_get = False
            if not self._set_get:
                claimed = await client.set(name, _PENDING, nx=True, px=ms)
                previous = None if claimed else (await client.get(name) or _PENDING)
            return self._opened(key, self._claimed(previous))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    async def acommit(self, key: str, ttl: float) -> None:
        ms = self._remaining_ms(key, ttl)
        try:
            if ms > 0:
                await self.async_client().set(self.prefix + key, _DONE, xx=True, px=ms)
            else:
                await self.async_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    async def arelease(self, key: str) -> None:
        self._claims.pop(key, None)
        try:
            await self.async_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    def __repr__(self) -> str:
        where = self.url.split("@")[-1] if self.url else "client"
        return f"RedisReplayStore({where!r})"
