"""The README's provider table and the registry must agree."""

from __future__ import annotations

import re
from pathlib import Path

from webhook_guard import providers

README = Path(__file__).resolve().parent.parent / "README.md"


def test_provider_table_matches_registry() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Providers", 1)[1].split("\n## ", 1)[0]
    listed: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].startswith("`"):
            listed.update(re.findall(r"`([a-z_]+)`", cells[1]))
    assert listed == set(providers.names())
