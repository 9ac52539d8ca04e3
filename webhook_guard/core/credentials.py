"""Credentials a scheme needs besides its secret: declared by the scheme (``Credential``),
resolved by the configuration layer (``webhook_guard.keysources.bind_credentials``) and
read by the scheme as a ``KeySet`` (``Scheme.credential``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from webhook_guard.core.keys import KeySet

__all__ = ("Credential", "KeyProvider", "is_reference")


def is_reference(value: object) -> bool:
    """Whether ``value`` must be resolved by the configuration layer (``env:``/``file:``
    references, callables, ``Key`` objects, mappings) rather than used as given."""
    if isinstance(value, str):
        return value.startswith(("env:", "file:"))
    if isinstance(value, bytes):
        return False
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
