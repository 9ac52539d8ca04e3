"""Configuration front ends. One schema; a mapping, a TOML file, environment variables and
Django's ``settings.WEBHOOK_GUARD`` all become the same ``Guard`` keyword arguments here.

TOML::

    max_body = 1048576
    replay_store = "redis://127.0.0.1:6379/0"

    [[routes]]
    path = "/hooks/github/{repo}"
    provider = "github"
    secret = ["env:GH_SECRET_NEW", "env:GH_SECRET_OLD"]

    [[routes]]
    path = "/hooks/dingtalk"
    provider = "dingtalk"
    window = 120
    secret = [
      { id = "2026-11", secret = "env:DINGTALK_NEW", created = 2026-11-01 },
      { id = "2026-08", secret = "env:DINGTALK_OLD", not_after = 2026-11-15T00:00:00Z },
    ]

Environment (prefix ``WEBHOOK_GUARD_``, ``__`` nests, numbers index lists, values that
parse as JSON are JSON)::

    WEBHOOK_GUARD_ROUTES__0__PATH=/hooks/github/{repo}
    WEBHOOK_GUARD_ROUTES__0__PROVIDER=github
    WEBHOOK_GUARD_ROUTES__0__SECRET=["env:GH_SECRET_NEW", "env:GH_SECRET_OLD"]

Every mistake is a ``ConfigurationError`` with a stable id, raised at start-up:

======================  ==============================================================
``webhook_guard.E001``  unknown provider
``webhook_guard.E002``  a secret is missing, empty, unreadable or malformed
``webhook_guard.E003``  a route has no secret and is not marked ``unsigned``
``webhook_guard.E004``  an invalid provider option value
``webhook_guard.E005``  a window or TTL out of range
``webhook_guard.E006``  an invalid route or guard option (pattern, status, sizes)
``webhook_guard.E007``  route patterns overlap (or repeat)
``webhook_guard.E008``  an unknown or unusable replay store
``webhook_guard.E009``  an unknown key (a typo)
``webhook_guard.E010``  an optional dependency is missing (names the extra)
``webhook_guard.E011``  the configuration file cannot be read or parsed
======================  ==============================================================
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from webhook_guard.core.routes import Route
from webhook_guard.exceptions import ConfigurationError, MissingExtraError
from webhook_guard.keysources import is_literal
from webhook_guard.observability import warn_config
from webhook_guard.providers import get

__all__ = (
    "ENV_PREFIX",
    "GUARD_KEYS",
    "ROUTE_KEYS",
    "from_env",
    "guard_kwargs",
    "load_toml",
    "route_from_mapping",
)

logger = logging.getLogger("webhook_guard")

ENV_PREFIX = "WEBHOOK_GUARD_"
#: The ``source`` of a configuration read from environment variables (where a literal
#: secret is the usual thing, unlike in a file).
ENVIRONMENT = "the environment"
GUARD_KEYS = (
    "body_timeout",
    "check_store",
    "commit_client_errors",
    "duplicate_status",
    "max_body",
    "processing_timeout",
    "replay_store",
    "replay_ttl",
    "routes",
    "trusted_proxies",
)
ROUTE_KEYS = (
    "max_body",
    "path",
    "provider",
    "public_url",
    "replay",
    "replay_ttl",
    "report_only",
    "secret",
    "status",
    "unsigned",
)


def _secret_refs(secret: Any) -> list[Any]:
    if isinstance(secret, Mapping) and "secret" not in secret:
        return list(secret.values())
    if isinstance(secret, (list, tuple)):
        return list(secret)
    return [secret]


_NUMBER = (int, float)
#: The type each key must have (a TOML file or the environment may give anything).
_ROUTE_TYPES: dict[str, tuple[type, ...]] = {
    "max_body": (int,),
    "status": (int,),
    "unsigned": (bool,),
    "replay": (bool,),
    "replay_ttl": _NUMBER,
    "public_url": (str,),
    "report_only": (bool,),
    "provider": (str,),
    "secret": (str, bytes, list, tuple, Mapping),
}
_GUARD_TYPES: dict[str, tuple[type, ...]] = {
    "max_body": (int,),
    "body_timeout": _NUMBER,
    "replay_ttl": _NUMBER,
    "processing_timeout": _NUMBER,
    "duplicate_status": (int,),
    "commit_client_errors": (bool,),
    "check_store": (bool, str),
    "trusted_proxies": (list, tuple),
    "replay_store": (str,),
}


def _check_types(
    values: Mapping[str, Any], types: Mapping[str, tuple[type, ...]], where: str
) -> None:
    for key, allowed in types.items():
        value = values.get(key)
        if value is None:
            continue
        wrong = not isinstance(value, allowed) or (
            isinstance(value, bool) and bool not in allowed  # True is an int in Python
        )
        if wrong:
            expected = " or ".join(t.__name__ for t in allowed)
            shown = "" if key == "secret" else f" ({value!r:.40})"  # never a secret's value
            raise ConfigurationError(
                f"{where}: {key!r} must be {expected}, not {type(value).__name__}{shown}",
                code="webhook_guard.E002" if key == "secret" else "webhook_guard.E006",
            )


def route_from_mapping(entry: Any, *, index: int = 0, source: str = "") -> Route:
    """One ``Route`` from its mapping form. ``source`` names the file (for warnings)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise ConfigurationError(
            f"routes[{index}] needs a 'path' string", code="webhook_guard.E006"
        )
    path = entry["path"]
    _check_types(entry, _ROUTE_TYPES, f"route {path!r}")
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
        except MissingExtraError:
            raise
        except ConfigurationError as exc:  # name the route the provider's options belong to
            raise ConfigurationError(f"route {path!r}: {exc.message}", code=exc.code) from None
        from_file = source and source != ENVIRONMENT
        if from_file and any(is_literal(ref) for ref in _secret_refs(entry.get("secret"))):
            warn_config(
                f"webhook_guard: route {path!r} in {source} has a literal secret; prefer "
                "'env:NAME' or 'file:/path' so secrets stay out of configuration files",
                event="webhook_guard.literal_secret",
                route=path,
                stacklevel=5,
            )
    return Route(
        path,
        provider,
        max_body=entry.get("max_body"),
        status=entry.get("status"),
        unsigned=unsigned,
        replay=bool(entry.get("replay", True)),
        replay_ttl=entry.get("replay_ttl"),
        public_url=entry.get("public_url"),
        report_only=bool(entry.get("report_only", False)),
    )


