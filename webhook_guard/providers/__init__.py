"""Provider schemes. Each factory takes ``secret=`` (a reference or a list, newest first)
and the provider's options, and returns a configured ``Scheme``.

``get(name)`` returns a factory by name, for configuration files.
"""

from __future__ import annotations

from collections.abc import Callable

from webhook_guard.core.scheme import Scheme
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import (
    asymmetric,
    catalogue,
    encrypted,
    standard,
    timestamped,
    urlsigned,
)
from webhook_guard.providers.asymmetric import discord, sendgrid, telnyx
from webhook_guard.providers.dingtalk import dingtalk, dingtalk_token
from webhook_guard.providers.encrypted import dingtalk_events, feishu, lark, wechat, wecom
from webhook_guard.providers.generic import hmac
from webhook_guard.providers.github import github
from webhook_guard.providers.seatable import seatable
from webhook_guard.providers.token import token

__all__ = (
    "REGISTRY",
    "dingtalk",
    "dingtalk_events",
    "dingtalk_token",
    "discord",
    "feishu",
    "get",
    "github",
    "hmac",
    "lark",
    "names",
    "seatable",
    "sendgrid",
    "telnyx",
    "token",
    "wechat",
    "wecom",
)

#: Factories by registry name.
REGISTRY: dict[str, Callable[..., Scheme]] = {
    "dingtalk": dingtalk,
    "dingtalk_token": dingtalk_token,
    "github": github,
    "hmac": hmac,
    "seatable": seatable,
    "token": token,
    **asymmetric.FACTORIES,
    **encrypted.FACTORIES,
    **standard.FACTORIES,
    **timestamped.FACTORIES,
    **catalogue.FACTORIES,
    **urlsigned.FACTORIES,
}


def __getattr__(name: str) -> Callable[..., Scheme]:
    # Every registered name imports: ``from webhook_guard.providers import stripe``.
    try:
        return REGISTRY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *REGISTRY})


def get(name: str) -> Callable[..., Scheme]:
    """The factory registered as ``name``; ``ConfigurationError`` when there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigurationError(
            f"unknown provider {name!r} (known: {known})", code="webhook_guard.E001"
        ) from None


def names() -> list[str]:
    """Every registered provider name, sorted."""
    return sorted(REGISTRY)
