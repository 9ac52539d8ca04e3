"""Configuration front ends: a mapping or a TOML file → the ``Guard`` keyword arguments.

Shape (TOML)::

    max_body = 1048576
    [[routes]]
    path = "/hooks/github/{repo}"
    provider = "github"
    secret = ["env:GH_SECRET_NEW", "env:GH_SECRET_OLD"]

Route keys: ``path``, ``provider``, ``secret``, ``max_body``, ``status``, ``unsigned``,
``replay``, ``replay_ttl``; every other key is passed to the provider factory.
Mistakes raise ``ConfigurationError`` with a stable id at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from webhook_guard.core.routes import Route
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import get

__all__ = ("GUARD_KEYS", "ROUTE_KEYS", "guard_kwargs", "load_toml", "route_from_mapping")

GUARD_KEYS = ("max_body", "body_timeout", "replay_store", "replay_ttl", "routes")
ROUTE_KEYS = (
    "path",
    "provider",
    "secret",
    "max_body",
    "status",
    "unsigned",
    "replay",
    "replay_ttl",
)


def route_from_mapping(entry: Mapping[str, Any], *, index: int = 0) -> Route:
    """One ``Route`` from its mapping form."""
    if not isinstance(entry.get("path"), str):
        raise ConfigurationError(
            f"routes[{index}] needs a 'path' string", code="webhook_guard.E006"
        )
    path = entry["path"]
    unsigned = bool(entry.get("unsigned", False))
    options = {k: v for k, v in entry.items() if k not in ROUTE_KEYS}
    provider = None
    name = entry.get("provider")
    if name is None and not unsigned:
        raise ConfigurationError(f"route {path!r} needs a 'provider'", code="webhook_guard.E001")
    if name is not None:
        factory = get(str(name))
        try:
            provider = factory(secret=entry.get("secret"), **options)
        except TypeError as exc:
            raise ConfigurationError(
                f"route {path!r}: unknown option for provider {name!r} ({exc})",
                code="webhook_guard.E009",
            ) from None
    return Route(
        path,
        provider,
        max_body=entry.get("max_body"),
        status=entry.get("status"),
        unsigned=unsigned,
        replay=bool(entry.get("replay", True)),
        replay_ttl=entry.get("replay_ttl"),
    )


def guard_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """``Guard`` keyword arguments from a configuration mapping."""
    unknown = sorted(set(config) - set(GUARD_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown configuration keys: {unknown}", code="webhook_guard.E009"
        )
    routes = config.get("routes") or []
    kwargs: dict[str, Any] = {k: config[k] for k in GUARD_KEYS if k in config and k != "routes"}
    kwargs["routes"] = [route_from_mapping(r, index=i) for i, r in enumerate(routes)]
    return kwargs


def load_toml(path: str) -> dict[str, Any]:
    """Parse a TOML configuration file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read configuration {path!r} ({exc.strerror})", code="webhook_guard.E011"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"invalid TOML in {path!r}: {exc}", code="webhook_guard.E011"
        ) from None
