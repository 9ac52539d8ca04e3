"""The sans-IO decision engine: which route, how to read the body, the verdict, the claim.

One flow for every adapter (WSGI, ASGI, Django), each step a function of values:

1. ``Engine.match(path)``: the route (``Target``) and its parameters, ``DENY`` for a
   disguised variant of a guarded path, or None (pass through untouched).
2. ``Engine.plan(found, ...)``: how to read the body (exact length, to the end, or a
   refusal decided from the framing headers and the route's limit).
3. ``Engine.verify(plan, request, keys, now)``: the verdict before replay protection;
   a verified verdict carries the replay key to claim.
4. ``Engine.settle(plan, verdict, claim)``: the final verdict from the store's answer
   (``Claim`` or None when the store failed).
5. ``Engine.commits(status)``: whether the app's answer commits the claim (2xx) or
   releases it, so the provider's retry is processed.

Everything that does not depend on the request is computed once per route, in ``Target``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import blake2s
from types import MappingProxyType
from typing import Any, NamedTuple

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.routes import DENY, Route, RouteTable
from webhook_guard.core.scheme import Check, json_event_id
from webhook_guard.core.verdict import Reason, Verdict, make_verdict

__all__ = (
    "CLAIM_DONE",
    "CLAIM_IN_FLIGHT",
    "CLAIM_NEW",
    "Claim",
    "DEFAULT_MAX_BODY",
    "DEFAULT_REPLAY_TTL",
    "KEY_VERSION",
    "READ_TO_END",
    "REPLAY_MARGIN",
    "Engine",
    "Plan",
    "Target",
    "body_framing",
)

#: Default body limit per route: 1 MiB.
DEFAULT_MAX_BODY = 1024 * 1024
#: Default replay memory for providers with neither a timestamp nor a documented retry
#: horizon (SeaTable, Gitea, ...): 24 hours.
DEFAULT_REPLAY_TTL = 24 * 3600.0
#: Added to a timestamped scheme's window so a key outlives every acceptable request.
REPLAY_MARGIN = 60.0
#: The replay-key namespace version. Bumped when key derivation changes: keys of events
#: in flight during a rolling deploy then differ between old and new workers.
KEY_VERSION = b"wg2"
#: ``body_framing``: no declared length; read until the server signals the end.
READ_TO_END = -1


class Claim(str, enum.Enum):
    """A replay store's answer to a claim (see ``webhook_guard.stores``)."""

    NEW = "new"
    IN_FLIGHT = "in_flight"
    DONE = "done"


CLAIM_NEW = Claim.NEW
CLAIM_IN_FLIGHT = Claim.IN_FLIGHT
CLAIM_DONE = Claim.DONE

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_MAX_LENGTH_DIGITS = 18
_new_plan = tuple.__new__
_INTERNAL = Check(Reason.INTERNAL_ERROR)
_VERIFIED = Reason.VERIFIED  # a module global: an enum attribute lookup costs ~0.15 µs
_UNSIGNED = Reason.UNSIGNED


def body_framing(
    content_length: Sequence[str],
    transfer_encoding: str | None,
    *,
    limit: int,
    terminated: bool,
) -> int | Reason:
    """How to read a guarded request's body, decided once for every adapter.

    Returns the exact number of bytes to read, ``READ_TO_END`` (the server frames the
    body: chunked WSGI input marked ``wsgi.input_terminated``, or ASGI), or the refusal:

    - ``Content-Length`` with ``Transfer-Encoding``, a repeated ``Content-Length`` or one
      that is not plain ASCII digits: 400 ``bad_request`` (RFC 9112 section 6.3 calls
      the first a request-smuggling vector: two parsers may frame the body differently);
    - a declared length above ``limit``: 413, before anything is read;
    - ``Transfer-Encoding`` where the server does not frame the body: 411.

    :param content_length: every non-empty ``Content-Length`` value received (WSGI: at
        most one; servers join repeated ones with ``,``).
    :param transfer_encoding: the ``Transfer-Encoding`` header, if any.
    :param terminated: whether the server signals the end of the body itself.
    """
    if content_length:
        if transfer_encoding is not None or len(content_length) > 1:
            return Reason.BAD_REQUEST
        declared = content_length[0]
        if len(declared) > _MAX_LENGTH_DIGITS or not (declared.isascii() and declared.isdigit()):
            return Reason.BAD_REQUEST
        length = int(declared)
        return Reason.BODY_TOO_LARGE if length > limit else length
    if terminated:
        return READ_TO_END
    return 0 if transfer_encoding is None else Reason.LENGTH_REQUIRED


