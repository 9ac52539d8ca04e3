"""FastAPI: the verdict as a typed handler parameter, and signature headers in OpenAPI.

::

    from fastapi import FastAPI
    from webhook_guard.integrations.fastapi import VerifiedWebhook, document_webhooks

    app = FastAPI()

    @app.post("/hooks/github")
    async def github_hook(verdict: VerifiedWebhook) -> dict[str, str]:
        return {"delivery": verdict.delivery_id or ""}

    document_webhooks(app, guard)            # signature headers in /openapi.json
    app.add_middleware(ASGIWebhookGuard, guard=guard)

- ``VerifiedWebhook``: ``Annotated[Verdict, Depends(require_verified)]``. The handler gets
  the verdict of a verified request; a request that reaches it without one (the route is
  not guarded, is report-only, or is marked unsigned) is answered 401 and the handler does
  not run: defence in depth against a misconfigured route.
- ``WebhookVerdict``: ``Annotated[Verdict, Depends(any_verdict)]`` hands over any verdict
  without refusing, for report-only and unsigned routes.

Needs FastAPI (``pip install 'webhook-guard[fastapi]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

try:
    from fastapi import Depends, HTTPException, Request
except ImportError:  # pragma: no cover - exercised without the extra
    from webhook_guard.exceptions import MissingExtraError

    raise MissingExtraError("fastapi", "fastapi") from None

from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.guard import Guard, get_verdict

__all__ = (
    "VerifiedWebhook",
    "WebhookVerdict",
    "any_verdict",
    "document_webhooks",
    "require_verified",
)

logger = logging.getLogger("webhook_guard")

_REFUSAL = "This endpoint accepts only verified webhooks."


def require_verified(request: Request) -> Verdict:
    """The request's verdict if it was verified; otherwise ``HTTPException(401)``."""
    verdict = get_verdict(request)
    if verdict.verified:
        return verdict
    logger.warning(
        "webhook_guard: %s %s reached a handler that requires a verified webhook without one"
        " (%s); is the route guarded?",
        request.method,
        request.url.path,
        verdict.reason.value,
        extra={
            "webhook_guard": {
                "event": "webhook_guard.unverified_handler",
                "route": verdict.route,
                "reason": verdict.reason.value,
            }
        },
    )
    reason = verdict.reason if verdict.reason is not Reason.VERIFIED else Reason.NOT_GUARDED
    raise HTTPException(status_code=401, detail={"error": reason.value, "message": _REFUSAL})


def any_verdict(request: Request) -> Verdict:
    """The request's verdict, whatever it says (``verified=False`` outside guarded routes)."""
    return get_verdict(request)


#: A handler parameter holding the verdict of a verified request (401 otherwise).
VerifiedWebhook = Annotated[Verdict, Depends(require_verified)]
#: A handler parameter holding the request's verdict, verified or not.
WebhookVerdict = Annotated[Verdict, Depends(any_verdict)]

_OURS: tuple[Callable[..., Any], ...] = (require_verified, any_verdict)


def _uses_verdict(route: Any) -> bool:
    dependant = getattr(route, "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        node = stack.pop()
        if getattr(node, "call", None) in _OURS:
            return True
        stack.extend(getattr(node, "dependencies", ()))
    return False


def document_webhooks(app: Any, guard: Guard) -> None:
    """Show each guarded operation's signature headers (and query parameters) in the app's
    OpenAPI schema, for the operations that take ``VerifiedWebhook`` or ``WebhookVerdict``.

    The provider of an operation is the guard route its path matches (a route pattern
    equal to the operation's path, or a concrete path the guard matches). Call it once,
    after the routes are declared; it wraps ``app.openapi``.
    """
    from webhook_guard.testing import signature_fields

    documented: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
    for route in getattr(app, "routes", ()):
        path = getattr(route, "path", None)
        if path is None or not _uses_verdict(route):
            continue
        scheme = None
        for candidate in guard.routes:
            if candidate.pattern == path:
                scheme = candidate.provider
        if scheme is None:
            found = guard.match(path)
            if isinstance(found, tuple):
                scheme = found[0].route.provider if hasattr(found[0], "route") else None
        if scheme is None:
            continue
        headers, query = signature_fields(scheme)
        documented[path] = (scheme.name, headers, query)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema  # type: ignore[no-any-return]
        schema: dict[str, Any] = original()
        for path, (provider, headers, query) in documented.items():
            for operation in schema.get("paths", {}).get(path, {}).values():
                if not isinstance(operation, dict):
                    continue
                params = operation.setdefault("parameters", [])
                present = {(p.get("in"), p.get("name", "").lower()) for p in params}
                for where, names in (("header", headers), ("query", query)):
                    for name in names:
                        if (where, name.lower()) in present:
                            continue
                        params.append(
                            {
                                "name": name,
                                "in": where,
                                "required": True,
                                "schema": {"type": "string"},
                                "description": f"Sent and signed by {provider}; verified by"
                                " webhook_guard before the handler runs.",
                            }
                        )
                operation.setdefault("x-webhook-guard", {"provider": provider})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
