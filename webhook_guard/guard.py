"""The public ``Guard``: routes + secrets + replay store, shared by the WSGI and ASGI adapters.

The decisions are made by the sans-IO ``core.guard.Engine``; this layer adds what needs
I/O or state: key sources, the clock, the replay store, logging and hooks. The adapters
(``wsgi.py``, ``asgi.py``, the Django middleware) only read and write requests.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from logging import INFO
from typing import TYPE_CHECKING, Any

from webhook_guard._workers import several_processes
from webhook_guard.core.guard import DEFAULT_MAX_BODY, DEFAULT_REPLAY_TTL, Claim, Engine, Plan
from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.routes import Route, normalise_pattern, patterns_overlap
from webhook_guard.core.verdict import NOT_GUARDED, VERDICT_KEY, Reason, Verdict
from webhook_guard.exceptions import ConfigurationError, StoreError
from webhook_guard.keysources import KeySource, bind_credentials, resolve
from webhook_guard.observability import (
    DecisionHook,
    decision_level,
    log_decision,
    log_hook_failure,
    log_store_down_at_start,
    log_store_failure,
    logger,
    warn_config,
    warn_memory_store,
)
from webhook_guard.stores import MemoryReplayStore, ReplayStore, store_from_url

if TYPE_CHECKING:
    from webhook_guard._types import ASGIApp, WSGIApp
    from webhook_guard.asgi import ASGIWebhookGuard
    from webhook_guard.wsgi import WSGIWebhookGuard

__all__ = ("DEFAULT_BODY_TIMEOUT", "DEFAULT_PROCESSING_TIMEOUT", "Guard", "get_verdict")

#: Seconds an ASGI request may take to deliver its whole body.
DEFAULT_BODY_TIMEOUT = 10.0
#: Seconds a delivery may stay in flight before its claim lapses (a crashed worker).
DEFAULT_PROCESSING_TIMEOUT = 300.0
_LOG_CACHE: dict[int, bool] = getattr(logger, "_cache", {})
#: Seconds the replay store is left alone after a failed claim (requests get 503 at once).
STORE_REST = 1.0
#: Seconds between two log records about the same failing store.
STORE_LOG_INTERVAL = 5.0


class Guard:
    """Signature verification in front of a web app's webhook endpoints.

    - Requests on no route pass through untouched, with no body read.
    - On a route, the body is buffered (bounded), verified, replay-checked, and either
      passed on with the same bytes and a ``Verdict`` under ``"webhook_guard.verdict"``,
      or answered with a JSON error and never shown to the app.
    - Each event is processed once: the replay key (the event's signed identity) is
      claimed before the app runs, committed when the app answers 2xx, and released
      otherwise so the provider's retry reaches the app.
    - Configuration is checked here, at start-up: patterns, provider options, secrets.
      A replay store that does not answer at start-up does not stop the host app: it is
      logged and warned about, guarded routes answer 503 until the store answers, and
      other routes are untouched.

    :param routes: the guarded routes.
    :param max_body: body limit in bytes of routes that set none. Default: the provider's
        largest documented payload (GitHub: 25 MB), else 1 MiB.
    :param body_timeout: seconds an ASGI body may take to arrive (408 after).
    :param replay_store: ``"memory"`` (default), ``"redis://host:6379/0"``, a store object,
        a redis-py client, or ``None`` to disable replay protection.
    :param replay_ttl: seconds to remember processed events of providers with neither a
        timestamp window nor a documented retry horizon (24 hours).
    :param processing_timeout: seconds a delivery may stay in flight. A claim that is
        neither committed nor released within it (a crashed worker) lapses, so the
        provider's retry is processed; copies arriving meanwhile get 409.
    :param clock: wall-clock seconds; injected in tests.
    :param on_decision: called with each verdict and its duration (monitoring hook).
    :param on_verified: called with each verified verdict (user code; cannot change it).
    :param on_rejected: called with each rejected verdict (user code; cannot change it).
    :param duplicate_status: status acknowledging a copy of a processed event (200 by
        default, so the provider stops retrying; 202, 204 or 409 on request).
    :param commit_client_errors: treat a 4xx answer from the app as "processed" too. Off
        by default: only 2xx commits, so an event the app refused (a 422, a 404 for an
        object not replicated yet, a 429) is processed when the provider retries it.
    :param check_store: check at start-up that the replay store answers. ``True``: on
        failure log an ERROR, warn, and start fail-closed (guarded routes answer 503
        with ``Retry-After`` until the store answers). ``"strict"``: raise ``StoreError``.
        ``False``: no check.
    :param trusted_proxies: peer addresses whose ``X-Forwarded-Proto``/``X-Forwarded-Host``
        are honoured when rebuilding the URL for URL-signed schemes. Empty by default:
        forwarded headers from anyone else are ignored (prefer a route's ``public_url``).

    Example::

        guard = Guard([Route("/hooks/github", github(secret="env:GH_SECRET"))])
        app.wsgi_app = guard.wsgi(app.wsgi_app)
    """

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        max_body: int | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        replay_store: Any = "memory",
        replay_ttl: float = DEFAULT_REPLAY_TTL,
        processing_timeout: float = DEFAULT_PROCESSING_TIMEOUT,
        clock: Callable[[], float] = time.time,
        on_decision: DecisionHook | None = None,
        duplicate_status: int = 200,
        commit_client_errors: bool = False,
        check_store: bool | str = True,
        trusted_proxies: Iterable[str] = (),
        on_verified: Callable[[Verdict], object] | None = None,
        on_rejected: Callable[[Verdict], object] | None = None,
    ) -> None:
        _check_numbers(max_body, body_timeout, replay_ttl, processing_timeout)
        if duplicate_status not in (200, 202, 204, 409):
            raise ConfigurationError(
                f"duplicate_status must be 200, 202, 204 or 409, not {duplicate_status}",
                code="webhook_guard.E006",
            )
        if check_store not in (True, False, "strict"):
            raise ConfigurationError(
                f"check_store must be True, False or 'strict', not {check_store!r}",
                code="webhook_guard.E006",
            )
        checked: list[Route] = []
        self._keys: dict[str, KeySource | None] = {}
        for route in routes:
            route = _check_route(route)
            for other in checked:
                if patterns_overlap(route.pattern, other.pattern):
                    raise ConfigurationError(
                        f"routes {other.pattern!r} and {route.pattern!r} overlap: a request"
                        " could match both",
                        code="webhook_guard.E007",
                    )
            if route.unsigned or route.provider is None:
                self._keys[route.pattern] = None
            else:
                source = resolve(route.provider.secret, route=route.pattern, clock=clock)
                source.validate(route.provider.check_secret)  # refreshed values too
                bind_credentials(route.provider, route=route.pattern, clock=clock)
                self._keys[route.pattern] = source
            checked.append(route)
        self.routes = tuple(checked)
        self.duplicate_status = duplicate_status
        self.trusted_proxies = frozenset(trusted_proxies)
        self.store = _make_store(replay_store)
        self.engine = Engine(
            checked,
            replay=self.store is not None,
            max_body=max_body,
            replay_ttl=replay_ttl,
            key_sources={p: _keys_of(s) for p, s in self._keys.items()},
            duplicate_status=duplicate_status,
            commit_client_errors=commit_client_errors,
        )
        #: ``match(path)``: the route and params for ``path``, ``DENY`` or None.
        self.match = self.engine.match
        self.settle = self.engine.settle
        self.body_timeout = float(body_timeout)
        self.processing_timeout = float(processing_timeout)
        self.clock = clock
        self.on_decision = on_decision
        self.on_verified = on_verified
        self.on_rejected = on_rejected
        self._hooks: tuple[DecisionHook, ...] = tuple(
            h
            for h in (
                on_decision,
                _only(lambda v: v.verified, on_verified),
                _only(lambda v: not v.passes, on_rejected),
            )
            if h is not None
        )
        #: The store answers without I/O (memory): its sync methods serve ASGI too.
        self._local_store = isinstance(self.store, MemoryReplayStore)
        self._store_down_until = 0.0
        self._store_logged = 0.0
        if self._local_store:
            why = several_processes()
            if why is not None:
                warn_memory_store(why)
        if check_store and self.store is not None:
            self._check_store(strict=check_store == "strict")

    def _check_store(self, *, strict: bool) -> None:
        ping = getattr(self.store, "ping", None)
        if ping is None:
            return
        try:
            ping()
        except StoreError as exc:
            if strict:
                raise
            log_store_down_at_start(self.store, exc)
            return
        for problem in getattr(self.store, "problems", lambda: ())():
            warn_config(f"webhook_guard: {problem}", event="webhook_guard.store_config")

    # -- the request flow (used by the adapters; see ``core.guard`` for each step) -------

    def plan(
        self,
        found: Any,
        *,
        content_length: Sequence[str] = (),
        transfer_encoding: str | None = None,
        terminated: bool = False,
    ) -> Plan:
        """How to read a request that ``match`` found: a ``Plan`` (with its refusal, if any)."""
        return self.engine.plan(
            found,
            content_length=content_length,
            transfer_encoding=transfer_encoding,
            terminated=terminated,
        )

    def verify(self, plan: Plan, request: WebhookRequest) -> Verdict:
        """Verify ``request`` on ``plan``'s route with its current keys (no replay claim)."""
        keys = plan.target.keys  # type: ignore[union-attr]
        if not isinstance(keys, KeySet):  # a refreshed source, or an unsigned route
            keys = keys() if keys is not None else _NO_KEYS
        return self.engine.verify(plan, request, keys, self.clock())

    def claim(self, verdict: Verdict) -> Claim | None:
        """Claim ``verdict``'s replay key (sync store): a ``Claim``, or None when the store
        cannot answer (the request is then refused with 503)."""
        store = self.store
        if store is None or (self._store_down_until and self._store_resting()):
            return None
        try:
            claim = store.claim(verdict.replay_key, self.processing_timeout)  # type: ignore[arg-type]
            return claim if claim.__class__ is Claim else Claim(claim)
        except Exception as exc:  # errors, timeouts, a full store: cannot prove freshness
            self._store_failed(verdict, exc, "claim")
            return None

    async def aclaim(self, verdict: Verdict) -> Claim | None:
        """``claim`` with the store's async client (ASGI)."""
        store = self.store
        if store is None or (self._store_down_until and self._store_resting()):
            return None
        try:
            if self._local_store:
                claim = store.claim(verdict.replay_key, self.processing_timeout)  # type: ignore[arg-type]
            else:
                claim = await store.aclaim(verdict.replay_key, self.processing_timeout)  # type: ignore[arg-type]
            return claim if claim.__class__ is Claim else Claim(claim)
        except Exception as exc:
            self._store_failed(verdict, exc, "claim")
            return None

    def finish(self, plan: Plan, verdict: Verdict, status: int | None) -> None:
        """The app answered ``status`` (None: it raised or never answered): commit the
        claim on 2xx, else release it so the provider's retry is processed."""
        key = verdict.replay_key
        store = self.store
        if key is None or store is None or not verdict.verified:
            return
        try:
            # 2xx, the usual answer, decided without a call; commits() has the whole rule.
            if (status is not None and 200 <= status < 300) or self.engine.commits(status):
                store.commit(key, plan.target.ttl)  # type: ignore[union-attr]
            else:
                store.release(key)
        except Exception as exc:
            self._store_failed(verdict, exc, "settle")

    async def afinish(self, plan: Plan, verdict: Verdict, status: int | None) -> None:
        """``finish`` with the store's async client (ASGI). The store is written to the end
        even when the caller is cancelled meanwhile (a client gone, a timeout middleware's
        cancel scope): in a task of its own, which the caller awaits shielded."""
        key = verdict.replay_key
        store = self.store
        if key is None or store is None or not verdict.verified:
            return
        if self._local_store:
            self.finish(plan, verdict, status)
            return
        settling = self._asettle(store, key, plan, verdict, status)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): awaited as it comes
            await settling
            return
        await asyncio.shield(run_detached(loop, settling))

    async def _asettle(
        self, store: ReplayStore, key: str, plan: Plan, verdict: Verdict, status: int | None
    ) -> None:
        try:
            if self.engine.commits(status):
                await store.acommit(key, plan.target.ttl)  # type: ignore[union-attr]
            else:
                await store.arelease(key)
        except Exception as exc:
            self._store_failed(verdict, exc, "settle")

    def _store_resting(self) -> bool:
        # After a failure the store is not asked again for STORE_REST seconds: a request
        # gets its 503 at once instead of waiting for another connect timeout.
        if time.monotonic() < self._store_down_until:
            return True
        self._store_down_until = 0.0  # rested: ask the store again
        return False

    def _store_failed(self, verdict: Verdict, exc: BaseException, step: str) -> None:
        now = time.monotonic()
        if step == "claim":
            self._store_down_until = now + STORE_REST
        if now - self._store_logged >= STORE_LOG_INTERVAL:
            self._store_logged = now
            log_store_failure(verdict, exc, step)

    def refuse(self, plan: Plan, reason: Reason) -> Verdict:
        """A refusal decided while reading the body (size, timeout, incomplete)."""
        return self.engine.refuse(plan, reason)

    def record(self, verdict: Verdict, started: float, method: str = "") -> None:
        """Log the decision and call the hooks; a failing hook never changes the outcome.
        Costs nothing when no hook is set and the logger is not enabled."""
        hooks = self._hooks
        level = INFO if verdict[0] else decision_level(verdict)
        # The logger's own cache of its answers (cleared by logging whenever a level
        # changes): a dict lookup instead of a call, on every request.
        enabled = _LOG_CACHE.get(level)
        if enabled is None:
            enabled = logger.isEnabledFor(level)
        if not hooks and not enabled:
            return
        duration = time.perf_counter() - started
        log_decision(verdict, duration, method=method)
        for hook in hooks:
            try:
                hook(verdict, duration)
            except Exception:
                log_hook_failure(verdict, hook)

    def replay_ttl(self, route: Route | str) -> float:
        """Seconds a processed event's replay key is kept on ``route`` (or its pattern)."""
        pattern = route if isinstance(route, str) else route.pattern
        for target in self.engine.targets:
            if target.pattern == pattern:
                return target.ttl
        raise KeyError(pattern)

    # -- wrapping apps ------------------------------------------------------------------

    def wsgi(self, app: WSGIApp) -> WSGIWebhookGuard:
        """Wrap a WSGI app: ``app.wsgi_app = guard.wsgi(app.wsgi_app)``."""
        from webhook_guard.wsgi import WSGIWebhookGuard

        return WSGIWebhookGuard(app, guard=self)  # holds no logic: the adapter does I/O

    def asgi(self, app: ASGIApp) -> ASGIWebhookGuard:
        """Wrap an ASGI app: ``app = guard.asgi(app)``."""
        from webhook_guard.asgi import ASGIWebhookGuard

        return ASGIWebhookGuard(app, guard=self)

    # -- configuration front ends -------------------------------------------------------

    @classmethod
    def from_mapping(
        cls, config: Mapping[str, Any], *, source: str = "", **overrides: Any
    ) -> Guard:
        """Build a guard from a mapping (see ``webhook_guard.config`` for the schema)."""
        from webhook_guard.config import guard_kwargs

        return cls(**{**guard_kwargs(config, source=source), **overrides})

    @classmethod
    def from_file(cls, path: str, **overrides: Any) -> Guard:
        """Build a guard from a TOML file (literal secrets in it are warned about)."""
        from webhook_guard.config import load_toml

        return cls.from_mapping(load_toml(path), source=path, **overrides)

    @classmethod
    def from_env(cls, prefix: str = "WEBHOOK_GUARD_", **overrides: Any) -> Guard:
        """Build a guard from environment variables (``WEBHOOK_GUARD_ROUTES__0__PATH=...``)."""
        from webhook_guard.config import ENVIRONMENT, from_env

        return cls.from_mapping(from_env(prefix), source=ENVIRONMENT, **overrides)

    def describe(self) -> list[dict[str, Any]]:
        """The routes as plain data: pattern, provider, options, limits and key metadata
        (no secrets)."""
        out = []
        for target in self.engine.targets:
            route = target.route
            source = self._keys[route.pattern]
            keys = source.current() if source is not None else ()
            out.append(
                {
                    "route": route.pattern,
                    "provider": route.provider_name,
                    "options": route.provider.describe() if route.provider is not None else {},
                    "keys": [
                        {
                            "id": k.key_id,
                            "created": k.created,
                            "not_before": k.not_before,
                            "not_after": k.not_after,
                        }
                        for k in keys
                    ],
                    "max_body": target.max_body,
                    "replay_ttl": target.ttl,
                    "report_only": route.report_only,
                    "unsigned": route.unsigned,
                }
            )
        return out

    def check_store_mode(self, *, asynchronous: bool) -> None:
        """Warn when the replay store cannot serve this adapter (a sync-only redis client
        behind ``.asgi()``, an asyncio-only one behind ``.wsgi()``): every guarded request
        would get 503."""
        usable = getattr(self.store, "usable", None)
        if usable is not None and not usable(asynchronous=asynchronous):
            kind, other = ("asyncio", "sync") if asynchronous else ("sync", "asyncio")
            warn_config(
                f"webhook_guard: the replay store has no {kind} Redis client, but the guard "
                f"wraps an {'ASGI' if asynchronous else 'WSGI'} app: every guarded request "
                f"will be refused with 503. Pass a redis:// URL, or a {kind} client "
                f"instead of the {other} one.",
                event="webhook_guard.store_mode",
                stacklevel=4,
            )


_NO_KEYS = KeySet(())
#: Settlements running in tasks of their own (``Guard.afinish``), until they are done.
_SETTLING: set[asyncio.Task[None]] = set()


def run_detached(
    loop: asyncio.AbstractEventLoop, settling: Coroutine[Any, Any, None]
) -> asyncio.Task[None]:
    """``settling`` in a task of its own on ``loop``, referenced until it is done (the
    loop keeps only weak references): a caller's cancellation does not stop it."""
    task = loop.create_task(settling)
    _SETTLING.add(task)
    task.add_done_callback(_SETTLING.discard)
    return task


def _keys_of(source: KeySource | None) -> KeySet | Callable[[], KeySet] | None:
    """A route's keys for the engine: the set itself when it never changes (no call per
    request), else the source's ``current``."""
    if source is None:
        return None
    static = source.static_keys
    return static if static is not None else source.current


def _check_numbers(
    max_body: int | None, body_timeout: float, replay_ttl: float, processing_timeout: float
) -> None:
    numbers = {
        "max_body": DEFAULT_MAX_BODY if max_body is None else max_body,
        "body_timeout": body_timeout,
        "replay_ttl": replay_ttl,
        "processing_timeout": processing_timeout,
    }
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int if name == "max_body" else (int, float)):
            raise ConfigurationError(
                f"{name} must be a number, not {type(value).__name__}", code="webhook_guard.E006"
            )
    # Written so that NaN fails (it compares false with everything) and infinity too: a
    # NaN replay_ttl kept no key at all, an infinite body_timeout set no deadline.
    seconds = (body_timeout, replay_ttl, processing_timeout)
    if (max_body is not None and max_body < 0) or not all(0 < v < math.inf for v in seconds):
        raise ConfigurationError(
            "max_body must be >= 0; body_timeout, replay_ttl and processing_timeout finite"
            " numbers > 0",
            code="webhook_guard.E006",
        )