class Target:
    """A route compiled for the request path: everything that does not depend on the
    request, decided once at start-up.

    :param route: the configured route.
    :param max_body: the body limit that applies.
    :param ttl: seconds a processed event's replay key is kept: the provider's retry
        horizon, and at least the timestamp window plus a margin.
    :param replay: derive replay keys (a replay store exists and the route wants them).
    :param keys: the route's keys: a ``KeySet`` when they never change, else a callable
        returning the current ones (the guard's key source); None for an unsigned route.
        The engine never calls it: the caller passes the keys in.
    """

    __slots__ = (
        "body_signed",
        "event_id",
        "keys",
        "max_body",
        "namespace",
        "pattern",
        "provider",
        "refusals",
        "replay",
        "report_only",
        "route",
        "scheme",
        "ttl",
        "unsigned",
    )

    def __init__(
        self,
        route: Route,
        *,
        max_body: int,
        ttl: float,
        keys: KeySet | Callable[[], KeySet] | None = None,
        replay: bool = True,
    ) -> None:
        self.route = route
        self.pattern = route.pattern
        self.scheme = route.provider
        self.provider = route.provider_name
        self.unsigned = route.unsigned or route.provider is None
        self.max_body = max_body
        self.ttl = ttl
        self.keys = keys
        self.replay = replay and route.replay  # no store: no key to compute
        self.report_only = route.report_only
        scheme = self.scheme
        self.body_signed = bool(scheme is not None and scheme.body_signed)
        self.event_id = scheme.event_id if scheme is not None and scheme.body_signed else None
        self.namespace = KEY_VERSION + b"\x00" + route.pattern.encode("utf-8") + b"\x00"
        self.refusals: dict[Reason, Verdict] = {reason: self._refusal(reason) for reason in Reason}

    def _refusal(self, reason: Reason) -> Verdict:
        scheme = self.scheme
        status = reason.status
        if reason.is_auth_failure:  # the route's status, else the provider's, else 401
            chosen = self.route.status
            if chosen is None and scheme is not None:
                default = scheme.refusal_status  # by reason for AWS SNS (no_active_key: 503)
                chosen = default.get(reason) if isinstance(default, Mapping) else default
            status = status if chosen is None else chosen
        return Verdict(
            verified=False,
            reason=reason,
            status=status,
            provider=self.provider,
            route=self.pattern,
            body_signed=self.body_signed,
            empty_refusal=bool(
                scheme is not None and not scheme.refusal_body and reason.is_auth_failure
            ),
        )

    def refuse(
        self,
        reason: Reason,
        params: Mapping[str, str] = _EMPTY,
        body: bytes = b"",
        *,
        report_only: bool = False,
    ) -> Verdict:
        """The refusal for ``reason`` on this route (with the request's params and body;
        ``report_only``: passed on by a report-only route)."""
        verdict = self.refusals[reason]
        if params or body or report_only:
            verdict = make_verdict(
                (*verdict[:5], params, *verdict[6:12], report_only, verdict[13], body, None)
            )
        return verdict

    def __repr__(self) -> str:
        return f"<Target {self.pattern!r} {self.provider}>"


class Plan(NamedTuple):
    """A guarded request before its body is read.

    :param target: the matched route (None for a disguised path).
    :param params: values of the route's ``{param}`` segments.
    :param length: bytes to read, or ``READ_TO_END``.
    :param refusal: the answer when the request is refused before reading (bad path,
        framing, size), else None.
    """

    target: Target | None
    params: Mapping[str, str]
    length: int
    refusal: Verdict | None

    @property
    def max_body(self) -> int:
        return self.target.max_body if self.target is not None else 0


