"""Helpers the provider tests share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def provider_headers(signed: Mapping[str, str]) -> dict[str, str]:
    """The headers a provider's ``sign`` adds, without the ``Content-Type`` it may state."""
    return {k: v for k, v in signed.items() if k.lower() != "content-type"}


def guard_for(route: Any, **options: Any) -> Any:
    """``Guard([route], **options)``; for an opt-in legacy scheme, also checks that the guard
    warns about it at start-up (``WebhookGuardWarning``)."""
    import pytest

    from webhook_guard import Guard
    from webhook_guard.exceptions import WebhookGuardWarning

    if route.provider.legacy:
        with pytest.warns(WebhookGuardWarning, match="legacy scheme"):
            return Guard([route], **options)
    return Guard([route], **options)


def send_wsgi(guard: Any, sent: Any, path: str) -> tuple[int, bytes, list[tuple[bytes, Any]]]:
    """``sent`` (anything with ``body``, ``method``, ``headers`` and ``query``, such as a
    ``SignedRequest``) to ``path`` through ``guard.wsgi``: the status, the response body,
    and the (body, verdict) pairs the app saw."""
    from webhook_guard.core.verdict import VERDICT_KEY
    from webhook_guard.testing import build_wsgi_environ

    seen: list[tuple[bytes, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append((environ["wsgi.input"].read(), environ[VERDICT_KEY]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"handled"]

    environ = build_wsgi_environ(
        path, body=sent.body, method=sent.method, headers=sent.headers, query=sent.query
    )
    status: list[str] = []
    out = b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0][:3]), out, seen
