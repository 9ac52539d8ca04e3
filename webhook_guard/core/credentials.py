"""Credentials a scheme needs besides its secret: declared by the scheme (``Credential``),
resolved by the configuration layer (``webhook_guard.keysources.bind_credentials``) and
read by the scheme as a ``KeySet`` (``Scheme.credential``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple, Protocol

from webhook_guard.core.keys import KeySet

__all__ = ("Credential", "KeyProvider", "RemoteKeys", "is_reference")


def is_reference(value: object) -> bool:
    """Whether ``value`` must be resolved by the configuration layer (``env:``/``file:``
    references, callables, ``Key`` objects, mappings) rather than used as given."""
    if isinstance(value, str):
        return value.startswith(("env:", "file:"))
    if isinstance(value, bytes):
        return False
    if isinstance(value, RemoteKeys):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_reference(v) for v in value)
    return True


class KeyProvider(Protocol):
    """What the configuration layer binds to a credential: its current keys."""

    def current(self) -> KeySet: ...


class Credential(NamedTuple):
    """A credential a scheme needs besides ``secret`` (declared on the scheme class).

    A literal value is used as given (and checked at once); a reference (``env:``,
    ``file:``, a callable, a list for rotation) is resolved by the configuration layer
    when the guard is built, with the same rules and background refresh as ``secret``.

    :param name: the factory keyword (``verify_token``, ``aes_key``, ...).
    :param what: how the provider names it, for error messages.
    :param required: whether a route needs it.
    :param check: why a value cannot be this credential (None when it can).
    """

    name: str
    what: str
    required: bool = True
    check: Callable[[bytes], str | None] | None = None


class RemoteKeys(NamedTuple):
    """Keys fetched from URLs the sender names (AWS SNS's ``SigningCertURL``): a
    declaration, resolved by the configuration layer into a source that fetches them off
    the request path (``webhook_guard.keysources``).

    :param hosts: a regular expression the URL's host (and port, when given) must match
        in full; nothing else is ever fetched.
    :param suffix: the URL's path must end with it (``.pem``).
    :param urls: URLs to fetch at start-up (a failure is a configuration error).
    :param cafile: CA bundle to verify the hosts' TLS certificates with (None: the system's).
    :param max_keys: most keys kept.
    """

    hosts: str
    suffix: str = ".pem"
    urls: tuple[str, ...] = ()
    cafile: str | None = None
    max_keys: int = 32

    def allows(self, url: str) -> bool:
        """Whether ``url`` may be fetched: https, an allowed host, the suffix, no user
        information, query or fragment."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return (
            parts.scheme == "https"
            and not parts.username
            and not parts.password
            and not parts.query
            and not parts.fragment
            and "@" not in parts.netloc
            and parts.path.endswith(self.suffix)
            and self.host_allowed(parts.netloc)
        )

    def host_allowed(self, netloc: str) -> bool:
        """Whether ``netloc`` (host, and port when given) matches ``hosts`` in full."""
        return re.fullmatch(self.hosts, netloc) is not None
