"""The public surface: ``__all__``, import weight of the sans-IO core, ``py.typed``."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

import webhook_guard

CORE_FORBIDDEN = (
    "socket",
    "asyncio",
    "wsgiref",
    "http.client",
    "urllib.request",
    "logging",
    "django",
    "flask",
    "starlette",
    "redis",
    "webhook_guard.wsgi",
    "webhook_guard.asgi",
    "webhook_guard.guard",
    "webhook_guard.keysources",
    "webhook_guard.stores",
)
TOP_FORBIDDEN = ("cryptography", "redis", "django", "flask", "starlette")


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def baseline() -> set[str]:
    return modules_after("pass")


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in webhook_guard.__all__])
def test_every_public_name_exists(name: str) -> None:
    assert getattr(webhook_guard, name) is not None


def test_all_has_no_duplicates() -> None:
    assert len(set(webhook_guard.__all__)) == len(webhook_guard.__all__)


def added(baseline: set[str], statement: str, forbidden: tuple[str, ...]) -> list[str]:
    new = modules_after(statement) - baseline
    return sorted(m for m in new if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_core_import_is_sans_io(baseline: set[str]) -> None:
    assert "webhook_guard.core" in modules_after("import webhook_guard.core")
    assert added(baseline, "import webhook_guard.core", CORE_FORBIDDEN) == []


def test_forbidden_check_can_fail(baseline: set[str]) -> None:
    """The helper does detect an I/O module when one is imported."""
    assert added(baseline, "import webhook_guard.core, asyncio", CORE_FORBIDDEN)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("import webhook_guard", id="import"),
        pytest.param("from webhook_guard import *", id="star"),
        pytest.param("from webhook_guard import Guard, get_verdict", id="guard"),
    ],
)
def test_top_level_import_stays_light(baseline: set[str], statement: str) -> None:
    assert added(baseline, statement, TOP_FORBIDDEN) == []


def test_py_typed_shipped() -> None:
    package_dir = pathlib.Path(webhook_guard.__file__).parent
    assert (package_dir / "py.typed").is_file()
