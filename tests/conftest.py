from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest

from webhook_guard.testing import FrozenClock

NOW = 1_700_000_000.0


#: Set by CI: a skipped test means a missing dependency, so the session fails.
STRICT = bool(os.environ.get("WEBHOOK_GUARD_NO_SKIPS"))
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if STRICT and _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # lark-oapi (the Feishu SDK, an oracle) opens an event loop when it is imported
    # (lark_oapi/ws/client.py: ``loop = asyncio.get_event_loop()``) and never closes it:
    # "ResourceWarning: unclosed event loop" at exit otherwise.
    lark = sys.modules.get("lark_oapi.ws.client")
    loop = getattr(lark, "loop", None)
    if loop is not None and not loop.is_running() and not loop.is_closed():
        loop.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STRICT and _skipped:
        write = terminalreporter.write_line
        write(f"WEBHOOK_GUARD_NO_SKIPS is set and {len(_skipped)} test(s) were skipped:")
        for nodeid in _skipped[:50]:
            write(f"  {nodeid}")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server on 127.0.0.1 started for the test session (stoppable for fault tests)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="wg-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--maxmemory-policy", "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("WEBHOOK_GUARD_REQUIRE_REDIS"):
            pytest.fail("redis-server is required (WEBHOOK_GUARD_REQUIRE_REDIS is set) but missing")
        pytest.skip("redis-server not installed: apt-get install redis-server")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session server's URL, flushed before each test."""
    import redis

    if redis_server.process is None:
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url
