"""Secrets and key sets. A ``Secret`` never shows its value in ``repr`` or ``str``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

__all__ = ("DerivedKeys", "KeySet", "Mac", "Secret", "compare")

T = TypeVar("T")


class Secret:
    """One secret value with a key id.

    - ``repr``/``str`` are masked; the value is reachable only through ``value``.
    - The HMAC key schedule is done once per digest: the hash states after the inner and
      outer padded keys (RFC 2104) are kept and copied per request, so a request's HMAC
      costs two hash copies and no key setup (about half the cost of ``hmac.new``).

    :param value: the secret bytes (str is encoded as UTF-8). Must not be empty or blank.
    :param key_id: a public name for the key, used in verdicts and logs.
    :param not_before: epoch seconds before which the key is not accepted (rotation).
    :param not_after: epoch seconds after which the key is refused (retirement).
    :param created: epoch seconds the key was created (for rotation reports).
    """

    __slots__ = ("_pads", "_value", "created", "key_id", "not_after", "not_before")

    def __init__(
        self,
        value: bytes | str,
        *,
        key_id: str,
        not_before: float | None = None,
        not_after: float | None = None,
        created: float | None = None,
    ) -> None:
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        if not raw.strip():
            raise ValueError(f"secret {key_id!r} is empty")
        if not_before is not None and not_after is not None and not_after <= not_before:
            raise ValueError(f"secret {key_id!r}: not_after must be later than not_before")
        self._value = raw
        self.key_id = key_id
        self.not_before = not_before
        self.not_after = not_after
        self.created = created
        self._pads: dict[str, tuple[Any, Any]] = {}

    @property
    def windowed(self) -> bool:
        return self.not_before is not None or self.not_after is not None

    def active(self, now: float) -> bool:
        """Whether the key may verify at ``now`` (``not_before <= now < not_after``)."""
        if self.not_before is not None and not now >= self.not_before:
            return False
        return self.not_after is None or now < self.not_after

    @property
    def value(self) -> bytes:
        return self._value

    def mac(self, digest: str, *parts: bytes) -> bytes:
        """HMAC(``digest``) of the concatenation of ``parts`` under this secret."""
        pads = self._pads.get(digest)
        if pads is None:
            pads = self._pads[digest] = _pads(self._value, digest)
        inner = pads[0].copy()
        for part in parts:
            inner.update(part)
        outer = pads[1].copy()
        outer.update(inner.digest())
        return outer.digest()  # type: ignore[no-any-return]

    def hmac(self, digest: str) -> Mac:
        """A fresh HMAC object (``update``/``digest``/``hexdigest``) keyed with this secret."""
        pads = self._pads.get(digest)
        if pads is None:
            pads = self._pads[digest] = _pads(self._value, digest)
        return Mac(pads[0].copy(), pads[1])

    def __repr__(self) -> str:
        return f"Secret(key_id={self.key_id!r}, value=***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.key_id == other.key_id and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self.key_id)


def _pads(key: bytes, digest: str) -> tuple[Any, Any]:
    """The hash states after ``K ^ ipad`` and ``K ^ opad`` (RFC 2104 section 2)."""
    constructor = getattr(hashlib, digest)
    block = constructor().block_size
    if len(key) > block:
        key = constructor(key).digest()
    key = key.ljust(block, b"\0")
    inner = constructor(key.translate(_IPAD))
    outer = constructor(key.translate(_OPAD))
    return inner, outer


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class Mac:
    """An HMAC in progress over precomputed pad states (what ``Secret.hmac`` returns)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, inner: Any, outer: Any) -> None:
        self._inner = inner
        self._outer = outer

    def update(self, data: bytes) -> None:
        self._inner.update(data)

    def digest(self) -> bytes:
        outer = self._outer.copy()
        outer.update(self._inner.digest())
        return outer.digest()  # type: ignore[no-any-return]

    def hexdigest(self) -> str:
        return self.digest().hex()


class KeySet(tuple):  # type: ignore[type-arg]
    """The active secrets of a route, newest first. Any of them verifies (rotation).

    An immutable sequence of ``Secret`` (a tuple: schemes iterate it on every request).
    """

    windowed: bool

    def __new__(cls, keys: Iterable[Secret] = ()) -> KeySet:
        self = tuple.__new__(cls, keys)
        #: Whether any key has a validity window (else ``active`` is the set itself).
        self.windowed = any(k.windowed for k in self)
        return self

    def active(self, now: float) -> KeySet:
        """The keys whose validity window contains ``now``."""
        if not self.windowed:
            return self
        return KeySet(k for k in self if k.active(now))

    def __repr__(self) -> str:
        return f"KeySet({[k.key_id for k in self]!r})"


class DerivedKeys(Generic[T]):
    """What a scheme derives from a key's value (a decoded HMAC key, a parsed public key),
    derived once per value instead of once per request. A value that derives nothing
    (``None``) is remembered too. Bounded: cleared when ``limit`` values are held (values
    come from configuration and refreshes, a handful per route).

    :param derive: the derivation, given the configured ``Secret``.
    """

    __slots__ = ("_derive", "_found", "limit")

    def __init__(self, derive: Callable[[Secret], T], *, limit: int = 64) -> None:
        self._derive = derive
        self._found: dict[bytes, T] = {}
        self.limit = limit

    def __call__(self, key: Secret) -> T:
        found = self._found
        try:
            return found[key.value]
        except KeyError:
            pass
        derived = self._derive(key)
        if len(found) >= self.limit:
            found.clear()
        found[key.value] = derived
        return derived


def compare(expected: bytes, received: str) -> bool:
    """Constant-time comparison of a canonical encoding with the received text.

    The received text must be ASCII; anything else is simply unequal (``hmac.compare_digest``
    raises ``TypeError`` on non-ASCII ``str``, which would turn a 401 into a 500).
    """
    if not received.isascii():
        return False
    return hmac.compare_digest(expected, received.encode("ascii"))
