"""Secret sources and rotation: references, key windows, file re-reads, callables with a
grace period. Time is a ``FrozenClock`` throughout; nothing sleeps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import DEFAULT_GRACE, FILE_CHECK_INTERVAL, Key, cached, resolve
from webhook_guard.providers import github
from webhook_guard.testing import FrozenClock, build_wsgi_environ

BODY = b'{"ref":"refs/heads/main"}'
OLD, NEW = "old-secret-value-0001", "new-secret-value-0002"
NOV_1 = 1_793_491_200.0  # 2026-11-01T00:00:00Z
NOV_15 = 1_794_700_800.0  # 2026-11-15T00:00:00Z
DAY = 86400.0


def call(guard: Guard, secret: str) -> tuple[int, Any]:
    """Send one GitHub delivery signed with ``secret``; return (status, verdict or error)."""
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["webhook_guard.verdict"])
        start_response("200 OK", [])
        return [b""]

    headers = github(secret=secret).sign(BODY, secret=secret)
    environ = build_wsgi_environ("/hooks/github", body=BODY, headers=headers)
    status: list[str] = []
    body = b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0][:3]), (seen[0] if seen else body)


def names(source: Any) -> list[str]:
    return [k.key_id for k in source.current()]


# -- references -------------------------------------------------------------------------


def test_literal_env_file_and_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_KS_ENV", NEW)
    path = tmp_path / "secret"
    path.write_text(OLD + "\n")  # the trailing newline of a secret file is not part of it
    source = resolve(["env:WG_KS_ENV", f"file:{path}", "literal-value"], route="/r")
    assert [k.value for k in source.current()] == [NEW.encode(), OLD.encode(), b"literal-value"]
    assert names(source) == ["env:WG_KS_ENV", f"file:{path}", "#2"]
    named = resolve({"2026-11": "env:WG_KS_ENV", "2026-08": "literal"}, route="/r")
    assert names(named) == ["2026-11", "2026-08"]


@pytest.mark.parametrize(
    ("spec", "code", "named"),
    [
        pytest.param("env:WG_KS_UNSET", "webhook_guard.E002", "WG_KS_UNSET", id="env-missing"),
        pytest.param("env:WG_KS_EMPTY", "webhook_guard.E002", "WG_KS_EMPTY", id="env-empty"),
        pytest.param("file:{tmp}/absent", "webhook_guard.E002", "absent", id="file-missing"),
        pytest.param("file:{tmp}/empty", "webhook_guard.E002", "empty", id="file-empty"),
        pytest.param("   ", "webhook_guard.E002", "#0", id="blank-literal"),
        pytest.param([], "webhook_guard.E003", "/hooks/x", id="no-secret"),
        pytest.param(
            [Key("value-1", id="dup"), Key("value-2", id="dup")],
            "webhook_guard.E002",
            "dup",
            id="repeated-ids",
        ),
        pytest.param(lambda: [], "webhook_guard.E002", "callable", id="callable-empty"),
    ],
)
def test_bad_references_fail_at_start_up(
    spec: Any, code: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WG_KS_UNSET", raising=False)
    monkeypatch.setenv("WG_KS_EMPTY", "")
    (tmp_path / "empty").write_text("\n")
    if isinstance(spec, str):
        spec = spec.replace("{tmp}", str(tmp_path))
    with pytest.raises(ConfigurationError) as info:
        resolve(spec, route="/hooks/x")
    assert info.value.code == code
    assert "/hooks/x" in str(info.value)
    assert named in str(info.value)


def test_error_never_contains_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve([Key("super-secret-value", id="a"), Key("super-secret-value", id="a")], route="/r")
    assert "super-secret-value" not in str(info.value)


# -- rotation with key windows (a Guard with an injected clock) -------------------------


def rotating_guard(clock: FrozenClock) -> Guard:
    keys = [
        Key(NEW, id="2026-11", created="2026-11-01"),
        Key(OLD, id="2026-08", created="2026-08-01", not_after="2026-11-15T00:00:00Z"),
    ]
    return Guard([Route("/hooks/github", github(secret=keys))], clock=clock, replay_store=None)


def test_rotation_across_the_old_keys_expiry() -> None:
    clock = FrozenClock(NOV_15 - 1)
    guard = rotating_guard(clock)
    # During the overlap both verify; the verdict names the key that matched.
    assert [(s, v.key_id) for s, v in (call(guard, NEW), call(guard, OLD))] == [
        (200, "2026-11"),
        (200, "2026-08"),
    ]
    clock.advance(1)  # not_after reached: the old key is refused without a restart
    status, error = call(guard, OLD)
    assert status == 401
    assert b"bad_signature" in error
    assert call(guard, NEW)[1].key_id == "2026-11"


def test_not_before_key_is_not_accepted_early() -> None:
    keys = [Key(NEW, id="next", not_before="2026-11-15"), Key(OLD, id="current")]
    clock = FrozenClock(NOV_15 - DAY)
    guard = Guard([Route("/hooks/github", github(secret=keys))], clock=clock, replay_store=None)
    assert call(guard, NEW)[0] == 401
    assert call(guard, OLD)[1].key_id == "current"
    clock.advance(DAY)
    assert call(guard, NEW)[1].key_id == "next"


def test_all_keys_expired_is_no_active_key() -> None:
    keys = [Key(OLD, id="old", not_after="2026-11-01")]
    guard = Guard([Route("/hooks/github", github(secret=keys))], clock=FrozenClock(NOV_1))
    status, error = call(guard, OLD)
    assert status == 401
    assert b"no_active_key" in error


# -- file secrets are re-read when the file changes --------------------------------------


def test_changed_secret_file_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "github_secret"
    path.write_text(OLD)
    clock = FrozenClock(NOV_1)
    guard = Guard(
        [Route("/hooks/github", github(secret=f"file:{path}"))], clock=clock, replay_store=None
    )
    assert call(guard, OLD)[0] == 200
    path.write_text(NEW + "\n")
    os.utime(path, ns=(1, 1))  # a different stamp even on coarse-mtime filesystems
    assert call(guard, OLD)[0] == 200  # checked at most once per interval
    clock.advance(FILE_CHECK_INTERVAL)
    assert call(guard, NEW)[0] == 200
    assert call(guard, OLD)[0] == 401


def test_vanished_secret_file_serves_last_value_then_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "github_secret"
    path.write_text(OLD)
    clock = FrozenClock(NOV_1)
    guard = Guard(
        [Route("/hooks/github", github(secret=f"file:{path}"))], clock=clock, replay_store=None
    )
    path.unlink()
    clock.advance(FILE_CHECK_INTERVAL)
    assert call(guard, OLD)[0] == 200  # within the grace period
    clock.advance(DEFAULT_GRACE + FILE_CHECK_INTERVAL)
    status, error = call(guard, OLD)
    assert status == 401
    assert b"no_active_key" in error


# -- callables (vaults, KMS) ---------------------------------------------------------------


class Flaky:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.fail = False
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.fail:
            raise OSError("vault unreachable")
        return self.value


def test_failing_callable_keeps_last_value_for_grace_then_fails_closed() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    guard = Guard([Route("/hooks/github", github(secret=source))], clock=clock, replay_store=None)
    assert call(guard, OLD)[1].key_id == "callable#0"
    source.fail = True
    assert call(guard, OLD)[0] == 200
    clock.advance(DEFAULT_GRACE)
    assert call(guard, OLD)[0] == 200  # the grace period is inclusive
    clock.advance(1)
    status, error = call(guard, OLD)
    assert (status, b"no_active_key" in error) == (401, True)
    source.fail = False  # recovers by itself
    assert call(guard, OLD)[0] == 200


def test_callable_list_and_mapping_rotate() -> None:
    source = Flaky({"2026-11": NEW, "2026-08": OLD})
    guard = Guard([Route("/hooks/github", github(secret=source))], replay_store=None)
    assert call(guard, OLD)[1].key_id == "2026-08"
    source.value = [NEW]
    assert call(guard, OLD)[0] == 401
    assert call(guard, NEW)[1].key_id == "callable#0"


def test_cached_calls_the_source_once_per_ttl() -> None:
    source = Flaky(NEW)
    clock = FrozenClock(0)
    current = cached(source, ttl=60, clock=clock)
    assert [current() for _ in range(5)] == [NEW] * 5
    assert source.calls == 1
    clock.advance(60)
    current()
    assert source.calls == 2