#: The refusal of a disguised variant of a guarded path (no route is named).
BAD_PATH = Verdict(verified=False, reason=Reason.BAD_PATH, status=Reason.BAD_PATH.status)
_BAD_PATH_PLAN = Plan(None, _EMPTY, 0, BAD_PATH)


class Engine:
    """Route matching, framing, verification and settling, over values only.

    :param routes: the routes, already validated.
    :param max_body: the body limit of routes that set none (None: each provider's largest
        documented payload, ``Scheme.max_body``, else ``DEFAULT_MAX_BODY``).
    :param replay_ttl: the default replay memory for schemes with neither a window nor
        a retry horizon.
    :param key_sources: each route's key source (by pattern), stored on its ``Target``.
    :param duplicate_status: the status acknowledging a copy of a processed event.
    :param commit_client_errors: count a 4xx answer from the app as processed (off: only
        2xx commits, so the provider's retry reaches the app).
    :param replay: whether there is a replay store (without one no replay key is derived).
    """

    __slots__ = (
        "commit_client_errors",
        "default_max_body",
        "default_replay_ttl",
        "duplicate_status",
        "match",
        "table",
        "targets",
    )

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        max_body: int | None = None,
        replay_ttl: float = DEFAULT_REPLAY_TTL,
        key_sources: Mapping[str, KeySet | Callable[[], KeySet] | None] | None = None,
        duplicate_status: int = 200,
        commit_client_errors: bool = False,
        replay: bool = True,
    ) -> None:
        self.default_max_body = max_body
        self.default_replay_ttl = replay_ttl
        self.duplicate_status = duplicate_status
        self.commit_client_errors = commit_client_errors
        sources = key_sources or {}
        self.targets = tuple(
            Target(
                route,
                max_body=self.max_body(route),
                ttl=self.replay_ttl(route),
                keys=sources.get(route.pattern),
                replay=replay,
            )
            for route in routes
        )
        self.table: RouteTable[Target] = RouteTable(self.targets)
        #: ``match(path)``: ``(target, params)``, ``DENY`` or None. Kept as a bound method
        #: so an adapter's unmatched path costs one call.
        self.match = self.table.match

    # -- 1, 2: route and framing ------------------------------------------------------------

    def plan(
        self,
        found: tuple[Target, Mapping[str, str]] | object,
        content_length: Sequence[str] = (),
        transfer_encoding: str | None = None,
        terminated: bool = False,  # noqa: FBT001, FBT002 - positional on the hot path
    ) -> Plan:
        """How to read a request ``match`` found (not None): the framing policy of
        ``body_framing`` under the route's limit."""
        if found is DENY:
            return _BAD_PATH_PLAN
        target, params = found  # type: ignore[misc]
        if transfer_encoding is None and len(content_length) == 1:
            # The usual request, decided as body_framing would without the call.
            declared = content_length[0]
            if declared.isdigit() and declared.isascii() and len(declared) <= _MAX_LENGTH_DIGITS:
                length = int(declared)
                if length <= target.max_body:
                    return _new_plan(Plan, (target, params, length, None))
        framing = body_framing(
            content_length, transfer_encoding, limit=target.max_body, terminated=terminated
        )
        if isinstance(framing, Reason):
            return Plan(target, params, 0, target.refuse(framing, params))
        return Plan(target, params, framing, None)

    def refuse(self, plan: Plan, reason: Reason) -> Verdict:
        """A refusal decided while reading the body (size, timeout, incomplete)."""
        target = plan.target
        if target is None:
            return BAD_PATH
        return target.refuse(reason, plan.params)

    # -- 3: verification ----------------------------------------------------------------

    def verify(self, plan: Plan, request: WebhookRequest, keys: KeySet, now: float) -> Verdict:
        """Verify ``request`` on ``plan``'s route. Never raises on request data.

        A verified verdict carries the replay key: the event's identity (its signed id,
        else the identity of the signed message), namespaced by route and key version.
        Report-only routes turn an authentication failure into a passing, unverified
        verdict with ``report_only=True``.
        """
        target: Target = plan.target  # type: ignore[assignment]
        params = plan.params
        body = request.body
        if target.unsigned:
            return make_verdict(
                (False, _UNSIGNED, 200, target.provider, target.pattern, params, None,
                 False, None, None, None, _EMPTY, False, False, body, None)
            )  # fmt: skip
        if keys.windowed:
            keys = keys.active(now)
        if not keys:
            return self._failed(target, Reason.NO_ACTIVE_KEY, params, body)
        try:
            check = target.scheme.check(request, keys, now)  # type: ignore[union-attr]
        except Exception:  # a scheme bug must fail closed, never pass the request
            check = _INTERNAL
        if check[0] is not _VERIFIED:
            return self._failed(target, check[0], params, body)
        _, key_id, material, timestamp, message_id, details, response = check
        if message_id is None and target.event_id is not None and response is None:
            message_id = json_event_id(body, target.event_id)
            if message_id is not None:
                material = b"id:" + message_id.encode("ascii")
        replay_key = None
        if material is not None and target.replay and response is None:
            replay_key = blake2s(target.namespace + material, digest_size=20).hexdigest()
        return make_verdict(
            (True, _VERIFIED, 200, target.provider, target.pattern, params, key_id,
             target.body_signed, message_id, timestamp, replay_key, details, False, False,
             body, response)
        )  # fmt: skip

    @staticmethod
    def _failed(target: Target, reason: Reason, params: Mapping[str, str], body: bytes) -> Verdict:
        return target.refuse(reason, params, body, report_only=target.report_only)

    # -- 4, 5: the replay claim ---------------------------------------------------------

    def settle(self, plan: Plan, verdict: Verdict, claim: Claim | None) -> Verdict:
        """The final verdict once the store answered ``claim`` for ``verdict.replay_key``
        (None: the store failed, so freshness cannot be proved: 503)."""
        if claim is CLAIM_NEW:
            return verdict
        target: Target = plan.target  # type: ignore[assignment]
        reported = target.report_only  # a report-only route passes these on, marked
        if claim is CLAIM_DONE:  # the provider's retry of a processed event: acknowledge it
            return make_verdict(
                (False, Reason.DUPLICATE, self.duplicate_status, *verdict[3:12], reported,
                 *verdict[13:])
            )  # fmt: skip
        reason = Reason.REPLAYED if claim is CLAIM_IN_FLIGHT else Reason.STORE_UNAVAILABLE
        return target.refuse(reason, plan.params, verdict.body, report_only=reported)

    def commits(self, status: int | None) -> bool:
        """Whether the app's answer ``status`` (None: it raised, or the client left before
        it answered) commits the claim; otherwise it is released for the provider's retry."""
        if status is None:
            return False
        return 200 <= status < 300 or (self.commit_client_errors and 400 <= status < 500)

    # -- per-route values ---------------------------------------------------------------

    def max_body(self, route: Route) -> int:
        """The body limit on ``route``: its own ``max_body``, else the guard's explicit
        one, else the provider's largest documented payload (GitHub: 25 MB), else
        ``DEFAULT_MAX_BODY``."""
        if route.max_body is not None:
            return route.max_body
        if self.default_max_body is not None:
            return self.default_max_body
        documented = route.provider.max_body if route.provider is not None else None
        return documented if documented is not None else DEFAULT_MAX_BODY

    def replay_ttl(self, route: Route) -> float:
        """Seconds a processed event's replay key is kept on ``route``.

        - The route's ``replay_ttl`` when set, else the provider's retry horizon (so its
          retries are recognised as duplicates).
        - Never less than a timestamped scheme's window plus ``REPLAY_MARGIN`` (a key
          must outlive every request that can still be accepted).
        - Without a window, never less than the guard's ``replay_ttl``: the key is then
          the only thing that stops a captured request from being replayed.
        """
        scheme = route.provider
        window = scheme.replay_ttl() if scheme is not None else None
        floor = window + REPLAY_MARGIN if window is not None else 0.0
        if route.replay_ttl is not None:
            return max(route.replay_ttl, floor)
        horizon = scheme.retry_horizon if scheme is not None else None
        if window is None:
            floor = self.default_replay_ttl
        return max(horizon or 0.0, floor)
