"""The replay store is down when the servers start: the host app boots anyway.

gunicorn (2 sync workers) and uvicorn (``--workers 2``) serve ``tests/deployment/
store_{wsgi,asgi}.py``, guarded with ``replay_store="redis://127.0.0.1:<port>/0"`` where
no redis-server listens yet (this module starts its own, later, on its own port; the
session's redis-server is not touched). Each worker builds its guard at import.

- The server boots (a ``Guard`` that raised at import made gunicorn's master exit with
  "Worker failed to boot"), ``/health`` (unguarded) answers 200, and every worker's
  ``WebhookGuardWarning`` ("does not answer at start-up") is on the server's stderr.
- A correctly signed webhook on the guarded route gets 503 ``store_unavailable`` with
  ``Retry-After`` and never reaches the app.
- Once redis-server starts, within a bounded time the same webhook is processed (the
  app logs it), and a copy of it is acknowledged as a duplicate without reaching the app.

``check_store="strict"`` keeps the old behaviour: the guard raises ``StoreError``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RedisServer, free_port
from tests.deployment.harness import Answer, exchange, request_bytes, spawn, stop, wait_until
from webhook_guard import Guard, Route, StoreError
from webhook_guard.providers import github

SECRET = "deployment-github-secret-0123456789"
GITHUB = github(secret=SECRET)
START_TIMEOUT = 15.0
#: Seconds the guarded route may take to recover once redis-server answers.
RECOVERY_TIMEOUT = 10.0
IO_TIMEOUT = 5.0
WORKERS = 2
STARTUP_TEXT = "does not answer at start-up"


@pytest.fixture
def down_redis() -> Iterator[RedisServer]:
    """A redis-server of this test on a free port, not started yet (stopped at the end)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed: apt-get install redis-server")
    server = RedisServer(binary)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


# -- in-process: the start-up check ----------------------------------------------------


def _routes() -> list[Route]:
    return [Route("/hooks/github", GITHUB)]


def test_strict_check_store_raises_when_the_store_is_down(down_redis: RedisServer) -> None:
    with pytest.raises(StoreError):
        Guard(_routes(), replay_store=down_redis.url, check_store="strict")


def test_default_check_store_warns_and_starts_when_the_store_is_down(
    down_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    from webhook_guard.exceptions import WebhookGuardWarning

    with pytest.warns(WebhookGuardWarning, match=STARTUP_TEXT):
        guard = Guard(_routes(), replay_store=down_redis.url)
    assert guard.store is not None
    errors = [r for r in caplog.records if r.name == "webhook_guard" and r.levelname == "ERROR"]
    assert [STARTUP_TEXT in r.getMessage() for r in errors] == [True]


def test_store_down_at_start_never_raises_even_with_warnings_as_errors(
    down_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """``-W error`` turns configuration warnings into errors, but a transient outage must
    not stop the host (check_store="strict" is the way to fail fast): logged, not raised."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        guard = Guard(_routes(), replay_store=down_redis.url)
    assert guard.store is not None
    errors = [r for r in caplog.records if r.name == "webhook_guard" and r.levelname == "ERROR"]
    assert [STARTUP_TEXT in r.getMessage() for r in errors] == [True]


# -- real servers ----------------------------------------------------------------------


def _command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn",
            "--workers", str(WORKERS), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2",
            "tests.deployment.store_wsgi:app",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--no-access-log", "--timeout-graceful-shutdown", "2",
        "tests.deployment.store_asgi:app",
    ]  # fmt: skip


def _delivery() -> bytes:
    """One correctly signed GitHub delivery (a fresh body), as raw request bytes."""
    body = json.dumps({"action": "opened", "delivery": uuid.uuid4().hex}).encode("ascii")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-GitHub-Event", "pull_request"),
        *dict(GITHUB.sign(body, secret=SECRET)).items(),
    ]
    return request_bytes("POST", "/hooks/github", headers, body)


def _hits(log: Path, raw: bytes) -> int:
    digest = hashlib.sha256(raw.partition(b"\r\n\r\n")[2]).hexdigest()
    return sum(1 for line in log.read_text().splitlines() if line.split()[1] == digest)


def _warnings(stderr: Path) -> int:
    """Start-up warnings on ``stderr``: one per worker that found the store down."""
    return sum(
        1
        for line in stderr.read_text(errors="replace").splitlines()
        if "WebhookGuardWarning" in line and STARTUP_TEXT in line
    )


def _json(answer: Answer) -> dict[str, object]:
    doc = json.loads(answer.body)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.server
@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_server_boots_with_the_store_down_and_recovers(
    kind: str, down_redis: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    hit_log = tmp_path / "hits.log"
    hit_log.touch()
    env = {"WG_DEP_STORE": down_redis.url, "WG_DEP_SECRET": SECRET, "WG_DEP_LOG": str(hit_log)}
    server = spawn(kind, _command(kind, port), port, tmp_path, env)
    try:
        health = request_bytes("GET", "/health", [])
        booted = wait_until(
            lambda: exchange(port, health, timeout=1.0).status == 200,
            START_TIMEOUT,
            process=server,
        )
        assert booted, f"{kind} did not boot with the store down:\n{server.output()[-3000:]}"
        assert server.popen.poll() is None

        # Down: every worker answers the guarded route 503, nothing reaches the app.
        raw = _delivery()
        for _ in range(2 * WORKERS):  # Connection: close spreads them over the workers
            assert exchange(port, health, timeout=IO_TIMEOUT).status == 200
            down = exchange(port, raw, timeout=IO_TIMEOUT)
            assert down.status == 503, (down.status, down.body[:200])
            assert down.headers.get("retry-after", "").isdigit()
            assert _json(down)["error"] == "store_unavailable"
        assert hit_log.read_text() == ""
        # Each worker built its guard, found the store down, warned and booted anyway. (The
        # ERROR record goes to the "webhook_guard" logger, silent here: no logging is set
        # up for it; the warning is what reaches stderr.)
        warned = wait_until(
            lambda: _warnings(server.stderr) >= WORKERS, START_TIMEOUT, process=server
        )
        assert warned, server.output()[-3000:]
        assert SECRET not in server.output()

        # Up: the same delivery is processed once, a copy is acknowledged as a duplicate.
        down_redis.start()
        answers: list[Answer] = []

        def processed() -> bool:
            answers.append(exchange(port, raw, timeout=IO_TIMEOUT))
            return answers[-1].status != 503

        assert wait_until(processed, RECOVERY_TIMEOUT, interval=0.1), server.output()[-2000:]
        assert answers[-1].status == 200, (answers[-1].status, answers[-1].body[:200])
        assert _json(answers[-1])["app"] == "processed"
        assert {a.status for a in answers[:-1]} <= {503}
        assert _hits(hit_log, raw) == 1

        copies: list[Answer] = []

        def answered() -> bool:  # the other worker may still rest after its last failure
            copies.append(exchange(port, raw, timeout=IO_TIMEOUT))
            return copies[-1].status != 503

        assert wait_until(answered, RECOVERY_TIMEOUT, interval=0.1)
        assert copies[-1].status == 200
        assert _json(copies[-1])["status"] == "duplicate"
        assert _hits(hit_log, raw) == 1
        assert server.popen.poll() is None
    finally:
        stop(server)
