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
