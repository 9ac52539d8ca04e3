"""Resolve secret references into keys: literals, ``env:NAME``, ``file:/path``, callables.

This is where secrets are read (I/O), which is why it lives outside ``core``. Literal,
environment and file references are resolved once at start-up; a callable is called
for every request, so a vault or KMS adapter can rotate keys without a restart (cache
inside the callable).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.scheme import SecretSpec
from webhook_guard.exceptions import ConfigurationError

__all__ = ("KeySource", "resolve")


class KeySource:
    """The current ``KeySet`` of a route."""

    __slots__ = ("_cache", "_dynamic", "_label", "_static")

    def __init__(
        self,
        static: KeySet | None,
        dynamic: Callable[[], Any] | None = None,
        *,
        label: str = "",
    ) -> None:
        self._static = static
        self._dynamic = dynamic
        self._label = label
        self._cache: tuple[Any, KeySet] | None = None

    def current(self) -> KeySet:
        """The keys to verify with now. A failing or empty source yields no keys (fail closed)."""
        if self._static is not None:
            return self._static
        assert self._dynamic is not None
        try:
            values = self._dynamic()
        except Exception:
            return KeySet(())
        cached = self._cache
        if cached is not None and cached[0] == values:
            return cached[1]
        try:
            keys = KeySet(_literal_keys(values, prefix="callable"))
        except (TypeError, ValueError):
            return KeySet(())
        self._cache = (values, keys)
        return keys


def _literal_keys(values: Any, *, prefix: str) -> list[Secret]:
    if isinstance(values, (str, bytes)):
        return [Secret(values, key_id=f"{prefix}#0")]
    if isinstance(values, Mapping):
        return [Secret(v, key_id=str(k)) for k, v in values.items()]
    if isinstance(values, Sequence):
        return [Secret(v, key_id=f"{prefix}#{i}") for i, v in enumerate(values)]
    raise TypeError(f"unsupported secret value of type {type(values).__name__}")


def _read_ref(ref: str | bytes, *, route: str, index: int, key_id: str | None) -> Secret:
    def fail(what: str, code: str = "webhook_guard.E002") -> ConfigurationError:
        return ConfigurationError(f"route {route!r}: {what}", code=code)

    if isinstance(ref, bytes):
        if not ref.strip():
            raise fail(f"secret #{index} is empty")
        return Secret(ref, key_id=key_id or f"#{index}")
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise fail(f"environment variable {name!r} (secret {ref!r}) is not set")
        if not value.strip():
            raise fail(f"environment variable {name!r} (secret {ref!r}) is empty")
        return Secret(value, key_id=key_id or ref)
    if ref.startswith("file:"):
        path = ref[5:]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise fail(f"cannot read secret file {path!r} ({exc.strerror})") from None
        data = data.rstrip(b"\r\n")  # secret files usually end with a newline
        if not data.strip():
            raise fail(f"secret file {path!r} is empty")
        return Secret(data, key_id=key_id or ref)
    if not ref.strip():
        raise fail(f"secret #{index} is empty")
    return Secret(ref, key_id=key_id or f"#{index}")


def resolve(spec: SecretSpec, *, route: str) -> KeySource:
    """Resolve a route's secret specification, raising ``ConfigurationError`` at start-up.

    :param spec: a reference, a list of references (newest first), a mapping of key id to
        reference, or a callable returning the current value(s).
    :param route: the route pattern, named in error messages (never the secret).
    """
    if spec is None or (isinstance(spec, (list, tuple, dict)) and not spec):
        raise ConfigurationError(
            f"route {route!r} has no secret; mark it unsigned=True to accept unsigned requests",
            code="webhook_guard.E003",
        )
    if callable(spec):
        source = KeySource(None, spec, label=route)
        if not source.current():
            raise ConfigurationError(
                f"route {route!r}: the secret callable returned no usable secret",
                code="webhook_guard.E002",
            )
        return source
    if isinstance(spec, (str, bytes)):
        return KeySource(KeySet([_read_ref(spec, route=route, index=0, key_id=None)]))
    items: list[tuple[str | None, Any]]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        items = [(None, v) for v in spec]
    keys = []
    for index, (key_id, ref) in enumerate(items):
        if not isinstance(ref, (str, bytes)):
            raise ConfigurationError(
                f"route {route!r}: secret #{index} must be a string reference",
                code="webhook_guard.E002",
            )
        keys.append(_read_ref(ref, route=route, index=index, key_id=key_id))
    return KeySource(KeySet(keys))
