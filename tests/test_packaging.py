"""The built distributions: LICENSE in the wheel and the sdist, metadata (licence, project
URLs) and entry points (the ``webhook-guard`` script and the ``pytest11`` plugin).

Built with hatchling from this tree, without build isolation (offline); hatchling is a
test dependency.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = """
import sys
from hatchling.build import build_sdist, build_wheel

out = sys.argv[1]
print(build_wheel(out))
print(build_sdist(out))
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("hatchling", reason="hatchling builds the distributions (test extra)")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-c", BUILD, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1790000000"},
    )
    assert result.returncode == 0, result.stderr
    wheel_name, sdist_name = result.stdout.split()
    return out / wheel_name, out / sdist_name


def test_wheel_carries_the_license_and_metadata(dists: tuple[Path, Path]) -> None:
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
        info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
        license_text = zf.read(f"{info}/licenses/LICENSE").decode()
        metadata = zf.read(f"{info}/METADATA").decode()
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    assert license_text.startswith("MIT License")
    assert (ROOT / "LICENSE").read_text() == license_text
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    for label in ("Homepage", "Documentation", "Changelog", "Issues"):
        assert f"Project-URL: {label}, https://" in metadata
    assert "[pytest11]\nwebhook_guard = webhook_guard.pytest_plugin" in entry_points
    assert "webhook-guard = webhook_guard.cli:main" in entry_points
    assert {"webhook_guard/py.typed", "webhook_guard/pytest_plugin.py"} <= files
    assert not any(n.startswith("tests/") for n in files)


def test_sdist_carries_the_license(dists: tuple[Path, Path]) -> None:
    _, sdist = dists
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        top = names[0].split("/")[0]
        member = tf.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read().decode().startswith("MIT License")
    assert f"{top}/README.md" in names
    assert f"{top}/pyproject.toml" in names
