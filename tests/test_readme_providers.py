"""The README's provider and handshake tables are generated from the provider rows
(``webhook_guard.providers.catalogue``): every column, including the dedupe key, how long
processed events are kept, the default body limit and the oracle the tests use.

``python -m tests.test_readme_providers`` rewrites both tables from the registry.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.providers.test_registry import CASES, Case
from webhook_guard import Route
from webhook_guard.core.guard import DEFAULT_MAX_BODY, Engine
from webhook_guard.core.scheme import Scheme
from webhook_guard.providers import REGISTRY
from webhook_guard.providers.asymmetric import Asymmetric
from webhook_guard.providers.embedded import Adyen, Mailgun
from webhook_guard.providers.feishu_events import Feishu
from webhook_guard.providers.jws import JWS
from webhook_guard.providers.sns import SNS
from webhook_guard.providers.standard import StandardWebhooks
from webhook_guard.providers.template import TemplateHMAC
from webhook_guard.providers.tencent import Tencent
from webhook_guard.providers.tokens import BodyToken, Token
from webhook_guard.providers.urlsigned import URLSigned

README = Path(__file__).resolve().parent.parent / "README.md"
COLUMNS = (
    "provider", "factory", "headers", "algorithm", "window", "dedupe key", "kept",
    "max body", "handshake", "oracle", "extra",
)  # fmt: skip
HANDSHAKE_COLUMNS = ("provider", "factory", "default", "handshake", "answered")


def scheme_of(name: str) -> Any:
    case = CASES.get(name, Case())
    return REGISTRY[name](secret=case.secret, **case.options)


def dedupe_key(scheme: Scheme) -> str:
    """What identifies one event of ``scheme`` (the replay key's source), in words."""
    if scheme.event_id is not None:
        return f"body `{'.'.join(scheme.event_id)}`, else the signed message"
    if isinstance(scheme, StandardWebhooks):
        return "signed `" + "`/`".join(f"{p}-id" for p in scheme.prefixes) + "`"
    if isinstance(scheme, TemplateHMAC) and scheme.id_header and scheme._identity == "id":
        return f"signed `{scheme.id_header}`"
    if isinstance(scheme, Feishu):
        return (
            "signed `header.event_id`/`uuid` (else the signature)"
            if scheme.encrypted
            else "none (token mode: nothing signed)"
        )
    return _message_identity(scheme)


def _message_identity(scheme: Scheme) -> str:
    if isinstance(scheme, (Token, BodyToken)):
        return "none (nothing signed)"
    if isinstance(scheme, Adyen):
        return "the items' signed strings, in any order"
    if isinstance(scheme, SNS):
        return "signed `MessageId` (kept on retries)"
    if isinstance(scheme, JWS):
        return "the signed JWS (identical retries)"
    if isinstance(scheme, URLSigned) and scheme._prefixed:
        return "hash of the signed bytes (identical retries)"
    if isinstance(scheme, TemplateHMAC) and scheme._identity == "timestamp":
        return "signed (timestamp, sign) pair"
    if isinstance(scheme, Mailgun):
        return "signed `token`"
    if isinstance(scheme, Asymmetric):
        return "timestamp + body digest (a re-signed retry is new)"
    if isinstance(scheme, Tencent):
        return "signature over timestamp, nonce, ciphertext"
    if isinstance(scheme, URLSigned) and scheme.nonce_header:
        return "MAC of URL, parameters and nonce (each request is new)"
    if scheme.replay_ttl() is not None:
        return "MAC of the signed bytes with the timestamp (a re-signed retry is new)"
    return "MAC of the signed bytes (identical retries)"


def _duration(seconds: float) -> str:
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} d"
    if seconds >= 3600 and seconds % 900 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def kept(scheme: Scheme) -> str:
    """How long a processed event's key is remembered with the defaults."""
    return _duration(Engine([Route("/p", scheme)]).replay_ttl(Route("/p", scheme)))


def window(scheme: Any) -> str:
    past, future = getattr(scheme, "window", None), getattr(scheme, "future_window", None)
    if past is None:
        row = REGISTRY[scheme.name]
        return "none (`window=` optional)" if row.family.optional_window else "none"
    text = f"{past:g} s both ways" if past == future else f"{past:g} s past, {future:g} s future"
    limit = REGISTRY[scheme.name].max_window
    return text + (f" (at most {limit:g} s)" if limit < 86400 else "")


def max_body(scheme: Scheme) -> str:
    size = scheme.max_body
    if size is None:
        return f"{DEFAULT_MAX_BODY // (1024 * 1024)} MiB (the guard's default)"
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def provider_row(name: str) -> list[str]:
    row, scheme = REGISTRY[name], scheme_of(name)
    handshake = scheme.handshake_table()
    return [
        row.title, f"`{name}`", row.headers, row.algorithm, window(scheme), dedupe_key(scheme),
        kept(scheme), max_body(scheme), handshake[0] if handshake else "none", row.oracle,
        row.notes or "—",
    ]  # fmt: skip


def handshake_rows() -> list[list[str]]:
    rows = []
    for name, row in REGISTRY.items():
        handshake = scheme_of(name).handshake_table()
        if handshake is not None:
            rows.append([row.title, f"`{name}`", *handshake[1:]])
    return rows


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") if "\\|" not in c else c for c in cells) + " |"


def table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    return [_line(list(columns)), "|" + "---|" * len(columns), *(_line(r) for r in rows)]


def tables() -> tuple[list[str], list[str]]:
    return (
        table(COLUMNS, [provider_row(name) for name in REGISTRY]),
        table(HANDSHAKE_COLUMNS, handshake_rows()),
    )


def _span(lines: list[str], header: str) -> tuple[int, int]:
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def _readme_tables() -> tuple[list[str], list[str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    out = []
    for columns in (COLUMNS, HANDSHAKE_COLUMNS):
        start, end = _span(lines, _line(list(columns)))
        out.append(lines[start:end])
    return out[0], out[1]


PROVIDERS, HANDSHAKES = tables()
IN_README = _readme_tables()


@pytest.mark.parametrize(
    ("line", "expected"),
    [pytest.param(i, e, id=e.split(" | ")[1].strip("`")) for i, e in enumerate(PROVIDERS[2:], 2)],
)
def test_provider_table_row_is_generated_from_the_registry(line: int, expected: str) -> None:
    assert IN_README[0][line] == expected, "run: python -m tests.test_readme_providers"


def test_provider_tables_match_the_registry_exactly() -> None:
    assert IN_README == (PROVIDERS, HANDSHAKES), "run: python -m tests.test_readme_providers"


def test_every_registered_provider_is_in_the_table_with_an_oracle() -> None:
    assert len(PROVIDERS) - 2 == len(REGISTRY)
    for name, row in REGISTRY.items():
        assert row.oracle, name
        assert row.title, name
        assert row.headers, name
        assert row.algorithm, name


def test_generation_can_fail() -> None:
    """A changed row (here its oracle) no longer matches the README."""
    name = next(iter(REGISTRY))
    row = provider_row(name)
    row[9] = "something else"
    assert _line(row) not in IN_README[0]


def rewrite() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    for generated in tables():
        start, end = _span(lines, generated[0]) if generated[0] in lines else (None, None)
        if start is None:
            raise SystemExit(f"README.md has no table headed {generated[0]!r}")
        lines[start:end] = generated
    README.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rewrite()
    sys.exit(0)