def _check_route(route: Route) -> Route:
    if not isinstance(route, Route):
        raise ConfigurationError(f"expected a Route, got {route!r}", code="webhook_guard.E006")
    try:
        pattern = normalise_pattern(route.pattern)
    except ValueError as exc:
        raise ConfigurationError(str(exc), code="webhook_guard.E006") from None
    if not route.unsigned and route.provider is None:
        raise ConfigurationError(
            f"route {pattern!r} has no provider; mark it unsigned=True to accept unsigned requests",
            code="webhook_guard.E003",
        )
    if route.max_body is not None and route.max_body < 0:
        raise ConfigurationError(
            f"route {pattern!r}: max_body must be >= 0", code="webhook_guard.E006"
        )
    ttl: object = route.replay_ttl
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl < math.inf
    ):
        # 0 or less (or NaN) would keep no replay key at all on routes without a timestamp
        # window: every copy of a delivery would be processed again. Redis cannot keep a
        # key for ever (an infinite TTL failed every commit).
        raise ConfigurationError(
            f"route {pattern!r}: replay_ttl must be a finite number > 0",
            code="webhook_guard.E006",
        )
    if route.status is not None and not 400 <= route.status <= 499:
        raise ConfigurationError(
            f"route {pattern!r}: status must be a 4xx code, not {route.status}",
            code="webhook_guard.E006",
        )
    if route.provider is not None:
        route.provider.validate()
    if route.public_url is not None and not route.public_url.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"route {pattern!r}: public_url must be an absolute http(s) URL",
            code="webhook_guard.E006",
        )
    return route if pattern == route.pattern else replace(route, pattern=pattern)


