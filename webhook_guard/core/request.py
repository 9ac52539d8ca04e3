"""Request values the core decides on: ``Headers`` and ``WebhookRequest``.

Header values are ``str`` decoded as latin-1 (the WSGI convention; ASGI bytes are
decoded the same way), so any byte sequence is representable and nothing here raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl

__all__ = ("Headers", "WebhookRequest")


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive multimap of header names to values.

    ``headers[name]`` and ``get(name)`` return the first value; ``getlist(name)``
    returns all of them, so a scheme can refuse a security header sent twice.
    """

    __slots__ = ("_items", "_map")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple(items)
        index: dict[str, list[str]] = {}
        for name, value in self._items:
            index.setdefault(name.lower(), []).append(value)
        self._map = index

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Build from ASGI ``scope["headers"]`` (byte pairs)."""
        return cls((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)

    @classmethod
    def from_environ(cls, environ: Mapping[str, object]) -> Headers:
        """Build from a WSGI environ: ``HTTP_*`` keys plus ``CONTENT_TYPE``/``CONTENT_LENGTH``."""
        items: list[tuple[str, str]] = []
        for key, value in environ.items():
            if not isinstance(value, str):
                continue
            if key.startswith("HTTP_"):
                items.append((key[5:].replace("_", "-"), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                items.append((key.replace("_", "-"), value))
        return cls(items)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()][0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def getlist(self, name: str) -> list[str]:
        """Every value sent under ``name``, in order (empty list when absent)."""
        return list(self._map.get(name.lower(), ()))

    def items_raw(self) -> tuple[tuple[str, str], ...]:
        """The header pairs as received."""
        return self._items

    def __repr__(self) -> str:
        return f"Headers({len(self._items)} fields)"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRequest:
    """A buffered request: what a provider scheme verifies.

    :param method: the HTTP method, upper case.
    :param path: the app-relative, decoded path the router sees.
    :param query: the raw query string (undecoded).
    :param headers: the request headers.
    :param body: the exact body bytes; never decoded by the guard.
    :param url: the public URL, when a scheme needs it (URL-signed providers).
    """

    method: str
    path: str
    headers: Headers
    body: bytes = b""
    query: str = ""
    url: str = ""
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def query_values(self, name: str) -> list[str]:
        """Every value of query parameter ``name`` (decoded), in order."""
        return [v for k, v in parse_qsl(self.query, keep_blank_values=True) if k == name]
