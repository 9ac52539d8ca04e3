"""A slow secret source under real servers on 127.0.0.1 (issue #11, item 3).

``tests/servers/slow_keys_app.py`` guards ``/hooks/github`` with ``cached(slow_vault,
ttl=0.5)``, where every fetch after the start-up read takes 3 s (a hung vault) and reads
the current secret from a file (the stand-in vault). Refreshes must run off the request
path: while one is in flight, an unguarded request on the same worker answers at once
and guarded requests are served with the last good key; a rotated secret is picked up
when the slow fetch returns. Under gunicorn ``--preload`` the source is read in the
master and refreshed by a thread of the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from webhook_guard.providers import github
from webhook_guard.testing import sign

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
SECRET_A = "slow-vault-secret-A-0123456789"
SECRET_B = "slow-vault-secret-B-9876543210"
SLOW = 3.0
START_TIMEOUT = 15.0
FAST = 0.5  # "at once": far below SLOW
BODY = b'{"action":"opened","number":1}'


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    vault: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def health(self) -> dict[str, Any]:
        response = httpx.get(self.url("/health"), timeout=10)
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    def hook(self, secret: str) -> httpx.Response:
        headers = sign(github(secret=secret), BODY, secret=secret)
        return httpx.post(self.url("/hooks/github"), content=BODY, headers=headers, timeout=10)


def _serve(kind: str, tmp: Path) -> Iterator[Server]:
    port = free_port()
    vault = tmp / "vault"
    vault.write_text(SECRET_A)
    commands = {
        "uvicorn": [
            sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--lifespan", "on",
            "--timeout-graceful-shutdown", "1", "tests.servers.slow_keys_app:asgi_app",
        ],
        "gunicorn": [
            sys.executable, "-m", "gunicorn", "--preload", "--workers", "1",
            "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--timeout", "30",
            "--graceful-timeout", "1", "tests.servers.slow_keys_app:wsgi_app",
        ],
    }  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "WG_KS_SECRET_FILE": str(vault),
        "WG_KS_SLOW": str(SLOW),
        "WG_KS_TTL": "0.5",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("WEB_CONCURRENCY", None)
    log = tmp / "log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            commands[kind], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    server = Server(port, process, log, vault)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            try:
                server.health()
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            pytest.fail(f"{kind} did not answer:\n{log.read_text()[-3000:]}")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()  # this pid only; gunicorn's master stops its worker
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
def uvicorn_server(tmp_path: Path) -> Iterator[Server]:
    yield from _serve("uvicorn", tmp_path)


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[Server]:
    yield from _serve("gunicorn", tmp_path)


def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def _wait_for_slow_refresh(server: Server) -> None:
    """The first guarded request starts the refresher; wait (bounded) for a slow fetch.

    The tests assert afterwards that one was running; they assert the latencies first, so
    that with fetches on the request path (the bug) they fail on what matters.
    """
    assert server.hook(SECRET_A).json() == {"key_id": SECRET_A[:8]}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = server.health()
        if state["begun"] > state["done"]:
            return
        time.sleep(0.02)


def test_uvicorn_slow_source_blocks_no_request(uvicorn_server: Server) -> None:
    server = uvicorn_server
    _wait_for_slow_refresh(server)
    with ThreadPoolExecutor(max_workers=6) as pool:
        guarded = [pool.submit(_timed, lambda: server.hook(SECRET_A)) for _ in range(5)]
        health = pool.submit(_timed, server.health)
        results = [f.result(timeout=30) for f in guarded]
        health_latency, state = health.result(timeout=30)
    assert health_latency < FAST, f"unguarded request took {health_latency:.2f} s"
    for latency, response in results:
        assert latency < FAST, f"guarded request took {latency:.2f} s"
        assert response.status_code == 200
        assert response.json() == {"key_id": SECRET_A[:8]}  # the last good key
    assert state["begun"] > state["done"]  # the slow fetch was running meanwhile
    # Rotation: the vault now holds B; the slow fetch brings it within a few seconds.
    server.vault.write_text(SECRET_B)
    deadline = time.monotonic() + 4 * SLOW
    while time.monotonic() < deadline and server.hook(SECRET_B).status_code != 200:
        time.sleep(0.1)
    assert server.hook(SECRET_B).json() == {"key_id": SECRET_B[:8]}
    assert server.hook(SECRET_A).status_code == 401  # the vault no longer lists A
    assert set(server.health()["pids"]) == {server.health()["pid"]}


def test_gunicorn_preload_refreshes_in_the_worker(gunicorn_server: Server) -> None:
    server = gunicorn_server
    _wait_for_slow_refresh(server)
    latency, response = _timed(lambda: server.hook(SECRET_A))
    assert latency < FAST, f"guarded request took {latency:.2f} s"
    assert (response.status_code, response.json()) == (200, {"key_id": SECRET_A[:8]})
    health_latency, state = _timed(server.health)
    assert health_latency < FAST
    assert state["begun"] > state["done"]
    master, worker = state["loaded_by"], state["pid"]
    assert master != worker  # --preload: the guard was built in the master
    # The start-up read happened in the master, every refresh since in the worker.
    assert state["pids"][0] == master
    assert len(state["pids"]) > 1
    assert set(state["pids"][1:]) == {worker}
