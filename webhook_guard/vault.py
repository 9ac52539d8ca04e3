"""A secret source for HashiCorp Vault's KV version 2 HTTP API (standard library only).

::

    from webhook_guard.vault import AppRole, vault_kv

    github(secret=vault_kv("https://vault:8200", "webhooks/github",
                           fields=["current", "previous"],
                           token="file:/vault/agent/token",      # Vault Agent's sink
                           ca_bundle="/etc/ssl/vault-ca.pem"))

As a route's secret it is fetched once at start-up, then every ``ttl`` seconds on a
background thread, never on the request path: a slow or hung Vault delays nobody's
request. A failed fetch (an error, or no answer within ``timeout``) is retried with
back-off while the last good keys keep verifying for the grace period; then the route
fails closed (401 ``no_active_key``) until Vault answers again.

Authentication, read again at every fetch so nothing goes stale:

- ``token="file:/path"``: a token file kept current by Vault Agent (auto-auth and
  renewal are the agent's job); ``env:NAME`` or a literal for a fixed token; or a callable
  returning the current token (e.g. from an ``hvac`` client you already run).
- ``auth=AppRole(...)`` or ``auth=Kubernetes(...)``: the source logs in itself, keeps the
  client token for two thirds of its lease, and logs in again when it nears its end or
  Vault answers 403.

Neither a token nor a secret ever appears in an exception message or a log.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from webhook_guard._http import read_within
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import Cached, cached, resolve_one

__all__ = ("AppRole", "Kubernetes", "VaultError", "vault_kv")

#: Where Kubernetes mounts a pod's service account token.
SERVICE_ACCOUNT_TOKEN = "file:/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105


class VaultError(RuntimeError):
    """Vault did not return the secret (the message names the path, never a value)."""


class _Forbidden(VaultError):
    """Vault answered 403: the token is missing, expired or revoked."""


class AppRole:
    """Log in with Vault's AppRole method (``POST /v1/auth/<mount>/login``).

    :param role_id: the role id reference (literal, ``env:`` or ``file:``).
    :param secret_id: the secret id reference (literal, ``env:`` or ``file:``).
    :param mount: the auth method's mount path.
    """

    def __init__(self, *, role_id: str, secret_id: str, mount: str = "approle") -> None:
        self.role_id = role_id
        self.secret_id = secret_id
        self.mount = mount.strip("/")

    def login_body(self) -> dict[str, str]:
        return {
            "role_id": _read(self.role_id, "AppRole role_id"),
            "secret_id": _read(self.secret_id, "AppRole secret_id"),
        }

    def __repr__(self) -> str:
        return f"AppRole(mount={self.mount!r})"


class Kubernetes:
    """Log in with Vault's Kubernetes method, presenting the pod's service account token.

    :param role: the Vault role bound to the service account.
    :param jwt: the service account token reference (re-read at every login, as
        Kubernetes rotates it).
    :param mount: the auth method's mount path.
    """

    def __init__(
        self, *, role: str, jwt: str = SERVICE_ACCOUNT_TOKEN, mount: str = "kubernetes"
    ) -> None:
        self.role = role
        self.jwt = jwt
        self.mount = mount.strip("/")

    def login_body(self) -> dict[str, str]:
        return {"role": self.role, "jwt": _read(self.jwt, "Kubernetes service account token")}

    def __repr__(self) -> str:
        return f"Kubernetes(role={self.role!r}, mount={self.mount!r})"


def _read(ref: str, what: str) -> str:
    """A reference read now; a failure at run time is a ``VaultError`` (never the value)."""
    try:
        return resolve_one(ref, route="vault", what=what).decode("utf-8").strip()
    except (ConfigurationError, UnicodeDecodeError):
        raise VaultError(f"cannot read the {what}") from None


class _Session:
    """The client token: read from its reference at every fetch, or from a login kept
    until two thirds of its lease have passed."""

    def __init__(
        self,
        token: str | Callable[[], str],
        auth: AppRole | Kubernetes | None,
        request: Callable[..., Any],
        clock: Callable[[], float],
    ) -> None:
        self._token = token
        self._auth = auth
        self._request = request
        self._clock = clock
        self._login: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def token(self, *, fresh: bool = False) -> str:
        if self._auth is None:
            if callable(self._token):
                value: object = self._token()
                if not isinstance(value, str) or not value:
                    raise VaultError("the token callable returned no token")
                return value
            return _read(self._token, "vault token")
        with self._lock:
            login = self._login
            if fresh or login is None or self._clock() >= login[1]:
                login = self._log_in(self._auth)
                self._login = login
            return login[0]

    def _log_in(self, auth: AppRole | Kubernetes) -> tuple[str, float]:
        answer = self._request(
            f"auth/{auth.mount}/login", data=json.dumps(auth.login_body()).encode(), token=None
        )
        data = answer.get("auth") if isinstance(answer, dict) else None
        token = data.get("client_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise VaultError(f"vault login at auth/{auth.mount} returned no client token")
        lease = data.get("lease_duration") if isinstance(data, dict) else None
        seconds = float(lease) if isinstance(lease, (int, float)) and lease > 0 else 3600.0
        return token, self._clock() + seconds * 2 / 3


#: Largest Vault answer read (a KV secret is a few hundred bytes).
MAX_ANSWER = 1024 * 1024


def vault_kv(
    address: str,
    path: str,
    *,
    field: str = "value",
    fields: Sequence[str] | None = None,
    mount: str = "secret",
    token: str | Callable[[], str] = "env:VAULT_TOKEN",  # noqa: S107 - a reference
    auth: AppRole | Kubernetes | None = None,
    namespace: str | None = None,
    ca_bundle: str | None = None,
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
    :param token: the Vault token: a reference (literal, ``env:`` or ``file:``, re-read at
        every fetch, so a token file that Vault Agent rewrites is followed) or a callable
        returning it. Checked at start-up. Ignored when ``auth`` is set.
    :param auth: ``AppRole(...)`` or ``Kubernetes(...)`` to log in instead of a token.
    :param namespace: the Vault Enterprise namespace.
    :param ca_bundle: a PEM file of the CA(s) that signed Vault's certificate (default:
        ``$VAULT_CACERT`` when set, else the system's trust store).
    :param timeout: seconds to wait for Vault; a fetch that takes longer has failed.
    :param ttl: seconds between two fetches (see ``keysources.cached``).
    :param grace: seconds the last good keys verify while Vault fails (None: the guard's
        default, 5 minutes).
    :param clock: seconds, for the cache and the login lease (tests).
    """
    base = address.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"vault address must be an http(s) URL, not {address!r}", code="webhook_guard.E006"
        )
    route = f"vault:{path}"
    if auth is None and not callable(token):
        resolve_one(token, route=route, what="vault token")  # a missing token fails at start-up
    if ca_bundle is None:
        ca_bundle = os.environ.get("VAULT_CACERT") or None
    context: ssl.SSLContext | None = None
    if base.startswith("https://"):
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError):
            raise ConfigurationError(
                f"{route}: cannot load the CA bundle {ca_bundle!r}", code="webhook_guard.E002"
            ) from None
    url = f"{base}/v1/{mount.strip('/')}/data/{path.lstrip('/')}"
    wanted = list(fields) if fields is not None else [field]

    def call(api: str, *, data: bytes | None = None, token: str | None) -> Any:
        request = urllib.request.Request(f"{base}/v1/{api}", data=data)  # noqa: S310 - configured URL
        if token is not None:
            request.add_header("X-Vault-Token", token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if namespace:
            request.add_header("X-Vault-Namespace", namespace)
        deadline = time.monotonic() + timeout
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
                return json.loads(read_within(response, deadline, MAX_ANSWER))
        except urllib.error.HTTPError as exc:
            exc.close()
            kind = _Forbidden if exc.code == 403 else VaultError
            raise kind(f"vault answered {exc.code} for {api.split('/data/')[-1]!r}") from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = type(reason).__name__ if isinstance(reason, BaseException) else "error"
            raise VaultError(f"vault unreachable for {path!r}: {detail}") from None

    session = _Session(token, auth, call, clock)
    api = url[len(base) + 4 :]

    def fetch() -> Any:
        try:
            document = call(api, token=session.token())
        except _Forbidden:
            if auth is None:
                raise
            document = call(api, token=session.token(fresh=True))  # the lease ended early
        data = document.get("data", {}).get("data", {}) if isinstance(document, dict) else {}
        if not isinstance(data, dict):
            data = {}
        values = {name: data.get(name) for name in wanted if isinstance(data.get(name), str)}
        if not values:
            raise VaultError(f"no field {wanted!r} at {path!r}")
        return values if fields is not None else values[field]

    return cached(fetch, ttl=ttl, grace=grace, clock=clock)
