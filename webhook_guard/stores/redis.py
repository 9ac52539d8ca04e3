"""The shared replay store on Redis: each delivery accepted once across workers and hosts.

One atomic ``SET key pending NX PX ttl`` per verified request (no check-then-set). When
the app answers below 500 the key becomes ``done`` (``SET ... XX KEEPTTL``); when it fails
the key is deleted so the provider's retry is processed. Keys are
``<prefix><sha256 of route + signed material>``.

Errors and timeouts raise ``StoreError`` (the guard answers 503 with ``Retry-After``).
redis-py reconnects by itself, so service resumes without a restart when Redis returns.

Needs the ``redis`` extra: ``pip install 'webhook-guard[redis]'``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from webhook_guard.exceptions import MissingExtraError, StoreError
from webhook_guard.stores._claim import Claim

__all__ = ("DEFAULT_TIMEOUT", "RedisReplayStore")

#: Connect and socket timeout in seconds: a stalled Redis costs a request at most this long.
DEFAULT_TIMEOUT = 1.0
_PENDING = b"pending"
_DONE = b"done"


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

    # -- the store interface ------------------------------------------------------------

    @staticmethod
    def _state(value: Any) -> Claim:
        return Claim.DONE if value == _DONE else Claim.IN_FLIGHT

    def claim(self, key: str, ttl: float) -> Claim:
        name = self.prefix + key
        try:
            client = self.sync_client()
            if client.set(name, _PENDING, nx=True, px=max(1, int(ttl * 1000))):
                return Claim.NEW
            return self._state(client.get(name))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    def commit(self, key: str, ttl: float) -> None:
        try:
            self.sync_client().set(self.prefix + key, _DONE, xx=True, keepttl=True)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    def release(self, key: str) -> None:
        try:
            self.sync_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    async def aclaim(self, key: str, ttl: float) -> Claim:
        name = self.prefix + key
        try:
            client = self.async_client()
            if await client.set(name, _PENDING, nx=True, px=max(1, int(ttl * 1000))):
                return Claim.NEW
            return self._state(await client.get(name))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    async def acommit(self, key: str, ttl: float) -> None:
        try:
            await self.async_client().set(self.prefix + key, _DONE, xx=True, keepttl=True)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    async def arelease(self, key: str) -> None:
        try:
            await self.async_client().delete(self.prefix + key)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    def __repr__(self) -> str:
        where = self.url.split("@")[-1] if self.url else "client"
        return f"RedisReplayStore({where!r})"
