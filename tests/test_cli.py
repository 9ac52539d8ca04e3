"""``webhook-guard``: check, gen-secret, sign, demo."""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
from pathlib import Path

import pytest

from webhook_guard.cli import check_command, main
from webhook_guard.providers import github

NOV_23 = 1_795_392_000.0  # 2026-11-23T00:00:00Z
DAY = 86400.0

CONFIG = """
[[routes]]
path = "/hooks/github"
provider = "github"
secret = [
  {{ id = "fresh", secret = "env:WG_CLI_SECRET", created = {fresh} }},
  {{ id = "aged", secret = "env:WG_CLI_SECRET_2", created = 2026-01-01, not_after = {expiry} }},
]
"""


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_CLI_SECRET", "cli-secret-value-1")
    monkeypatch.setenv("WG_CLI_SECRET_2", "cli-secret-value-2")


def write(tmp_path: Path, *, fresh: str = "2026-11-01", expiry: str = "2027-06-01") -> str:
    path = tmp_path / "webhook_guard.toml"
    path.write_text(CONFIG.format(fresh=fresh, expiry=expiry))
    return str(path)


def check(path: str, *, days: int = 90, strict: bool = False) -> int:
    args = argparse.Namespace(config=path, rotation_days=days, strict=strict)
    return check_command(args, now=NOV_23)


def test_check_reports_routes_keys_ages_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(write(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "1 route(s) OK" in out
    assert "/hooks/github  provider=github" in out
    assert "key fresh: age 22 days, created 2026-11-01" in out
    assert "key aged: age 326 days" in out
    assert ".. 2027-06-01" in out
    assert "warning: route '/hooks/github' key 'aged' is older than 90 days" in out
    assert "fresh' is older" not in out
    assert "cli-secret-value" not in out


def test_check_rotation_period_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(write(tmp_path), days=400)
    assert "older than" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        pytest.param("2026-12-01", "expires on 2026-12-01 (within 14 days)", id="within-14-days"),
        pytest.param("2026-12-08", None, id="in-15-days"),
        pytest.param("2026-11-20", "expired on 2026-11-20", id="expired"),
    ],
)
def test_check_warns_of_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expiry: str, expected: str | None
) -> None:
    check(write(tmp_path, expiry=expiry), days=400)
    out = capsys.readouterr().out
    if expected is None:
        assert "expire" not in out
    else:
        assert expected in out


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    assert check(write(tmp_path), strict=True) == 1
    assert check(write(tmp_path), strict=True, days=400) == 0


def test_check_errors_exit_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[routes]]\npath = "/hooks/x"\nprovider = "nope"\nsecret = "env:WG_CLI_SECRET"\n'
    )
    assert main(["check", str(path)]) == 2
    assert "webhook_guard.E001" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("provider", "valid"),
    [
        pytest.param(None, lambda s: len(s) == 64 and int(s, 16) >= 0, id="default-hex"),
        pytest.param("github", lambda s: len(s) == 64, id="github"),
        pytest.param("dingtalk", lambda s: s.startswith("SEC") and len(s) == 67, id="dingtalk"),
        pytest.param("token", lambda s: len(s) >= 40, id="token"),
    ],
)
def test_gen_secret(
    capsys: pytest.CaptureFixture[str], provider: str | None, valid: object
) -> None:
    argv = ["gen-secret"] + (["--provider", provider] if provider else [])
    assert main(argv) == 0
    first = capsys.readouterr().out.strip()
    main(argv)
    second = capsys.readouterr().out.strip()
    assert valid(first)  # type: ignore[operator]
    assert first != second


def test_gen_secret_whsec_is_base64(capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_guard import providers

    if "standard_webhooks" not in providers.names():
        pytest.skip("standard_webhooks is not registered")
    main(["gen-secret", "--provider", "standard_webhooks"])
    out = capsys.readouterr().out.strip()
    assert out.startswith("whsec_")
    assert len(base64.b64decode(out[6:])) >= 24


def test_gen_secret_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen-secret", "--provider", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sign_output_verifies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["sign", "github", "--secret", "s3cret", "--body", "hello"]) == 0
    name, value = capsys.readouterr().out.strip().split(": ", 1)
    assert {name: value} == github(secret="s3cret").sign(b"hello", secret="s3cret")


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("demo", "sign", "check", "gen-secret"):
        assert command in result.stdout


def test_demo_runs_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "genuine" in result.stdout
    assert "forged" in result.stdout
    assert "replayed" in result.stdout
    assert "stale" in result.stdout
