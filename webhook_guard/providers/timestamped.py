"""Timestamped HMAC providers (Stripe, Slack, Paddle, Zoom, Twitch, ...)."""

from __future__ import annotations

from collections.abc import Callable

from webhook_guard.core.scheme import Scheme

__all__ = ("FACTORIES",)

#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {}
