"""The public ``Guard``: routes + secrets + replay store, shared by the WSGI and ASGI adapters."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from webhook_guard._workers import several_processes
from webhook_guard.core.guard import DEFAULT_MAX_BODY, DEFAULT_REPLAY_TTL, Engine, Plan
from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.routes import Route, normalise_pattern, patterns_overlap
from webhook_guard.core.verdict import NOT_GUARDED, VERDICT_KEY, Reason, Verdict
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import KeySource, resolve
from webhook_guard.observability import (
    DecisionHook,
    log_decision,
    log_hook_failure,
    log_store_failure,
    warn_memory_store,
)
from webhook_guard.stores import Claim, MemoryReplayStore, ReplayStore, store_from_url

if TYPE_CHECKING:
    from webhook_guard._types import ASGIApp, WSGIApp
    from webhook_guard.asgi import ASGIWebhookGuard
    from webhook_guard.wsgi import WSGIWebhookGuard

__all__ = ("DEFAULT_BODY_TIMEOUT", "Guard", "get_verdict")

#: Seconds an ASGI request may take to deliver its whole body.
DEFAULT_BODY_TIMEOUT = 10.0


class Guard:
    """Signature verification in front of a web app's webhook endpoints.

    - Requests on no route pass through untouched, with no body read.
    - On a route, the body is buffered (bounded), verified, replay-checked, and either
      passed on with the same bytes and a ``Verdict`` under ``"webhook_guard.verdict"``,
      or answered with a JSON error and never shown to the app.
    - Configuration is checked here, at start-up: patterns, provider options, secrets.

    :param routes: the guarded routes.
    :param max_body: default body limit in bytes (1 MiB).
    :param body_timeout: seconds an ASGI body may take to arrive (408 after).
    :param replay_store: ``"memory"`` (default), ``"redis://host:6379/0"``, a store object,
        or ``None`` to disable replay protection.
    :param replay_ttl: seconds to remember deliveries of schemes without a timestamp.
    :param clock: wall-clock seconds; injected in tests.
    :param on_decision: called with each verdict and its duration (monitoring hook).
    :param on_verified: called with each verified verdict (user code; cannot change it).
    :param on_rejected: called with each rejected verdict (user code; cannot change it).
    :param duplicate_status: status acknowledging a duplicate of a processed delivery
        (200 by default, so the provider stops retrying; 409 on request).
    :param check_store: check at start-up that the replay store answers (Redis).
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
        max_body: int = DEFAULT_MAX_BODY,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        replay_store: Any = "memory",
        replay_ttl: float = DEFAULT_REPLAY_TTL,
        clock: Callable[[], float] = time.time,
        on_decision: DecisionHook | None = None,
        duplicate_status: int = 200,
        check_store: bool = True,
        trusted_proxies: Iterable[str] = (),
        on_verified: Callable[[Verdict], object] | None = None,
        on_rejected: Callable[[Verdict], object] | None = None,
    ) -> None:
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
            if route.unsigned:
                self._keys[route.pattern] = None
            else:
                assert route.provider is not None
                self._keys[route.pattern] = resolve(
                    route.provider.secret, route=route.pattern, clock=clock
                )
            checked.append(route)
        if max_body < 0 or body_timeout <= 0 or replay_ttl <= 0:
            raise ConfigurationError(
                "max_body must be >= 0, body_timeout and replay_ttl > 0", code="webhook_guard.E006"
            )
        if duplicate_status not in (200, 202, 204, 409):
            raise ConfigurationError(
                f"duplicate_status must be 200, 202, 204 or 409, not {duplicate_status}",
                code="webhook_guard.E006",
            )
        self.routes = tuple(checked)
        self._routes_by_pattern = {r.pattern: r for r in checked}
        self.duplicate_status = duplicate_status
        self.trusted_proxies = frozenset(trusted_proxies)
        self.engine = Engine(checked, max_body=max_body, replay_ttl=replay_ttl)
        self.body_timeout = float(body_timeout)
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
        self.store = _make_store(replay_store)
        if isinstance(self.store, MemoryReplayStore):
            why = several_processes()
            if why is not None:
                warn_memory_store(why)
        ping = getattr(self.store, "ping", None)
        if check_store and ping is not None:
            ping()

    # -- the request flow (used by the adapters) -----------------------------------------

    def plan(self, path: str) -> Plan | Verdict | None:
        """Which route guards ``path``: a ``Plan``, an immediate rejection, or None."""
        return self.engine.plan(path)

    def verify(self, plan: Plan, request: WebhookRequest) -> Verdict:
        """Verify ``request`` on ``plan``'s route with its current keys (no replay check)."""
        source = self._keys[plan.route.pattern]
        keys = source.current() if source is not None else None
        return self.engine.verify(plan, request, keys or _NO_KEYS, self.clock())

    def _settle(self, plan: Plan, verdict: Verdict, claim: Claim | None) -> Verdict:
        if claim is None:
            return self.engine.reject(plan, Reason.STORE_UNAVAILABLE, body=verdict.body)
        if claim is Claim.NEW:
            return verdict
        if claim is Claim.DONE:
            return replace(
                verdict, verified=False, reason=Reason.DUPLICATE, status=self.duplicate_status
            )
        return self.engine.reject(plan, Reason.REPLAYED, body=verdict.body)

    @staticmethod
    def _report(plan: Plan, verdict: Verdict) -> Verdict:
        if plan.route.report_only and not verdict.verified:
            return replace(verdict, report_only=True)
        return verdict

    def check(self, plan: Plan, request: WebhookRequest, started: float) -> Verdict:
        """Verify, claim the replay key (sync store), record. Never raises on request data."""
        verdict = self.verify(plan, request)
        if verdict.replay_key is not None and self.store is not None:
            try:
                claim: Claim | None = self.store.claim(verdict.replay_key, self._ttl(plan))
            except Exception:  # errors, timeouts, a full store: cannot prove freshness
                claim = None
            verdict = self._settle(plan, verdict, claim)
        verdict = self._report(plan, verdict)
        self.record(verdict, started, method=request.method)
        return verdict

    async def acheck(self, plan: Plan, request: WebhookRequest, started: float) -> Verdict:
        """``check`` with the store's async client (ASGI)."""
        verdict = self.verify(plan, request)
        if verdict.replay_key is not None and self.store is not None:
            try:
                claim: Claim | None = await self.store.aclaim(verdict.replay_key, self._ttl(plan))
            except Exception:
                claim = None
            verdict = self._settle(plan, verdict, claim)
        verdict = self._report(plan, verdict)
        self.record(verdict, started, method=request.method)
        return verdict

    def finish(self, verdict: Verdict, status: int | None) -> None:
        """The app answered ``status`` (None: it raised): commit or release the claim."""
        key = verdict.replay_key
        if key is None or self.store is None or not verdict.verified:
            return
        try:
            if status is not None and status < 500:
                self.store.commit(key, self._ttl_for(verdict))
            else:
                self.store.release(key)
        except Exception:
            log_store_failure(verdict)

    async def afinish(self, verdict: Verdict, status: int | None) -> None:
        """``finish`` with the store's async client (ASGI)."""
        key = verdict.replay_key
        if key is None or self.store is None or not verdict.verified:
            return
        try:
            if status is not None and status < 500:
                await self.store.acommit(key, self._ttl_for(verdict))
            else:
                await self.store.arelease(key)
        except Exception:
            log_store_failure(verdict)

    def _ttl(self, plan: Plan) -> float:
        return self.engine.replay_ttl(plan.route)

    def _ttl_for(self, verdict: Verdict) -> float:
        source = self._routes_by_pattern[verdict.route]
        return self.engine.replay_ttl(source)

    def refuse(
        self, plan: Plan | None, reason: Reason, started: float, *, method: str = ""
    ) -> Verdict:
        """A rejection decided before verification (size, framing, path, timeout)."""
        verdict = self.engine.reject(plan, reason)
        self.record(verdict, started, method=method)
        return verdict

    def record(self, verdict: Verdict, started: float, *, method: str = "") -> None:
        """Log the decision and call the hooks; a failing hook never changes the outcome."""
        duration = time.perf_counter() - started
        log_decision(verdict, duration, method=method)
        for hook in self._hooks:
            try:
                hook(verdict, duration)
            except Exception:
                log_hook_failure(verdict, hook)

    # -- wrapping apps ------------------------------------------------------------------

    def wsgi(self, app: WSGIApp) -> WSGIWebhookGuard:
        """Wrap a WSGI app: ``app.wsgi_app = guard.wsgi(app.wsgi_app)``."""
        from webhook_guard.wsgi import WSGIWebhookGuard

        return WSGIWebhookGuard(app, guard=self)

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
        from webhook_guard.config import from_env

        return cls.from_mapping(from_env(prefix), source="the environment", **overrides)

    def describe(self) -> list[dict[str, Any]]:
        """The routes as plain data: pattern, provider, options and key metadata (no secrets)."""
        out = []
        for route in self.routes:
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
                    "max_body": route.max_body or self.engine.default_max_body,
                    "report_only": route.report_only,
                    "unsigned": route.unsigned,
                }
            )
        return out


_NO_KEYS = KeySet(())


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
    if type(store).__module__.startswith("redis"):  # a redis-py client object
        from webhook_guard.stores.redis import RedisReplayStore

        if type(store).__module__.startswith("redis.asyncio"):
            return RedisReplayStore(async_client=store)
        return RedisReplayStore(client=store)
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
