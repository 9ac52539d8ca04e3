"""An example secret source for HashiCorp Vault's KV version 2 HTTP API (standard library only).

::

    from webhook_guard.vault import vault_kv
    github(secret=vault_kv("https://vault:8200", "webhooks/github", fields=["current", "previous"]))

As a route's secret it is fetched once at start-up, then every ``ttl`` seconds on a
background thread, never on the request path: a slow or hung Vault delays nobody's
request. A failed fetch (an error, or no answer within ``timeout``) is retried with
back-off while the last good keys keep verifying for the grace period; then the route
fails closed (401 ``no_active_key``) until Vault answers again. Neither the token nor the
secret ever appears in an exception message or a log.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from webhook_guard.keysources import Cached, cached, resolve_one

__all__ = ("VaultError", "vault_kv")


class VaultError(RuntimeError):
    """Vault did not return the secret (the message names the path, never a value)."""


def vault_kv(
    address: str,
    path: str,
    *,
    field: str = "value",
    fields: Sequence[str] | None = None,
    mount: str = "secret",
    token: str = "env:VAULT_TOKEN",  # noqa: S107 - a reference, not a password
    namespace: str | None = None,
    timeout: float = 2.0,
    ttl: float = 60.0,
    grace: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Cached:
    """A secret source returning the secret at ``path`` (``fields``: ``{field: value}``).

    :param address: the Vault address, ``https://vault:8200``.
    :param path: the secret's path under the KV v2 ``mount``.
    :param field: the field holding the secret.
    :param fields: several fields, newest first (a rotation); their names are the key ids.
    :param mount: the KV v2 mount point.
    :param token: the Vault token reference (literal, ``env:`` or ``file:``), read now.
    :param namespace: the Vault Enterprise namespace.
    :param timeout: seconds to wait for Vault; a fetch that takes longer has failed.
    :param ttl: seconds between two fetches (see ``keysources.cached``).
    :param grace: seconds the last good keys verify while Vault fails (None: the guard's
        default, 5 minutes).
    :param clock: seconds, for the cache when the source is called directly (tests).
    """
    token_value = resolve_one(token, route=f"vault:{path}", what="vault token").decode()
    url = f"{address.rstrip('/')}/v1/{mount}/data/{path.lstrip('/')}"
    wanted = list(fields) if fields is not None else [field]

    def fetch() -> Any:
        request = urllib.request.Request(url, headers={"X-Vault-Token": token_value})  # noqa: S310 - configured URL
        if namespace:
            request.add_header("X-Vault-Namespace", namespace)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                document = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            raise VaultError(f"vault answered {exc.code} for {path!r}") from None
        except (OSError, ValueError) as exc:
            raise VaultError(f"vault unreachable for {path!r}: {type(exc).__name__}") from None
        data = document.get("data", {}).get("data", {}) if isinstance(document, dict) else {}
        values = {name: data.get(name) for name in wanted if isinstance(data.get(name), str)}
        if not values:
            raise VaultError(f"no field {wanted!r} at {path!r}")
        return values if fields is not None else values[field]

    return cached(fetch, ttl=ttl, grace=grace, clock=clock)
