"""The sans-IO decision engine: which route, how much body, and the verdict.

``Engine.plan(path)`` runs before any body is read; ``Engine.verify(...)`` runs on the
buffered request with keys and a clock reading supplied by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.routes import DENY, Route, RouteTable
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason, Verdict

__all__ = (
    "DEFAULT_MAX_BODY",
    "DEFAULT_REPLAY_TTL",
    "READ_TO_END",
    "REPLAY_MARGIN",
    "Engine",
    "Plan",
    "body_framing",
)

#: Default body limit per route: 1 MiB.
DEFAULT_MAX_BODY = 1024 * 1024
#: Default replay memory for schemes without a timestamp (GitHub, SeaTable): 24 hours.
DEFAULT_REPLAY_TTL = 24 * 3600.0
#: Added to a timestamped scheme's window so a key outlives every acceptable request.
REPLAY_MARGIN = 60.0

_EMPTY: Mapping[str, str] = MappingProxyType({})
#: ``body_framing``: no declared length; read until the server signals the end.
READ_TO_END = -1
_MAX_LENGTH_DIGITS = 18


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


@dataclass(frozen=True, slots=True)
class Plan:
    """A matched route, its parameters and its body limit."""

    route: Route
    params: Mapping[str, str]
    max_body: int


class Engine:
    """Route matching and verification over values only."""

    __slots__ = ("default_max_body", "default_replay_ttl", "table")

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        max_body: int = DEFAULT_MAX_BODY,
        replay_ttl: float = DEFAULT_REPLAY_TTL,
    ) -> None:
        self.table = RouteTable(routes)
        self.default_max_body = max_body
        self.default_replay_ttl = replay_ttl

    def plan(self, path: str) -> Plan | Verdict | None:
        """None: not guarded (pass through). A ``Verdict``: refuse at once (bad path)."""
        found = self.table.match(path)
        if found is None:
            return None
        if found is DENY:
            return Verdict(verified=False, reason=Reason.BAD_PATH, status=400)
        route, params = found  # type: ignore[misc]
        limit = route.max_body if route.max_body is not None else self.default_max_body
        return Plan(route, params, limit)

    def reject(self, plan: Plan | None, reason: Reason, *, body: bytes = b"") -> Verdict:
        """A rejecting verdict for ``reason`` on ``plan``'s route."""
        route = plan.route if plan is not None else None
        status = reason.status
        if route is not None and route.status is not None and reason.is_auth_failure:
            status = route.status
        scheme = route.provider if route is not None else None
        return Verdict(
            verified=False,
            reason=reason,
            status=status,
            provider=route.provider_name if route is not None else "",
            route=route.pattern if route is not None else "",
            params=plan.params if plan is not None else _EMPTY,
            body_signed=bool(scheme and scheme.body_signed),
            body=body,
            empty_refusal=bool(scheme and not scheme.refusal_body and reason.is_auth_failure),
        )

    def verify(self, plan: Plan, request: WebhookRequest, keys: KeySet, now: float) -> Verdict:
        """Verify ``request`` on ``plan``'s route. Never raises on request data."""
        route = plan.route
        scheme = route.provider
        if route.unsigned or scheme is None:
            return Verdict(
                verified=False,
                reason=Reason.UNSIGNED,
                status=200,
                provider=route.provider_name,
                route=route.pattern,
                params=plan.params,
                body=request.body,
            )
        keys = keys.active(now)
        if not keys:
            return self.reject(plan, Reason.NO_ACTIVE_KEY, body=request.body)
        try:
            check = scheme.check(request, keys, now)
        except Exception:  # a scheme bug must fail closed, never pass the request
            check = Check(Reason.INTERNAL_ERROR)
        if check.reason is not Reason.VERIFIED:
            return self.reject(plan, check.reason, body=request.body)
        replay_key = None
        if route.replay and check.replay_material is not None and check.response is None:
            digest = hashlib.sha256(route.pattern.encode() + b"\x00" + check.replay_material)
            replay_key = digest.hexdigest()[:40]
        return Verdict(
            verified=True,
            reason=Reason.VERIFIED,
            status=200,
            provider=scheme.name,
            route=route.pattern,
            params=plan.params,
            key_id=check.key_id,
            body_signed=scheme.body_signed,
            message_id=check.message_id,
            timestamp=check.timestamp,
            replay_key=replay_key,
            details=check.details,
            body=request.body,
            response=check.response,
        )

    def replay_ttl(self, route: Route) -> float:
        """Seconds a replay key for ``route`` must be kept (the whole window plus a margin)."""
        scheme_ttl = route.provider.replay_ttl() if route.provider is not None else None
        if scheme_ttl is not None:
            return scheme_ttl + REPLAY_MARGIN
        return route.replay_ttl if route.replay_ttl is not None else self.default_replay_ttl
