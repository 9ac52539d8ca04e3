"""The shared replay store on Redis: each delivery accepted once across workers and hosts.

One round trip per verified request before the app runs: an atomic
``SET key pending NX PX <processing timeout> GET`` claims the key and, when it exists,
returns its state (``pending`` in flight, ``done`` processed) in the same command (Redis
6.2+ accepts ``GET`` with ``NX`` from 7.0; older servers get a ``GET`` after a failed
claim). When the app answers 2xx the key becomes ``done`` (``SET XX PX``), kept for the
provider's retry horizon counted from the claim, after the response has been handed to
the server; otherwise it is deleted so the provider's retry is processed, by a one-key
script that deletes it only while it is still ``pending`` (a late release never erases a
processed event). Each command touches one key (no ``MULTI``, no multi-key command), so
keys are cluster-safe. Keys are ``<prefix><hash of route + event identity>``.

Beyond one node: a Sentinel-managed master (``redis+sentinel://`` or a client from
``Sentinel.master_for``) and Redis Cluster (``redis+cluster://`` or a ``RedisCluster``
client), sync and asyncio. Replication is asynchronous: a claim acknowledged by a master
that dies before its replica received it is lost in the failover (see the README).

Errors and timeouts raise ``StoreError`` (the guard answers 503 with ``Retry-After``),
including failover errors (``MasterNotFoundError``, ``ReadOnlyError``,
``ClusterDownError``, a slot not covered). redis-py reconnects by itself (and asks the
Sentinels, or refreshes the cluster's slot map), so service resumes without a restart.

Needs the ``redis`` extra: ``pip install 'webhook-guard[redis]'``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from webhook_guard.exceptions import ConfigurationError, MissingExtraError, StoreError
from webhook_guard.stores._claim import Claim

__all__ = ("DEFAULT_TIMEOUT", "URL_SCHEMES", "RedisReplayStore", "RedisTopology")

#: Connect and socket timeout in seconds: a stalled Redis costs a request at most this long.
DEFAULT_TIMEOUT = 1.0
#: The URL schemes ``RedisReplayStore`` (and ``replay_store=``) accept.
URL_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")
_PENDING = b"pending"
_DONE = b"done"
#: Release deletes a claim still pending, never a processed event's key: a request whose
#: lease lapsed must not erase the commit of the retry that claimed the key after it.
_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"
)
#: Claims this process made and has not settled yet, at most (older ones are dropped).
_MAX_OPEN_CLAIMS = 100_000
_E008 = "webhook_guard.E008"
_DEFAULT_PORTS = {"sentinel": 26379, "cluster": 6379}
_HOST = re.compile(r"\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9_.-]{1,253})")
_DIGITS = re.compile(r"[0-9]{1,5}")
_TIMEOUT_OPTIONS = ("socket_timeout", "socket_connect_timeout")
_OPTIONS = {
    "sentinel": (*_TIMEOUT_OPTIONS, "sentinel_username", "sentinel_password"),
    "cluster": _TIMEOUT_OPTIONS,
}


def _redis() -> Any:
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.cluster
        import redis.asyncio.sentinel
        import redis.cluster
        import redis.sentinel
    except ImportError:  # pragma: no cover - exercised without the extra
        raise MissingExtraError("redis", "redis") from None
    return redis


@dataclass(frozen=True)
class RedisTopology:
    """A parsed ``redis+sentinel://`` or ``redis+cluster://`` URL.

    :param kind: ``"sentinel"`` or ``"cluster"``.
    :param nodes: the Sentinels, or the cluster's start-up nodes, as ``(host, port)``.
    :param service: the Sentinel service (master) name; None for a cluster.
    :param db: the database number (always 0 on a cluster).
    :param username: user of the data nodes (ACL), or None.
    :param password: password of the data nodes, or None.
    :param options: ``socket_timeout``, ``socket_connect_timeout`` (seconds), and for
        Sentinel ``sentinel_username``/``sentinel_password`` (the Sentinels' own login).
    """

    kind: str
    nodes: tuple[tuple[str, int], ...]
    service: str | None
    db: int
    username: str | None
    password: str | None
    options: tuple[tuple[str, str | float], ...] = ()

    @classmethod
    def parse(cls, url: str) -> RedisTopology:
        """Parse ``url``; a ``ConfigurationError`` (``webhook_guard.E008``) names what is
        wrong, never the password.

        - ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?option=value&...]``
          (Sentinel port 26379 by default, db 0 by default);
        - ``redis+cluster://[[user]:password@]host[:port][,host[:port]...][/0][?option=value&...]``
          (port 6379 by default; a cluster has only database 0).

        Percent-encode reserved characters in the user, password and service name.
        """
        kind = _kind(url)
        if kind is None:
            raise _bad(url, "the scheme must be redis+sentinel:// or redis+cluster://")
        rest = url.split("://", 1)[1]
        if "#" in rest:
            raise _bad(url, "a fragment ('#') is not allowed")
        rest, _, query = rest.partition("?")
        netloc, slash, path = rest.partition("/")
        userinfo, at, hosts = netloc.rpartition("@")
        username = password = None
        if at:
            user, colon, secret = userinfo.partition(":")
            username = unquote(user) or None
            password = unquote(secret) if colon and secret else None
        nodes = tuple(_node(url, part, _DEFAULT_PORTS[kind]) for part in hosts.split(","))
        segments = path.split("/") if slash else []
        service: str | None = None
        db = 0
        if kind == "sentinel":
            if not segments or not segments[0]:
                raise _bad(url, "name the Sentinel service: redis+sentinel://host:26379/mymaster")
            service = unquote(segments[0])
            segments = segments[1:]
        if segments and segments[-1] == "":
            segments = segments[:-1]  # a trailing slash
        if len(segments) > 1:
            raise _bad(url, "too many path segments")
        if segments:
            if not _DIGITS.fullmatch(segments[0]):
                raise _bad(url, "the database must be a number")
            db = int(segments[0])
        if kind == "cluster" and db != 0:
            raise _bad(url, "a Redis Cluster has only database 0")
        return cls(kind, nodes, service, db, username, password, _options(url, kind, query))

    def option(self, name: str) -> Any:
        return dict(self.options).get(name)


_PREFIX = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")  # no {}: a hash tag puts every key on one slot


def _split_prefix(url: str) -> tuple[str, str | None]:
    """``url`` without its ``prefix`` option (redis-py would pass it on to the connection),
    and that option's value, if any. Every scheme takes it: ``redis://host/0?prefix=billing:``.
    """
    base, question, query = url.partition("?")
    if not question:
        return url, None
    kept, prefixes = [], []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote(name) == "prefix":
            prefixes.append(unquote(value))
        else:
            kept.append(part)
    if not prefixes:
        return url, None
    if len(prefixes) > 1 or not _PREFIX.fullmatch(prefixes[0]):
        raise _bad(url, "prefix must be given once, 1 to 64 of A-Z a-z 0-9 _ . : / -")
    return (base + "?" + "&".join(kept) if kept else base), prefixes[0]


def _kind(url: str) -> str | None:
    scheme = url.partition("://")[0].lower()
    return {"redis+sentinel": "sentinel", "redis+cluster": "cluster"}.get(scheme)


def _redacted(url: str) -> str:
    """``url`` without its user info and query (which may hold passwords)."""
    scheme, sep, rest = url.partition("://")
    rest = rest.partition("?")[0].partition("#")[0]
    netloc, slash, path = rest.partition("/")
    return scheme + sep + netloc.rpartition("@")[2] + slash + path


def _bad(url: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"replay store URL {_redacted(url)!r}: {why}", code=_E008)


def _node(url: str, part: str, default_port: int) -> tuple[str, int]:
    if part.startswith("["):  # [IPv6]:port
        host, bracket, rest = part.partition("]")
        host += bracket
        has_port, port = rest.startswith(":"), rest[1:]
        if rest and not has_port:
            raise _bad(url, f"bad host {part!r}")
    else:
        host, colon, port = part.partition(":")
        has_port = bool(colon)
    match = _HOST.fullmatch(host)
    if match is None:
        raise _bad(url, f"bad host {host!r}" if host else "a host is missing")
    if has_port and not (_DIGITS.fullmatch(port) and 0 < int(port) < 65536):
        raise _bad(url, f"bad port {port!r}")
    return (match.group(1) or match.group(2)), int(port) if has_port else default_port


def _options(url: str, kind: str, query: str) -> tuple[tuple[str, str | float], ...]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise _bad(url, "malformed query string") from None
    allowed = _OPTIONS[kind]
    found: dict[str, str | float] = {}
    for name, value in pairs:
        if name not in allowed:
            raise _bad(url, f"unknown option {name!r} (allowed: {', '.join(allowed)})")
        if name in found:
            raise _bad(url, f"option {name!r} given twice")
        if name in _TIMEOUT_OPTIONS:
            try:
                seconds = float(value)
            except ValueError:
                seconds = math.nan
            if not (math.isfinite(seconds) and 0 < seconds <= 3600):
                raise _bad(url, f"{name} must be a number of seconds above 0")
            found[name] = seconds
        else:
            found[name] = value
    return tuple(sorted(found.items()))


def _check_client(client: Any, *, asynchronous: bool) -> None:
    """Refuse at start-up a client that can never hold claims."""
    given = "async_client" if asynchronous else "client"
    if callable(getattr(client, "master_for", None)):
        raise ConfigurationError(
            f"{given}= is a Sentinel manager; pass sentinel.master_for('<service>') (a client "
            "that follows the master through failovers) or a redis+sentinel:// URL",
            code=_E008,
        )
    execute = getattr(client, "execute_command", None)
    if not callable(execute) or not callable(getattr(client, "set", None)):
        raise ConfigurationError(
            f"{given}= {type(client).__name__} is not a redis-py client", code=_E008
        )
    if inspect.iscoroutinefunction(execute) != asynchronous:
        kind = "an asyncio" if not asynchronous else "a sync"
        raise ConfigurationError(
            f"{given}= is {kind} client; pass sync clients (redis.Redis, redis.cluster."
            "RedisCluster) as client= and asyncio clients (redis.asyncio.Redis, "
            "redis.asyncio.cluster.RedisCluster) as async_client=",
            code=_E008,
        )
    if getattr(getattr(client, "connection_pool", None), "is_master", True) is False:
        raise ConfigurationError(
            f"{given}= comes from Sentinel.slave_for(): replicas refuse writes; use master_for()",
            code=_E008,
        )


def _is_cluster(client: Any) -> bool:
    return hasattr(client, "nodes_manager") and callable(getattr(client, "get_nodes", None))


def _policy(reply: Any) -> str | None:
    policy = reply.get("maxmemory-policy") if isinstance(reply, dict) else None
    if isinstance(policy, bytes):
        policy = policy.decode("ascii", "replace")
    return policy if isinstance(policy, str) else None


def _eviction_problem(policy: str | None, where: str = "") -> list[str]:
    if not policy or policy == "noeviction":
        return []
    return [
        f"Redis maxmemory-policy is {policy!r}{where}: when memory runs out Redis may evict "
        "replay keys, letting a replayed webhook through; use 'noeviction' (a full "
        "Redis then refuses writes and the guard answers 503)"
    ]


_pool_classes: dict[bool, type | None] = {}


def _blocking_sentinel_pool(redis: Any, *, asynchronous: bool) -> type | None:
    """A Sentinel connection pool that waits (at most its ``timeout``) for a free
    connection, as ``BlockingConnectionPool`` does for one node; None where redis-py's
    pools do not combine (sync, before redis-py 7.0: the blocking pool lacks the
    ``disconnect(inuse_connections=)`` a failover calls)."""
    if asynchronous not in _pool_classes:
        if asynchronous:
            base: Any = redis.asyncio.sentinel.SentinelConnectionPool
            blocking: Any = redis.asyncio.BlockingConnectionPool
        else:
            base, blocking = redis.sentinel.SentinelConnectionPool, redis.BlockingConnectionPool
        combines = "inuse_connections" in inspect.signature(blocking.disconnect).parameters
        _pool_classes[asynchronous] = (
            type("BlockingSentinelConnectionPool", (base, blocking), {}) if combines else None
        )
    return _pool_classes[asynchronous]


class RedisReplayStore:
    """Replay store shared through Redis (redis-py; sync client for WSGI, asyncio for ASGI).

    - One node: ``redis://host:6379/0`` (``rediss://`` for TLS, ``unix:///path?db=0``).
    - Sentinel: ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]``
      with options ``socket_timeout``, ``socket_connect_timeout``, ``sentinel_username``,
      ``sentinel_password``; the user and password are the data nodes', the
      ``sentinel_*`` options the Sentinels' own (when they have ``requirepass``).
    - Cluster: ``redis+cluster://[[user]:password@]host[:port][,host[:port]...]`` with
      options ``socket_timeout``, ``socket_connect_timeout``.
    - Every URL takes ``prefix`` (``redis://redis:6379/0?prefix=billing:``): the key
      prefix, for configuration that is only a URL (TOML, environment, Django settings).
    - Or a client you made: ``redis.Redis``, ``Sentinel(...).master_for(...)``,
      ``redis.cluster.RedisCluster`` as ``client=``; their ``redis.asyncio`` twins as
      ``async_client=``. A Sentinel manager itself, a ``slave_for`` client, or a client
      of the wrong kind is a ``ConfigurationError`` at start-up.

    Every error, timeout and failover error (``MasterNotFoundError``, ``ReadOnlyError``,
    ``ClusterDownError``, ...) raises ``StoreError``, so the guard answers 503.

    :param url: a URL as above; or pass ``client=``/``async_client=``.
    :param client: a sync redis-py client to use for sync calls.
    :param async_client: an asyncio redis-py client to use for async calls.
    :param prefix: prepended to every key (a URL's ``prefix`` option takes precedence).
        Replay keys are namespaced by route pattern: services (or environments) that
        share one Redis and receive the same provider's events on the same path need a
        prefix each, or the second service's deliveries are taken for duplicates.
    :param timeout: connect and socket timeout in seconds (a URL's ``socket_timeout`` and
        ``socket_connect_timeout`` options take precedence).
    :param max_connections: connection pool size per client (per node on a cluster); a
        request waits at most ``timeout`` for a free connection (on a cluster, and with a
        sync Sentinel client before redis-py 7.0, where redis-py has no waiting pool, it is
        refused with 503 instead).

    Example::

        Guard(routes, replay_store="redis+sentinel://:pw@sentinel-1,sentinel-2/mymaster/0")
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
        if client is not None:
            _check_client(client, asynchronous=False)
        if async_client is not None:
            _check_client(async_client, asynchronous=True)
        if url is not None:
            url, named = _split_prefix(url)
            prefix = named if named is not None else prefix
        self.url = url
        #: The parsed Sentinel or Cluster URL (None for ``redis://`` and for clients).
        self.topology = RedisTopology.parse(url) if url and _kind(url) else None
        #: Prepended to every key: services sharing one Redis need one each.
        self.prefix = prefix
        self.timeout = timeout
        self.max_connections = max_connections
        self._client = client
        self._async_client = async_client
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._client_lock = threading.Lock()
        exceptions = self._redis.exceptions
        # RedisClusterException (a slot not covered, no node reachable) is no RedisError.
        self._errors = (
            self._redis.RedisError,
            exceptions.RedisClusterException,
            OSError,
            asyncio.TimeoutError,
        )
        self._claims: dict[str, float] = {}  # key -> monotonic time of this process's claim
        self._set_get = True

    @classmethod
    def from_client(cls, client: Any, **options: Any) -> RedisReplayStore:
        """A store on ``client``, a sync or an asyncio redis-py client (told apart by its
        ``execute_command``): ``redis.Redis``, ``Sentinel.master_for(...)``,
        ``RedisCluster``, or their ``redis.asyncio`` twins, subclasses included."""
        if inspect.iscoroutinefunction(getattr(client, "execute_command", None)):
            return cls(async_client=client, **options)
        return cls(client=client, **options)

    # -- clients ----------------------------------------------------------------------

    def _timeouts(self) -> dict[str, float]:
        topology = self.topology
        found = dict.fromkeys(_TIMEOUT_OPTIONS, self.timeout)
        if topology is not None:
            for name in _TIMEOUT_OPTIONS:
                seconds = topology.option(name)
                if seconds is not None:
                    found[name] = float(seconds)
        return found

    def _from_url(self, module: Any) -> Any:
        # A blocking pool: a burst above max_connections waits (at most ``timeout``) for a
        # free connection instead of failing at once with "Too many connections" (→ 503).
        assert self.url is not None
        # One immediate retry on a connection error: a pooled connection that Redis (its
        # ``timeout``) or a proxy closed while it sat idle fails its next command at once.
        # Never on a timeout: a command that timed out may have been applied.
        pool = module.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry_on_timeout=False,
            retry=module.retry.Retry(self._redis.backoff.NoBackoff(), 1),
            retry_on_error=[self._redis.exceptions.ConnectionError],
        )
        client = module.Redis(connection_pool=pool)
        client.auto_close_connection_pool = True  # as from_url does: close() closes the pool
        return client

    def _sentinel(self, *, asynchronous: bool) -> Any:
        topology = self.topology
        assert topology is not None
        redis = self._redis
        module = redis.asyncio if asynchronous else redis
        timeouts = self._timeouts()
        login = {"username": topology.username, "password": topology.password}
        sentinel_login = {
            "username": topology.option("sentinel_username"),
            "password": topology.option("sentinel_password"),
        }
        # No retries towards a Sentinel: an unreachable one is skipped for the next at once.
        no_retry = module.retry.Retry(redis.backoff.NoBackoff(), 0)
        manager = module.sentinel.Sentinel(
            list(topology.nodes),
            sentinel_kwargs={**timeouts, **sentinel_login, "retry": no_retry},
            **timeouts,
            **login,
        )
        pool: dict[str, Any] = {"max_connections": self.max_connections}
        blocking = _blocking_sentinel_pool(redis, asynchronous=asynchronous)
        if blocking is not None:
            pool.update(connection_pool_class=blocking, timeout=self.timeout)
        return manager.master_for(topology.service, db=topology.db, **pool)

    def _cluster(self, *, asynchronous: bool) -> Any:
        topology = self.topology
        assert topology is not None
        redis = self._redis
        module = redis.asyncio.cluster if asynchronous else redis.cluster
        retry = (redis.asyncio.retry if asynchronous else redis.retry).Retry
        return module.RedisCluster(
            startup_nodes=[module.ClusterNode(host, port) for host, port in topology.nodes],
            username=topology.username,
            password=topology.password,
            max_connections=self.max_connections,
            # A node that is down costs one slot-map refresh, then 503 (not 10 retries).
            retry=retry(redis.backoff.NoBackoff(), 1),
            # Slots of a node that is down fail (503); the others keep working.
            require_full_coverage=False,
            **self._timeouts(),
        )

    def _make(self, *, asynchronous: bool) -> Any:
        kind = self.topology.kind if self.topology is not None else None
        if kind == "sentinel":
            return self._sentinel(asynchronous=asynchronous)
        if kind == "cluster":
            return self._cluster(asynchronous=asynchronous)
        return self._from_url(self._redis.asyncio if asynchronous else self._redis)

    def sync_client(self) -> Any:
        if self._client is None:
            if self.url is None:
                raise StoreError("this RedisReplayStore has only an async client")
            # One client for every thread (a cluster client connects while it is made).
            with self._client_lock:
                if self._client is None:
                    self._client = self._make(asynchronous=False)
        return self._client

    def async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._async_client is not None and (self.url is None or self._async_loop is loop):
            return self._async_client
        if self.url is None:
            raise StoreError("this RedisReplayStore has only a sync client")
        # asyncio connections belong to one event loop: one client per loop.
        self._async_client = self._make(asynchronous=True)
        self._async_loop = loop
        return self._async_client

    async def _ready_async_client(self) -> Any:
        """The asyncio client; a cluster client has found its nodes first. redis-py (8.1)
        lets a burst of first commands race its lazy discovery, which closes connections
        under them (each such request got 503); ``initialize()`` takes a lock and returns
        at once when already done."""
        client = self.async_client()
        if _is_cluster(client):
            await client.initialize()
        return client

    def ping(self) -> None:
        """Start-up check: raise ``StoreError`` unless Redis answers (on a cluster: every
        node; with Sentinel: the master the Sentinels name).

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
        """Configuration that can let a replay through or refuse every request, checked
        where the server allows it (``CONFIG`` and ``INFO`` are often disabled on managed
        Redis: then nothing is reported):

        - an eviction policy other than ``noeviction``: on the node; on every cluster node;
          on the Sentinel master and on each replica the Sentinels know (a replica becomes
          the master in a failover);
        - a ``redis://`` client on a replica (it refuses writes) or on a cluster node (keys
          of other nodes' slots answer ``MOVED``): use Sentinel or ``redis+cluster://``.
        """
        if self._client is None and self.url is None:
            return []
        try:
            client = self.sync_client()
        except self._errors:
            return []
        if _is_cluster(client):
            found = []
            for node in client.get_nodes():
                policy = self._ask(
                    lambda node=node: client.config_get("maxmemory-policy", target_nodes=node)
                )
                found += _eviction_problem(_policy(policy), f" on cluster node {node.name}")
            return found
        found = _eviction_problem(_policy(self._ask(lambda: client.config_get("maxmemory-policy"))))
        pool = getattr(client, "connection_pool", None)
        manager = getattr(pool, "sentinel_manager", None)
        if manager is not None:
            return found + self._replica_problems(pool, manager)
        replication = self._ask(lambda: client.info("replication")) or {}
        if replication.get("role") == "slave":
            found.append(
                "the Redis replay store is a replica: it refuses writes, so every guarded "
                "request gets 503; point it at the master, or use redis+sentinel:// or "
                "Sentinel.master_for() to follow failovers"
            )
        cluster = self._ask(lambda: client.info("cluster")) or {}
        if cluster.get("cluster_enabled") in (1, "1"):
            found.append(
                "the Redis replay store is a Redis Cluster node reached as a single node: "
                "keys in other nodes' slots get MOVED (503); use redis+cluster:// or a "
                "redis.cluster.RedisCluster client"
            )
        return found

    def _ask(self, question: Any) -> Any:
        try:
            return question()
        except self._errors:
            return None

    def _replica_problems(self, pool: Any, manager: Any) -> list[str]:
        """The eviction policy of each replica the Sentinels know (sync clients only)."""
        found: list[str] = []
        replicas = self._ask(lambda: manager.discover_slaves(pool.service_name)) or []
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if k != "connection_pool"}
        tls = issubclass(pool.connection_class, self._redis.SSLConnection)
        connection_class = self._redis.SSLConnection if tls else self._redis.Connection
        for host, port in replicas:
            replica = self._redis.Redis(
                connection_pool=self._redis.ConnectionPool(
                    connection_class=connection_class, **{**kwargs, "host": host, "port": port}
                )
            )
            try:
                policy = _policy(
                    self._ask(lambda replica=replica: replica.config_get("maxmemory-policy"))
                )
            finally:
                replica.connection_pool.disconnect()
            found += _eviction_problem(
                policy, f" on replica {host}:{port} (a failover makes it the master)"
            )
        return found

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
        # A client made with decode_responses=True answers text.
        return Claim.DONE if previous == _DONE or previous == "done" else Claim.IN_FLIGHT

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

    def _old_server(self, exc: Exception) -> None:
        """``SET ... NX GET`` refused: fall back to ``SET NX`` + ``GET`` only for a server
        that does not know the syntax (Redis < 7.0); any other refusal (a read-only
        replica after a failover, MOVED, OOM, CLUSTERDOWN) is a store error."""
        if "syntax error" not in str(exc).lower():
            raise exc
        self._set_get = False

    def claim(self, key: str, ttl: float) -> Claim:
        name, ms = self.prefix + key, max(1, int(ttl * 1000))
        try:
            client = self.sync_client()
            if self._set_get:
                try:
                    previous = client.set(name, _PENDING, nx=True, px=ms, get=True)
                except self._redis.ResponseError as exc:  # Redis < 7.0: no GET with NX
                    self._old_server(exc)
            if not self._set_get:
                claimed = client.set(name, _PENDING, nx=True, px=ms)
                previous = None if claimed else (client.get(name) or _PENDING)
            return self._opened(key, self._claimed(previous))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    def commit(self, key: str, ttl: float) -> None:
        ms = self._remaining_ms(key, ttl)
        if ms <= 0:  # kept long enough already: gone, unless another claim holds it now
            self.release(key)
            return
        try:
            self.sync_client().set(self.prefix + key, _DONE, xx=True, px=ms)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    def release(self, key: str) -> None:
        self._claims.pop(key, None)
        try:
            self.sync_client().eval(_RELEASE, 1, self.prefix + key, _PENDING)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    async def aclaim(self, key: str, ttl: float) -> Claim:
        name, ms = self.prefix + key, max(1, int(ttl * 1000))
        try:
            client = await self._ready_async_client()
            if self._set_get:
                try:
                    previous = await client.set(name, _PENDING, nx=True, px=ms, get=True)
                except self._redis.ResponseError as exc:
                    self._old_server(exc)
            if not self._set_get:
                claimed = await client.set(name, _PENDING, nx=True, px=ms)
                previous = None if claimed else (await client.get(name) or _PENDING)
            return self._opened(key, self._claimed(previous))
        except self._errors as exc:
            raise StoreError(f"Redis claim failed: {type(exc).__name__}") from exc

    async def acommit(self, key: str, ttl: float) -> None:
        ms = self._remaining_ms(key, ttl)
        if ms <= 0:
            await self.arelease(key)
            return
        try:
            await self.async_client().set(self.prefix + key, _DONE, xx=True, px=ms)
        except self._errors as exc:
            raise StoreError(f"Redis commit failed: {type(exc).__name__}") from exc

    async def arelease(self, key: str) -> None:
        self._claims.pop(key, None)
        try:
            await self.async_client().eval(_RELEASE, 1, self.prefix + key, _PENDING)
        except self._errors as exc:
            raise StoreError(f"Redis release failed: {type(exc).__name__}") from exc

    def __repr__(self) -> str:
        where = _redacted(self.url) if self.url else "client"
        return f"RedisReplayStore({where!r})"
