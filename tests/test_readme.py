"""The README as code: every ```python block runs, and the provider table matches the registry.

- A block runs in a fresh namespace, in a temporary directory holding the README's TOML
  example as ``webhook_guard.toml``, with every ``env:NAME`` the README mentions set, the
  session's redis-server in place of ``redis://127.0.0.1:6379/0``, and these names
  provided for blocks that show one line of a larger program: ``app`` (a WSGI app),
  ``routes`` (a list of routes) and ``notify_on_call`` (an alert callback).
- A block after ``<!-- fragment -->`` is an excerpt by nature: it is only compiled.
- A block after ``<!-- pytest -->`` is a test module: it runs under pytest (in a
  subprocess, with the project's plugin) and all its tests must pass.
- The quick start's blocks run with nothing provided, and the apps they define are then
  sent signed webhooks, as a reader who copies them would.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import providers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^\s*```(\w*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(fragment|pytest)\s*-->\s*$")
DOC_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    code: str
    section: str
    marker: str | None

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"line-{self.line}-{slug}"


def blocks(text: str) -> Iterator[Block]:
    lines = text.splitlines()
    section, marker, index = "", None, 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        found = MARKER.match(line)
        if found:
            marker = found.group(1)
        fence = FENCE.match(line)
        if fence:
            start = index + 1
            index += 1
            while index < len(lines) and not lines[index].lstrip().startswith("```"):
                index += 1
            indent = len(line) - len(line.lstrip())
            code = "\n".join(x[indent:] for x in lines[start:index]) + "\n"
            yield Block(start, fence.group(1), code, section, marker)
            marker = None
        elif line.strip() and not found:
            marker = None
        index += 1


ALL = list(blocks(README.read_text(encoding="utf-8")))
PYTHON = [b for b in ALL if b.language == "python"]
QUICK_START = [b for b in PYTHON if b.section == "Sixty seconds" and b.marker is None]


def test_readme_has_python_blocks_and_a_two_framework_quick_start() -> None:
    assert len(PYTHON) >= 8
    assert len(QUICK_START) == 2
    assert "Flask" in QUICK_START[0].code
    assert "FastAPI" in QUICK_START[1].code


def test_provider_table_matches_registry() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Providers", 1)[1].split("\n## ", 1)[0]
    listed: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].startswith("`"):
            listed.update(re.findall(r"`([a-z][a-z0-9_]*)`", cells[1]))
    assert listed == set(providers.names())


# -- the runner --------------------------------------------------------------------------------


@pytest.fixture
def readme_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> str:
    """Every ``env:NAME`` of the README set, the README's TOML example on disk, Redis."""
    text = README.read_text(encoding="utf-8")
    for name in sorted(set(re.findall(r"env:([A-Z][A-Z0-9_]*)", text))):
        monkeypatch.setenv(name, f"readme-{name.lower()}")
    monkeypatch.setenv("VAULT_TOKEN", "readme-vault-token")
    for name in [n for n in os.environ if n.startswith("WEBHOOK_GUARD_")]:
        monkeypatch.delenv(name)
    toml = [b for b in ALL if b.language == "toml"]
    if toml:
        (tmp_path / "webhook_guard.toml").write_text(toml[0].code.replace(DOC_REDIS, redis_url))
    monkeypatch.chdir(tmp_path)
    return redis_url


def _context() -> dict[str, Any]:
    from webhook_guard import Route
    from webhook_guard.providers import github

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    return {
        "__name__": "readme",
        "app": app,
        "routes": [Route("/hooks/github", github(secret="env:GH_WEBHOOK_SECRET"))],
        "notify_on_call": lambda event: None,
    }


def _run(code: str, namespace: dict[str, Any], name: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        # Starlette >= 1.10 asks for httpx2 in its TestClient; httpx still works.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        exec(compile(code, name, "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block(block: Block, request: pytest.FixtureRequest) -> None:
    """Each block as its marker says: run (default), only compiled, or run under pytest."""
    if block.marker == "fragment":
        compile(block.code, f"README.md:{block.line}", "exec")
    elif block.marker == "pytest":
        _run_pytest_block(block, request.getfixturevalue("tmp_path"))
    else:
        _run_block(block, request.getfixturevalue("readme_env"))


def test_every_kind_of_block_is_present() -> None:
    assert {b.marker for b in PYTHON} == {None, "fragment", "pytest"}


def _run_block(block: Block, redis_url: str) -> None:
    from prometheus_client import REGISTRY

    readme_env = redis_url
    code = block.code.replace(DOC_REDIS, readme_env)
    before = set(REGISTRY._names_to_collectors)
    try:
        _run(code, _context(), f"README.md:{block.line}")
    finally:  # a block that registers Prometheus metrics may run again in this session
        for name in set(REGISTRY._names_to_collectors) - before:
            collector = REGISTRY._names_to_collectors.get(name)
            if collector is not None:
                with contextlib.suppress(KeyError):
                    REGISTRY.unregister(collector)


def _run_pytest_block(block: Block, tmp_path: Path) -> None:
    (tmp_path / "test_readme_example.py").write_text(block.code)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    args += ["-W", "ignore:Using `httpx` with `starlette.testclient`"]
    if not any(
        ep.value == "webhook_guard.pytest_plugin"
        for ep in importlib.metadata.entry_points(group="pytest11")
    ):
        args += ["-p", "webhook_guard.pytest_plugin"]  # an install made before the entry point
    result = subprocess.run(
        [*args, "test_readme_example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b[1-9][0-9]* passed\b", result.stdout)
    assert "failed" not in result.stdout


# -- the quick start, as a reader who copies it ------------------------------------------------


def test_quick_start_flask_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook_guard.testing import post_signed, sign_request

    monkeypatch.setenv("GH_WEBHOOK_SECRET", "quick-start-secret")
    namespace = _run(QUICK_START[0].code, {"__name__": "quickstart"}, "quick start (Flask)")
    client = namespace["app"].test_client()
    signed = sign_request("github", b'{"zen": "hi"}', secret="quick-start-secret")
    response = post_signed(client, signed, "/hooks/github")
    assert (response.status_code, response.get_json()) == (
        200,
        {"provider": "github", "key": "env:GH_WEBHOOK_SECRET"},
    )
    forged = sign_request("github", b'{"zen": "hi"}', secret="forged")
    assert post_signed(client, forged, "/hooks/github").status_code == 401


def test_quick_start_fastapi_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook_guard.testing import post_signed, sign_request

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_quick")
    namespace = _run(QUICK_START[1].code, {"__name__": "quickstart"}, "quick start (FastAPI)")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient

    signed = sign_request("stripe", b'{"id": "evt_quick", "object": "event"}', secret="whsec_quick")
    forged = sign_request("stripe", b'{"id": "evt_forged"}', secret="whsec_other")
    with TestClient(namespace["app"]) as client:
        response = post_signed(client, signed, "/hooks/stripe")
        refused = post_signed(client, forged, "/hooks/stripe")
    assert (response.status_code, response.json()) == (200, {"event": "evt_quick"})
    assert refused.status_code == 401
