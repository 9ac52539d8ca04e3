"""Secret sources and rotation: references, key windows, file re-reads, callables with a
grace period, background refresh with back-off.

Time is a ``FrozenClock`` throughout. Refreshes are driven by hand (a ``Manual`` scheduler
that starts nothing, and ``refresh_now()``), except in the tests marked "real thread",
which wait on events with bounded timeouts."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import (
    BACKOFF_CAP,
    DEFAULT_GRACE,
    DEFAULT_REFRESH,
    FILE_CHECK_INTERVAL,
    Key,
    KeySource,
    cached,
    resolve,
)
from webhook_guard.providers import github
from webhook_guard.testing import FrozenClock, build_asgi_scope, build_wsgi_environ, call_asgi

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
        pytest.param(lambda: None, "webhook_guard.E002", "callable", id="callable-none"),
        pytest.param(lambda: {"a": ""}, "webhook_guard.E002", "callable", id="callable-blank"),
        pytest.param(
            lambda: 1 / 0, "webhook_guard.E002", "ZeroDivisionError", id="callable-raises"
        ),
        pytest.param(
            cached(lambda: [], ttl=5), "webhook_guard.E002", "callable", id="cached-empty"
        ),
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


# -- the refresh machinery, driven by hand ------------------------------------------------


class Manual:
    """A scheduler that starts nothing: the test plays the refresher with ``refresh_now()``."""

    def __init__(self) -> None:
        self.started: list[KeySource] = []
        self.wakes = 0

    def __call__(self, source: KeySource) -> Callable[[], None]:
        self.started.append(source)
        return self.wake

    def wake(self) -> None:
        self.wakes += 1


class Flaky:
    """A callable source: returns ``value``, raises while ``fail``; counts calls.

    Every call after the first (the start-up read) sets ``entered``; with ``gate`` set it
    then waits (bounded) for the gate: a hung vault.
    """

    def __init__(self, value: Any) -> None:
        self.value = value
        self.fail = False
        self.calls = 0
        self.threads: list[int] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def __call__(self) -> Any:
        self.calls += 1
        self.threads.append(threading.get_ident())
        if self.calls > 1:
            self.entered.set()
            if self.gate is not None:
                assert self.gate.wait(10), "the test never opened the gate"
        if self.fail:
            raise OSError("vault unreachable")
        return self.value


def values(source: KeySource) -> list[bytes]:
    return [k.value for k in source.current()]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until it holds, for at most ``timeout`` seconds (real-thread tests)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():
            return True
        pause.wait(0.01)
    return check()


def dynamic(spec: Any, clock: FrozenClock, **options: Any) -> tuple[KeySource, Manual]:
    manual = Manual()
    return resolve(spec, route="/hooks/x", clock=clock, scheduler=manual, **options), manual


def test_start_up_reads_once_and_starts_nothing() -> None:
    source = Flaky(OLD)
    manual = Manual()
    key_source = resolve(source, route="/r", clock=FrozenClock(NOV_1), scheduler=manual)
    assert (source.calls, manual.started) == (1, [])  # read at start-up, no thread yet
    for _ in range(3):
        assert values(key_source) == [OLD.encode()]
    assert manual.started == [key_source]  # started by the first request, once
    assert source.calls == 1


def test_fixed_sources_never_start_a_refresher() -> None:
    manual = Manual()
    key_source = resolve(["literal-value", "another-value"], route="/r", scheduler=manual)
    key_source.current()
    assert (manual.started, key_source.refreshing, key_source.refresh_now()) == ([], False, False)


def test_request_path_never_calls_the_source() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, manual = dynamic(source, clock)
    assert key_source.next_refresh == NOV_1 + DEFAULT_REFRESH
    clock.advance(DEFAULT_REFRESH - 1)
    key_source.current()
    assert manual.wakes == 0  # not due yet
    clock.advance(1)
    source.value = NEW
    assert values(key_source) == [OLD.encode()]  # due: stale while revalidating
    assert (source.calls, manual.wakes) == (1, 1)  # the refresher was asked, nothing called
    assert key_source.refresh_now() is True
    assert values(key_source) == [NEW.encode()]
    assert key_source.next_refresh == NOV_1 + 2 * DEFAULT_REFRESH


def test_cached_ttl_is_the_refresh_interval() -> None:
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(cached(Flaky(OLD), ttl=30), clock)
    assert key_source.next_refresh == NOV_1 + 30


def test_failing_callable_keeps_last_value_for_grace_then_fails_closed() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(source, clock)
    source.fail = True
    clock.advance(DEFAULT_REFRESH)
    assert key_source.refresh_now() is False
    assert names(key_source) == ["callable#0"]  # the last good key, within the grace period
    clock.advance(DEFAULT_GRACE)
    assert names(key_source) == ["callable#0"]  # the grace period is inclusive
    clock.advance(1)
    assert names(key_source) == []  # fail closed: the guard answers 401 no_active_key
    source.fail = False  # recovers by itself at the next refresh
    assert key_source.refresh_now() is True
    assert names(key_source) == ["callable#0"]
    assert key_source.failures == 0


def test_grace_is_counted_from_the_first_failure_not_the_last() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(source, clock, grace=100)
    source.fail = True
    for _ in range(4):
        key_source.refresh_now()
        clock.advance(30)
    assert (key_source.failures, names(key_source)) == (4, [])  # 120 s > 100 s


@pytest.mark.parametrize(
    "options",
    [{"ttl": -1}, {"ttl": float("nan")}, {"ttl": 60, "grace": -1}, {"ttl": 60, "grace": float("nan")}],
    ids=["ttl-negative", "ttl-nan", "grace-negative", "grace-nan"],
)
def test_cached_refuses_negative_and_nan_seconds(options: dict[str, float]) -> None:
    # A NaN ttl compared false with every age: the source was called on every request.
    with pytest.raises(ValueError, match="ttl and grace"):
        cached(lambda: "secret", **options)


def test_cached_grace_overrides_the_default() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(cached(source, ttl=60, grace=5), clock)
    source.fail = True
    key_source.refresh_now()
    clock.advance(5)
    assert names(key_source) == ["callable#0"]
    clock.advance(1)
    assert names(key_source) == []


@pytest.mark.parametrize(
    ("grace", "caps"),
    [
        pytest.param(DEFAULT_GRACE, [1, 2, 4, 8, 16, 32, 60, 60], id="default-grace"),
        pytest.param(20, [1, 2, 4, 5, 5], id="cap-a-quarter-of-a-short-grace"),
    ],
)
def test_failures_back_off_exponentially_with_a_cap(grace: float, caps: list[float]) -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, manual = dynamic(source, clock, grace=grace)
    source.fail = True
    for cap in caps:
        key_source.refresh_now()
        delay = key_source.next_refresh - clock()
        assert cap / 2 <= delay <= cap  # jittered in [cap/2, cap]
        key_source.current()
        assert manual.wakes == 0  # backing off: the request path does not ask for more
        clock.advance(delay)
        key_source.current()
        assert manual.wakes == 1  # due again
        manual.wakes = 0
    assert source.calls == 1 + len(caps)
    source.fail = False
    key_source.refresh_now()
    assert (key_source.failures, key_source.next_refresh) == (0, clock() + DEFAULT_REFRESH)


def test_no_new_request_kick_while_a_refresh_is_in_flight() -> None:
    source = Flaky(OLD)
    source.gate = threading.Event()
    clock = FrozenClock(NOV_1)
    key_source, manual = dynamic(source, clock)
    clock.advance(DEFAULT_REFRESH)
    worker = threading.Thread(target=key_source.refresh_now)
    worker.start()
    try:
        assert source.entered.wait(5)
        assert key_source.refresh_now() is False  # one refresh in flight per source
        assert values(key_source) == [OLD.encode()]
        assert manual.wakes == 0  # due, but one is running
        assert source.calls == 2
    finally:
        source.gate.set()
        worker.join(5)
    assert not worker.is_alive()


def test_hung_refresh_fails_closed_after_grace_and_recovers_when_it_returns() -> None:
    source = Flaky(OLD)
    source.gate = threading.Event()
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(source, clock)
    clock.advance(DEFAULT_REFRESH)
    worker = threading.Thread(target=key_source.refresh_now)
    worker.start()
    try:
        assert source.entered.wait(5)
        clock.advance(DEFAULT_GRACE)
        assert values(key_source) == [OLD.encode()]
        clock.advance(1)
        assert values(key_source) == []  # hung for longer than the grace period
        source.value = NEW
    finally:
        source.gate.set()
        worker.join(5)
    assert values(key_source) == [NEW.encode()]


def test_callable_list_and_mapping_rotate() -> None:
    source = Flaky({"2026-11": NEW, "2026-08": OLD})
    key_source, _ = dynamic(source, FrozenClock(NOV_1))
    assert names(key_source) == ["2026-11", "2026-08"]
    source.value = [NEW]
    assert names(key_source) == ["2026-11", "2026-08"]  # until the next refresh
    key_source.refresh_now()
    assert names(key_source) == ["callable#0"]


def test_a_mapping_changed_in_place_is_picked_up() -> None:
    mapping = {"2026-11": NEW}
    key_source, _ = dynamic(lambda: mapping, FrozenClock(NOV_1))
    unchanged = key_source.current()
    key_source.refresh_now()
    assert key_source.current() is unchanged  # same value: the same KeySet, HMAC states kept
    mapping["2026-12"] = "newer-secret-value-0003"
    key_source.refresh_now()
    assert names(key_source) == ["2026-11", "2026-12"]


def test_cached_calls_the_source_once_per_ttl() -> None:
    source = Flaky(NEW)
    clock = FrozenClock(0)
    current = cached(source, ttl=60, clock=clock)
    assert [current() for _ in range(5)] == [NEW] * 5
    assert source.calls == 1
    clock.advance(60)
    current()
    assert source.calls == 2


# -- file secrets are re-read when the file changes --------------------------------------


def test_changed_secret_file_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "github_secret"
    path.write_text(OLD)
    clock = FrozenClock(NOV_1)
    key_source, manual = dynamic(f"file:{path}", clock)
    assert key_source.next_refresh == NOV_1 + FILE_CHECK_INTERVAL
    path.write_text(NEW + "\n")
    os.utime(path, ns=(1, 1))  # a different stamp even on coarse-mtime filesystems
    assert values(key_source) == [OLD.encode()]  # the request path reads no file
    clock.advance(FILE_CHECK_INTERVAL)
    assert values(key_source) == [OLD.encode()]
    assert manual.wakes == 1
    assert key_source.refresh_now() is True
    assert values(key_source) == [NEW.encode()]


def test_vanished_secret_file_serves_last_value_then_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "github_secret"
    path.write_text(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(f"file:{path}", clock)
    path.unlink()
    clock.advance(FILE_CHECK_INTERVAL)
    assert key_source.refresh_now() is False
    clock.advance(DEFAULT_GRACE)
    assert values(key_source) == [OLD.encode()]  # within the grace period
    clock.advance(1)
    assert values(key_source) == []
    path.write_text(NEW)  # it comes back
    assert key_source.refresh_now() is True
    assert values(key_source) == [NEW.encode()]


def test_one_vanished_file_of_two_drops_only_that_key(tmp_path: Path) -> None:
    new, old = tmp_path / "new", tmp_path / "old"
    new.write_text(NEW)
    old.write_text(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic([f"file:{new}", f"file:{old}", "literal-value"], clock)
    old.unlink()
    key_source.refresh_now()
    clock.advance(DEFAULT_GRACE + 1)
    key_source.refresh_now()  # the other parts keep refreshing fine
    assert values(key_source) == [NEW.encode(), b"literal-value"]


# -- logs: a failing source is reported once, never with a value ---------------------------


def test_refresh_failures_are_logged_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    key_source, _ = dynamic(source, clock)
    source.fail = True
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        for _ in range(3):
            key_source.refresh_now()
            clock.advance(DEFAULT_GRACE)
            key_source.current()
            key_source.current()
        source.fail = False
        key_source.refresh_now()
    events = [r.webhook_guard["event"] for r in caplog.records]  # type: ignore[attr-defined]
    assert events == [
        "webhook_guard.keysource_failed",
        "webhook_guard.keysource_expired",
        "webhook_guard.keysource_recovered",
    ]
    assert all("/hooks/x" in r.getMessage() for r in caplog.records)
    assert OLD not in caplog.text
    assert "vault unreachable" not in caplog.text  # the type only: a message may hold anything


# -- real threads ----------------------------------------------------------------------------


def test_real_thread_refreshes_off_the_callers_thread() -> None:
    source = Flaky(OLD)
    source.gate = threading.Event()
    clock = FrozenClock(NOV_1)
    key_source = resolve(source, route="/r", clock=clock)
    assert values(key_source) == [OLD.encode()]  # starts the refresher
    source.value = NEW
    clock.advance(DEFAULT_REFRESH)
    try:
        assert values(key_source) == [OLD.encode()]  # wakes the refresher, waits for nothing
        assert source.entered.wait(5)
        for _ in range(50):  # the refresh is stuck in the source: the request path is not
            assert values(key_source) == [OLD.encode()]
        assert source.calls == 2
        assert source.threads[1] != threading.get_ident()
    finally:
        source.gate.set()
    assert eventually(lambda: values(key_source) == [NEW.encode()])


def test_real_thread_guard_fails_closed_after_grace_and_recovers() -> None:
    source = Flaky(OLD)
    clock = FrozenClock(NOV_1)
    guard = Guard([Route("/hooks/github", github(secret=source))], clock=clock, replay_store=None)
    assert call(guard, OLD)[1].key_id == "callable#0"
    source.fail = True
    clock.advance(DEFAULT_REFRESH)
    assert call(guard, OLD)[0] == 200  # asks for a refresh, served with the last good key
    assert source.entered.wait(5)
    clock.advance(DEFAULT_GRACE + 1)
    status, error = call(guard, OLD)
    assert (status, b"no_active_key" in error) == (401, True)
    source.fail = False
    clock.advance(BACKOFF_CAP)
    assert eventually(lambda: call(guard, OLD)[0] == 200)


@pytest.mark.anyio
async def test_real_thread_asgi_callable_never_runs_on_the_event_loop() -> None:
    source = Flaky(OLD)
    source.gate = threading.Event()
    clock = FrozenClock(NOV_1)
    guard = Guard([Route("/hooks/github", github(secret=source))], clock=clock, replay_store=None)
    app = guard.asgi(asgi_ok)
    headers = github(secret=OLD).sign(BODY, secret=OLD)
    scope = build_asgi_scope("/hooks/github", body=BODY, headers=headers)
    assert (await call_asgi(app, scope, BODY))[0] == 200  # starts the refresher
    clock.advance(DEFAULT_REFRESH)
    try:
        assert (await call_asgi(app, scope, BODY))[0] == 200  # asks for a refresh
        assert await asyncio.to_thread(source.entered.wait, 5)  # stuck in the source
        started = time.perf_counter()
        answers = await asyncio.gather(*(call_asgi(app, scope, BODY) for _ in range(5)))
        elapsed = time.perf_counter() - started
    finally:
        source.gate.set()
    assert [status for status, _, _ in answers] == [200] * 5  # the last good key
    assert elapsed < 1  # the stuck source holds no request (it would hold the loop 10 s)
    assert source.threads[1] != threading.get_ident()


async def asgi_ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_refresher_thread_stops_with_its_source() -> None:
    clock = FrozenClock(NOV_1)
    key_source = resolve(Flaky(OLD), route="/hooks/collected", clock=clock)
    key_source.current()
    [thread] = [t for t in threading.enumerate() if t.name == "webhook_guard keys /hooks/collected"]
    del key_source
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()


def test_a_refreshed_value_the_scheme_cannot_use_is_a_failed_refresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At start-up a malformed value is E002; refreshed later, it must not replace the last
    good keys (every request would get 401): the refresh fails, is logged by name only,
    and the source recovers when the value is fixed."""
    from webhook_guard.providers import standard_webhooks

    good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    value = [good]
    clock = FrozenClock(NOV_1)
    guard = Guard([Route("/h", standard_webhooks(secret=lambda: value[0]))], clock=clock)
    source = guard._keys["/h"]
    assert source is not None
    value[0] = "whsec_%%%not-base64"
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        assert source.refresh_now() is False
    assert [k.value for k in source.current()] == [good.encode()]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "InvalidSecret" in logged
    assert "not-base64" not in logged
    value[0] = "whsec_" + "QUJD" * 8
    assert source.refresh_now() is True
    assert [k.value for k in source.current()] == [value[0].encode()]


