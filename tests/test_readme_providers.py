"""The README's provider table says, for every provider, which key de-duplicates its
retries and how long processed events are remembered: checked here against the schemes
themselves (the ``dedupe key`` and ``kept`` columns).

``python -m tests.test_readme_providers`` rewrites those two columns from the registry.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.providers.test_registry import CASES, Case
from webhook_guard import Route
from webhook_guard.core.guard import Engine
from webhook_guard.core.scheme import Scheme
from webhook_guard.providers import REGISTRY
from webhook_guard.providers.asymmetric import AsymmetricScheme
from webhook_guard.providers.catalogue import Mailgun
from webhook_guard.providers.dingtalk import DingTalk
from webhook_guard.providers.encrypted import Feishu, _Tencent
from webhook_guard.providers.standard import StandardWebhooks
from webhook_guard.providers.timestamped import Twitch
from webhook_guard.providers.token import Token
from webhook_guard.providers.urlsigned import Plivo

README = Path(__file__).resolve().parent.parent / "README.md"
HEADER = "| provider | factory | headers | algorithm | window | dedupe key | kept | handshake | extra |"


def scheme_of(name: str) -> Scheme:
    case = CASES.get(name, Case())
    return REGISTRY[name](secret=case.secret, **case.options)


def dedupe_key(scheme: Scheme) -> str:
    """What identifies one event of ``scheme`` (the replay key's source), in words."""
    if scheme.event_id is not None:
        return f"body `{'.'.join(scheme.event_id)}`, else the signed message"
    if isinstance(scheme, StandardWebhooks):
        return "signed `" + "`/`".join(f"{p}-id" for p in scheme.prefixes) + "`"
    if isinstance(scheme, Twitch):
        return "signed `Twitch-Eventsub-Message-Id`"
    if isinstance(scheme, Feishu):
        return (
            "signed `header.event_id`/`uuid` (else the signature)"
            if scheme.encrypted
            else "none (token mode: nothing signed)"
        )
    return _message_identity(scheme)


def _message_identity(scheme: Scheme) -> str:
    if isinstance(scheme, Token):
        return "none (nothing signed)"
    if isinstance(scheme, DingTalk):
        return "signed (timestamp, sign) pair"
    if isinstance(scheme, Mailgun):
        return "signed `token`"
    if isinstance(scheme, AsymmetricScheme):
        return "timestamp + body digest (a re-signed retry is new)"
    if isinstance(scheme, _Tencent):
        return "signature over timestamp, nonce, ciphertext"
    if isinstance(scheme, Plivo):
        return "MAC of URL, parameters and nonce (each request is new)"
    if scheme.replay_ttl() is not None:
        return "MAC of the signed bytes with the timestamp (a re-signed retry is new)"
    return "MAC of the signed bytes (identical retries)"


def kept(scheme: Scheme) -> str:
    """How long a processed event's key is remembered with the defaults."""
    seconds = Engine([Route("/p", scheme)]).replay_ttl(Route("/p", scheme))
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} d"
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:g} h"
    return f"{seconds / 60:g} min"


def _table_rows(text: str) -> list[tuple[int, list[str]]]:
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows = []
    for index in range(start + 2, len(lines)):
        line = lines[index]
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))  # "\|" is a literal bar
        rows.append((index, [c.strip() for c in cells]))
    return rows


def _names(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def expected_cells(name: str) -> tuple[str, str]:
    scheme = scheme_of(name)
    return dedupe_key(scheme), kept(scheme)


ROWS = _table_rows(README.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "cells", [cells for _, cells in ROWS], ids=[_names(c[1])[0] for _, c in ROWS]
)
def test_dedupe_key_and_retention_columns_match_the_schemes(cells: list[str]) -> None:
    assert len(cells) == HEADER.count("|") - 1
    for name in _names(cells[1]):
        assert (cells[5], cells[6]) == expected_cells(name), name


def test_every_registered_provider_is_in_the_table() -> None:
    listed = {n for _, cells in ROWS for n in _names(cells[1])}
    assert listed == set(REGISTRY)


def rewrite() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    for index, cells in _table_rows(text):
        cells[5], cells[6] = expected_cells(_names(cells[1])[0])
        lines[index] = "| " + " | ".join(cells) + " |"
    README.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rewrite()
    sys.exit(0)
