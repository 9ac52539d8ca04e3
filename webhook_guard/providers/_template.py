"""Signed-string templates: ``"v0:{timestamp}:{body}"`` compiled once per route.

Fields: ``{body}``, ``{timestamp}``, ``{id}``, ``{method}``, ``{path}``, ``{query}``,
``{header:Name}`` and ``{secret}``; ``{{``/``}}`` are literal braces. Used by the
timestamped template HMAC family (``webhook_guard.providers.template``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ("FIELDS", "Part", "Template")

_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([A-Za-z0-9_-]+))?\}|[{}]")
#: The request fields a template may name.
FIELDS = ("body", "timestamp", "id", "method", "path", "query", "header", "secret")
_SIMPLE = frozenset({"literal", "timestamp", "id"})

# A template part: literal text, or the name of a request field (and a header name).
Part = tuple[str, str]


class Template:
    """A compiled signed-string template such as ``"v0:{timestamp}:{body}"``.

    ``{{``/``}}`` are literal braces.
    """

    __slots__ = ("parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        parts: list[Part] = []
        literal: list[str] = []
        pos = 0
        # One left-to-right scan, as str.format does, so "{{{body}}}" is "{" + body + "}".
        for m in _TOKEN.finditer(source):
            literal.append(source[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            if m.group(1) is None:
                raise ValueError(f"unbalanced brace in template {source!r}")
            if m.group(1) not in FIELDS or (m.group(1) == "header") != bool(m.group(2)):
                raise ValueError(f"unknown template field {token!r} in {source!r}")
            if any(literal):
                parts.append(("literal", "".join(literal)))
            literal = []
            parts.append((m.group(1), m.group(2) or ""))
        literal.append(source[pos:])
        if any(literal):
            parts.append(("literal", "".join(literal)))
        self.parts = tuple(parts)

    def uses(self, kind: str) -> bool:
        return any(k == kind for k, _ in self.parts)

    def render(self, fields: dict[str, Any], headers: dict[str, str]) -> list[Any]:
        """The signed message as a list of byte strings (fed to the MAC one by one)."""
        out: list[Any] = []
        for kind, value in self.parts:
            if kind == "literal":
                out.append(value.encode("utf-8"))
            elif kind == "header":
                out.append(headers[value.lower()].encode("latin-1"))
            else:
                out.append(fields[kind])
        return out

    def split(self) -> tuple[str, str] | None:
        """``(before, after)`` format strings around one ``{body}`` when the other parts
        are literals, ``{timestamp}`` (``{0}``) and ``{id}`` (``{1}``); else None."""
        kinds = [k for k, _ in self.parts]
        if kinds.count("body") != 1 or not set(kinds) - {"body"} <= _SIMPLE:
            return None
        at = kinds.index("body")

        def fmt(parts: Sequence[Part]) -> str:
            out = ""
            for kind, value in parts:
                if kind == "literal":
                    out += value.replace("{", "{{").replace("}", "}}")
                else:
                    out += "{0}" if kind == "timestamp" else "{1}"
            return out

        return fmt(self.parts[:at]), fmt(self.parts[at + 1 :])
