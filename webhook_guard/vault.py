"""An example secret source for HashiCorp Vault's KV version 2 HTTP API (standard library only).

::

    from webhook_guard.vault import vault_kv
    github(secret=vault_kv("https://vault:8200", "webhooks/github", fields=["current", "previous"]))

The value is cached for ``ttl`` seconds. A failed fetch raises, so the guard keeps the last
good keys for its grace period, then fails closed. Neither the token nor the secret ever
appears in an exception message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from webhook_guard.keysources import cached, resolve_one

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
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], Any]:
    """A cached callable returning the secret at ``path`` (``fields``: ``{field: value}``).

    :param token: the Vault token reference (literal, ``env:`` or ``file:``), read now.
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

    return cached(fetch, ttl=ttl, clock=clock)