def _only(
    when: Callable[[Verdict], bool], hook: Callable[[Verdict], object] | None
) -> DecisionHook | None:
    if hook is None:
        return None

    def call(verdict: Verdict, duration: float) -> None:
        if when(verdict):
            hook(verdict)

    call.__qualname__ = getattr(hook, "__qualname__", "hook")
    return call


def _make_store(store: Any) -> ReplayStore | None:
    if store is None:
        return None
    if isinstance(store, str):
        return store_from_url(store)
    if any(c.__module__.partition(".")[0] == "redis" for c in type(store).__mro__):
        from webhook_guard.stores.redis import RedisReplayStore  # a redis-py client object

        return RedisReplayStore.from_client(store)
    if not isinstance(store, ReplayStore):
        raise ConfigurationError(
            f"replay_store {store!r} does not implement the ReplayStore interface",
            code="webhook_guard.E008",
        )
    return store


def get_verdict(source: Any) -> Verdict:
    """The verdict for a request: from a WSGI environ, an ASGI scope, or a Flask/Werkzeug,
    Starlette/FastAPI or Django request. Outside a guarded route: not verified.
    """
    for mapping in _candidate_mappings(source):
        verdict = mapping.get(VERDICT_KEY)
        if isinstance(verdict, Verdict):
            return verdict
    return NOT_GUARDED


def _candidate_mappings(source: Any) -> list[Mapping[str, Any]]:
    if isinstance(source, Mapping):
        return [source]
    found = []
    for attr in ("scope", "environ", "META"):  # Starlette/Django ASGI, Werkzeug, Django
        value = getattr(source, attr, None)
        if isinstance(value, Mapping):
            found.append(value)
    return found