def _refreshers(route: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"webhook_guard keys {route}"]


@pytest.mark.parametrize("credential", ["secret", "verify_token"])
def test_building_a_guard_starts_no_refresher_the_first_request_does(
    tmp_path: Path, credential: str
) -> None:
    """Start-up checks read the keys loaded so far: the refresher belongs to the process
    that serves requests (not a gunicorn --preload master, not an import)."""
    from webhook_guard.providers import meta

    secret_file = tmp_path / "secret"
    secret_file.write_text(OLD)
    route = f"/hooks/started-by-a-request-{credential}"
    if credential == "secret":
        scheme: Any = github(secret=f"file:{secret_file}")
    else:
        scheme = meta(secret=NEW, verify_token=f"file:{secret_file}")
    guard = Guard([Route(route, scheme)], replay_store=None)
    assert _refreshers(route) == []
    if credential == "secret":
        headers = github(secret=OLD).sign(BODY, secret=OLD)
        environ = build_wsgi_environ(route, body=BODY, headers=headers)
        status: list[str] = []
        answer = guard.wsgi(lambda e, start: start("200 OK", []) or [b""])
        b"".join(answer(environ, lambda s, h, e=None: status.append(s)))
        assert status == ["200 OK"]
    else:
        bound = guard.routes[0].provider
        assert bound is not None
        assert [k.value for k in bound.credential("verify_token")] == [OLD.encode()]
    assert len(_refreshers(route)) == 1