def guard_kwargs(config: Mapping[str, Any], *, source: str = "") -> dict[str, Any]:
    """``Guard`` keyword arguments from a configuration mapping."""
    unknown = sorted(set(config) - set(GUARD_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown configuration keys: {unknown}", code="webhook_guard.E009"
        )
    routes = config.get("routes") or []
    if not isinstance(routes, (list, tuple)):
        raise ConfigurationError("'routes' must be a list of tables", code="webhook_guard.E006")
    _check_types(config, _GUARD_TYPES, "the configuration")
    kwargs: dict[str, Any] = {k: config[k] for k in GUARD_KEYS if k in config and k != "routes"}
    kwargs["routes"] = [route_from_mapping(r, index=i, source=source) for i, r in enumerate(routes)]
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
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"invalid TOML in {path!r}: not UTF-8", code="webhook_guard.E011"
        ) from None


#: Keys whose value stays text even when it parses as a number: a secret may be all digits.
#: Suffixes, so ``verify_token`` and ``public_url`` count; ``replay_store`` whole, since
#: ``check_store`` is a bool.
_TEXT_KEYS = (
    "secret", "token", "key", "password", "url", "path", "replay_store", "header", "prefix",
)  # fmt: skip


def _env_value(text: str, path: Sequence[str]) -> Any:
    # Under a text key too: ``..._SECRET__0=8675309912`` is the first secret, not a number.
    if any(part.endswith(_TEXT_KEYS) for part in path) and text[:1] not in ("[", "{"):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def from_env(prefix: str = ENV_PREFIX, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A configuration mapping from environment variables named ``<prefix>KEY[__SUB...]``."""
    environ = os.environ if environ is None else environ
    tree: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(prefix):
            continue
        parts = [p.lower() for p in name[len(prefix) :].split("__")]
        if not all(parts):
            raise ConfigurationError(f"malformed variable name {name!r}", code="webhook_guard.E009")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigurationError(
                    f"conflicting variable {name!r}", code="webhook_guard.E009"
                )
        node[parts[-1]] = _env_value(raw, parts)
    result = _lists(tree)
    if not isinstance(result, dict):
        raise ConfigurationError(
            "the environment configuration must be a table", code="webhook_guard.E009"
        )
    return result


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items
