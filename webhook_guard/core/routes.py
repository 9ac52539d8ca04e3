"""Routes and path matching.

Patterns are exact paths (``/hooks/dingtalk``), paths with ``{param}`` segments
(``/hooks/github/{repo}``) and a trailing prefix wildcard (``/hooks/*``). A single
trailing slash on the pattern or the request is ignored.

Matching runs on the same decoded, app-relative path the router sees (``PATH_INFO``;
ASGI ``path`` minus ``root_path``). A path that is not an exact match but turns into
one after loosening (case folding, ``//``, dot segments, ``;`` parameters, backslashes,
percent-decoding, NUL, newlines) is *denied*, never passed through: a router or a proxy
might normalise it onto the guarded handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Generic, Protocol, TypeVar
from urllib.parse import unquote

from webhook_guard.core.scheme import Scheme

__all__ = ("DENY", "Route", "RouteTable", "loosen", "normalise_pattern", "patterns_overlap")

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Characters and sequences a clean path under a guarded prefix never contains.
_ODD = re.compile(r"//|/\.|[\\;%\x00\n]")
_EMPTY: Mapping[str, str] = MappingProxyType({})


#: Most paths ``RouteTable`` remembers as matching no route, and the longest it remembers.
MAX_MISSES = 4096
MISS_PATH_LENGTH = 256


def _is_odd(path: str) -> bool:
    """``_ODD.search(path)`` without the regex engine (a third of the cost, every request),
    or a path without its leading slash (``POST hooks/github HTTP/1.1``: wsgiref, Werkzeug's
    dev server and ASGI-to-WSGI adapters hand it on, and routers add the slash). A newline
    (``/hooks/github%0a``, decoded by every server) is odd: Starlette's route regexes end in
    ``$``, which matches before a final ``\\n``, so its router runs ``/hooks/github``."""
    return (
        path[:1] != "/"
        or "%" in path
        or ";" in path
        or "\\" in path
        or "\x00" in path
        or "\n" in path
        or "//" in path
        or "/." in path
    )


class _Deny:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DENY"


#: Returned by ``RouteTable.match`` for disguised variants of a guarded path.
DENY: Final = _Deny()


@dataclass(frozen=True, slots=True)
class Route:
    """A guarded path pattern and the provider scheme that verifies it.

    :param pattern: ``/exact``, ``/with/{param}`` or ``/prefix/*``.
    :param provider: the scheme, from ``webhook_guard.providers``.
    :param max_body: largest accepted body in bytes (default: the guard's).
    :param status: status for authentication failures (default 401).
    :param unsigned: explicitly accept requests without verification (``verified=False``).
    :param replay: claim a replay key for every verified request.
    :param replay_ttl: seconds to remember deliveries of schemes without a timestamp.
    :param public_url: the URL the provider calls, for URL-signed schemes (Twilio, Square, ...)
        behind proxies; the query string of the request is appended.
    :param report_only: rollout mode: verify and record, but pass every request on (with
        ``verified=False`` and the reason when it fails). Transport problems (size,
        framing, timeouts, bad paths) are still refused.
    """

    pattern: str
    provider: Scheme | None = None
    max_body: int | None = None
    status: int | None = None
    unsigned: bool = False
    replay: bool = True
    replay_ttl: float | None = None
    public_url: str | None = None
    report_only: bool = False
    name: str = field(default="", compare=False)

    @property
    def provider_name(self) -> str:
        return self.provider.name if self.provider is not None else "unsigned"


def normalise_pattern(pattern: str) -> str:
    """Validate a pattern and drop a trailing slash; raises ValueError when invalid."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern {pattern!r} must start with '/'")
    if _ODD.search(pattern.replace("/*", "")) or "?" in pattern or "#" in pattern:
        raise ValueError(f"route pattern {pattern!r} contains characters a clean path never has")
    body = pattern[:-2] if pattern.endswith("/*") else pattern
    if "*" in body:
        raise ValueError(f"route pattern {pattern!r}: '*' is only allowed as the last segment")
    for segment in body.split("/")[1:]:
        if ("{" in segment or "}" in segment) and not _PARAM.fullmatch(segment):
            raise ValueError(f"route pattern {pattern!r}: bad parameter segment {segment!r}")
    if len(pattern) > 1 and pattern.endswith("/") and not pattern.endswith("/*"):
        pattern = pattern.rstrip("/") or "/"
    return pattern


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some path could match both normalised patterns (segment by segment)."""
    sa, sb = a.split("/")[1:], b.split("/")[1:]
    for i in range(max(len(sa), len(sb))):
        x = sa[i] if i < len(sa) else None
        y = sb[i] if i < len(sb) else None
        if x == "*" or y == "*":
            # "/p/*" also matches "/p" itself.
            return True
        if x is None or y is None:
            return False
        if x != y and not (_PARAM.fullmatch(x) or _PARAM.fullmatch(y)):
            return False
    return True


def _compile(pattern: str, *, loose: bool) -> re.Pattern[str]:
    wildcard = pattern.endswith("/*")
    body = pattern[:-2] if wildcard else pattern
    out, pos = [], 0
    for m in _PARAM.finditer(body):
        out.append(re.escape(body[pos : m.start()].lower() if loose else body[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(body[pos:].lower() if loose else body[pos:]))
    if wildcard:
        out.append("(?:/(?P<_rest>.*))?")
    return re.compile("".join(out), re.DOTALL)


def loosen(path: str) -> str:
    """Every shape a lenient router or proxy might turn ``path`` into, folded into one."""
    text = path
    for _ in range(3):  # double and triple encodings
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = text.replace("\\", "/").replace("\x00", "").replace("\n", "")
    segments: list[str] = []
    for raw in text.split("/"):
        segment = raw.split(";", 1)[0]
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments).lower()


class _Patterned(Protocol):
    @property
    def pattern(self) -> str: ...


T = TypeVar("T", bound=_Patterned)


class RouteTable(Generic[T]):
    """Compiled routes (``Route``, or anything with a ``pattern``). ``match(path)`` returns
    ``(route, params)``, ``DENY`` or None."""

    __slots__ = ("_dynamic", "_loose", "_misses", "_prefixes", "_static", "routes")

    def __init__(self, routes: Iterable[T]) -> None:
        self.routes = tuple(routes)
        self._static: dict[str, tuple[T, Mapping[str, str]]] = {}
        self._dynamic: list[tuple[re.Pattern[str], T]] = []
        self._loose: list[re.Pattern[str]] = []
        prefixes: set[str] = set()
        for route in self.routes:
            pattern = route.pattern
            if "{" in pattern or pattern.endswith("/*"):
                self._dynamic.append((_compile(pattern, loose=False), route))
            else:
                self._static.setdefault(pattern, (route, _EMPTY))
            self._loose.append(_compile(pattern, loose=True))
            first = pattern.split("/", 2)[1]
            prefixes.add("/" if "{" in first or first == "*" else "/" + first.lower())
        self._prefixes = tuple(sorted(prefixes))
        #: Paths seen to match no route (the table never changes, so neither does the
        #: answer): the app's own paths cost one lookup from their second request on.
        self._misses: dict[str, None] = {}

    def match(self, path: str) -> tuple[T, Mapping[str, str]] | _Deny | None:
        """Find the route for an app-relative, decoded path."""
        found = self._static.get(path)
        if found is not None:
            return found  # a static pattern is a clean path: so is this one
        if path in self._misses:
            return None
        key = path[:-1] if path[-1:] == "/" and len(path) > 1 else path
        if key is not path and key != "/":
            found = self._static.get(key)
            if found is not None:
                return found  # the pattern plus "/": clean too (but "//" is not)
        odd = _is_odd(path)
        if not odd and not path.lower().startswith(self._prefixes):
            # Under no route's first segment and clean: no route and no disguise can match.
            self._miss(path)
            return None
        for regex, candidate in self._dynamic:
            m = regex.fullmatch(key)
            if m is not None:
                if odd:
                    return DENY
                params = {
                    ("*" if k == "_rest" else k): v
                    for k, v in m.groupdict().items()
                    if v is not None
                }
                return candidate, params
        loose = loosen(path)
        loose_key = loose[:-1] if len(loose) > 1 and loose[-1] == "/" else loose
        for regex in self._loose:
            if regex.fullmatch(loose_key):
                return DENY
        self._miss(path)
        return None

    @property
    def misses(self) -> Mapping[str, None]:
        """The paths remembered as matching no route (``match`` answers None for each):
        adapters test membership first, one C-level lookup on an unguarded path."""
        return self._misses

    def _miss(self, path: str) -> None:
        """Remember that ``path`` matches no route: bounded in entries and length (paths
        come from clients), cleared when full."""
        if len(path) <= MISS_PATH_LENGTH:
            misses = self._misses
            if len(misses) >= MAX_MISSES:
                misses.clear()
            misses[path] = None