FORK_SCRIPT = """
import json, os, sys, threading, time
from webhook_guard.keysources import cached, resolve

calls = []
def source():
    calls.append(os.getpid())
    return "secret-value-after-%d" % len(calls)

parent_uses_it = sys.argv[1] == "parent-uses-it"
key_source = resolve(cached(source, ttl=0.05), route="/r")  # gunicorn --preload: in the master
threads_at_start_up = threading.active_count()
if parent_uses_it:
    key_source.current()
parent = os.getpid()
child = os.fork()
if child == 0:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.getpid() not in calls:
        key_source.current()
        time.sleep(0.01)
    print(json.dumps({"child": os.getpid(), "calls": calls, "threads": threading.active_count(),
                      "threads_at_start_up": threads_at_start_up}))
    sys.stdout.flush()
    os._exit(0)
os.waitpid(child, 0)
"""


@pytest.mark.parametrize(
    "mode", [pytest.param("preload", id="preload"), pytest.param("parent-uses-it", id="parent-too")]
)
def test_real_thread_starts_again_in_a_forked_worker(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "fork.py"
    script.write_text(textwrap.dedent(FORK_SCRIPT))
    out = subprocess.run(
        [sys.executable, "-W", "ignore", str(script), mode],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    ).stdout
    report = json.loads(out)
    assert report["threads_at_start_up"] == 1  # resolve() starts no thread
    assert report["child"] in report["calls"]  # the worker refreshes on its own thread
    assert report["threads"] == 2
