"""Request values the core decides on: ``Headers`` and ``WebhookRequest``.

Header values are ``str`` decoded as latin-1 (the WSGI convention; ASGI bytes are
decoded the same way), so any byte sequence is representable and nothing here raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import parse_qsl

__all__ = ("Headers", "WebhookRequest")

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive multimap of header names to values.

    ``headers[name]`` and ``get(name)`` return the first value; ``getlist(name)``
    returns all of them, so a scheme can refuse a security header sent twice.

    Built from a WSGI environ or ASGI header list, it is a snapshot that answers
    ``getlist`` by direct lookup and builds its full index only when iterated: a scheme
    reads two or three headers, and decoding every one of them would cost more than
    the HMAC of a small body.
    """

    # Class-level defaults, so that building one sets a single attribute (every guarded
    # request builds one).
    _environ: dict[str, object] | None = None
    _raw: tuple[tuple[bytes, bytes], ...] | None = None
    _items: tuple[tuple[str, str], ...] | None = None
    _map: dict[str, list[str]] | None = None
    _single: dict[bytes, bytes] | None = None  # ASGI: name -> value, when no name repeats
    _by_name: dict[bytes, list[bytes]] | None = None  # ASGI: name -> values, when one does

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple(items)

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Build from ASGI ``scope["headers"]`` (byte pairs)."""
        self = object.__new__(cls)
        self._raw = tuple(raw)
        return self

    @classmethod
    def from_environ(cls, environ: Mapping[str, object]) -> Headers:
        """Build from a WSGI environ: ``HTTP_*`` keys plus ``CONTENT_TYPE``/``CONTENT_LENGTH``."""
        self = object.__new__(cls)
        self._environ = dict(environ)  # a snapshot: later changes to the environ do not show
        return self

    def _pairs(self) -> tuple[tuple[str, str], ...]:
        if self._items is None:
            items: list[tuple[str, str]] = []
            if self._environ is not None:
                for key, value in self._environ.items():
                    if not isinstance(value, str):
                        continue
                    if key.startswith("HTTP_"):
                        items.append((key[5:].replace("_", "-"), value))
                    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                        items.append((key.replace("_", "-"), value))
            elif self._raw is not None:
                items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw]
            self._items = tuple(items)
        return self._items

    def _index(self) -> dict[str, list[str]]:
        if self._map is None:
            index: dict[str, list[str]] = {}
            for name, value in self._pairs():
                index.setdefault(name.lower(), []).append(value)
            self._map = index
        return self._map

    def __getitem__(self, name: str) -> str:
        values = self.getlist(name)
        if not values:
            raise KeyError(name)
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.getlist(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())

    def getlist(self, name: str) -> list[str]:
        """Every value sent under ``name``, in order (empty list when absent)."""
        if self._map is not None:
            return list(self._map.get(name.lower(), ()))
        environ = self._environ
        if environ is not None:
            key = _ENVIRON_KEYS.get(name)
            if key is None:
                key = _environ_key(name)
                if len(_ENVIRON_KEYS) < 4096:  # bounded: names come from configuration
                    _ENVIRON_KEYS[name] = key
            if not key:
                return list(self._index().get(name.lower(), ()))  # rare: the full rules
            value = environ.get(key)
            return [value] if isinstance(value, str) else []
        raw = self._raw
        if raw is not None:
            wanted = _ASGI_NAMES.get(name)
            if wanted is None:
                try:
                    wanted = name.encode("latin-1").lower()
                except UnicodeEncodeError:
                    return []
                if len(_ASGI_NAMES) < 4096:  # bounded: names come from configuration
                    _ASGI_NAMES[name] = wanted
            single = self._single
            if single is None:
                # One pass over the headers, then lookups by name. bytes.lower() folds
                # ASCII only, as HTTP does.
                single = self._single = {k.lower(): v for k, v in raw}
                if len(single) != len(raw):  # a name repeats: keep every value
                    by_name: dict[bytes, list[bytes]] = {}
                    for k, v in raw:
                        by_name.setdefault(k.lower(), []).append(v)
                    self._by_name = by_name
            if self._by_name is not None:
                return [v.decode("latin-1") for v in self._by_name.get(wanted, ())]
            value = single.get(wanted)
            return [] if value is None else [value.decode("latin-1")]
        return list(self._index().get(name.lower(), ()))

    def items_raw(self) -> tuple[tuple[str, str], ...]:
        """The header pairs as received."""
        return self._pairs()

    def __repr__(self) -> str:
        return f"Headers({len(self._pairs())} fields)"


#: Header name -> its WSGI environ key ("" where the full rules apply). Schemes ask for a
#: handful of fixed names; computing the key each time costs more than the lookup.
_ENVIRON_KEYS: dict[str, str] = {}


#: Header name -> its lowercase bytes, as ASGI header lists hold them.
_ASGI_NAMES: dict[str, bytes] = {}


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    if "_" in name or not name.isascii() or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return ""
    return "HTTP_" + key


class WebhookRequest(NamedTuple):
    """A buffered request: what a provider scheme verifies (an immutable record).

    :param method: the HTTP method, upper case.
    :param path: the app-relative, decoded path the router sees.
    :param headers: the request headers.
    :param body: the exact body bytes; never decoded by the guard.
    :param query: the raw query string (undecoded).
    :param url: the public URL, when a scheme needs it (URL-signed providers).
    :param params: values of the route's ``{param}`` segments.
    """

    method: str
    path: str
    headers: Headers
    body: bytes = b""
    query: str = ""
    url: str = ""
    params: Mapping[str, str] = _EMPTY

    def query_values(self, name: str) -> list[str]:
        """Every value of query parameter ``name`` (decoded), in order."""
        return [v for k, v in parse_qsl(self.query, keep_blank_values=True) if k == name]
