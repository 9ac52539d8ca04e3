"""Replay protection across worker processes: gunicorn (4 sync workers) and uvicorn (4 workers).

Each server runs ``tests/multiproc/{wsgi,asgi}_app.py`` behind the guard; every time the
app is reached it appends ``<pid> <sha256 of body>`` to a log file, so the test counts
hits from the app's side, not from the responses.

Per trial, COPIES concurrent copies of ONE signed GitHub delivery (a fresh body per trial)
are sent with ``Connection: close`` so they spread over the workers.

- Redis store: in every trial exactly one copy reaches the app; every other copy is
  answered 409 ``replayed`` (first copy still in flight) or 200 ``duplicate``.
- Memory store: each worker remembers only its own deliveries, so in at least one trial
  more than one copy gets through. That is why several workers need Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.multiproc.common import STRIPE_PATH
from webhook_guard.providers import github, stripe
from webhook_guard.testing import sign

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "multiprocess-github-secret-0123456789"
PATH = "/hooks/github"
WORKERS = 4
COPIES = 200
TRIALS = 20
RETRY_TRIALS = 5
START_TIMEOUT = 20.0
IO_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
#: The Redis store's socket timeout in the servers (the library default is 0.25 s; with
#: 200 copies, 4 workers, Redis and the client on 2 cores an event loop sometimes takes
#: longer than that to read a reply that has arrived, and answers 503).
STORE_TIMEOUT = "2.0"


# -- servers -------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    hit_log: Path
    output: Path
    worker_pids: set[int] = field(default_factory=set)


def _command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            "tests.multiproc.wsgi_app:app",
        ]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.multiproc.asgi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server we started: SIGTERM to its pid, then SIGKILL to its own process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    # workers left behind: the group was created for this server, its id is our pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=STOP_TIMEOUT)


def _health(port: int) -> int | None:
    try:
        status, body = request(
            port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
    except OSError:
        return None
    return int(json.loads(body)["pid"]) if status == 200 else None


def _wait_ready(server: Server) -> None:
    """Wait until the server answers, and until all its workers have answered (bounded)."""
    deadline = time.monotonic() + START_TIMEOUT
    with ThreadPoolExecutor(max_workers=16) as pool:
        while len(server.worker_pids) < WORKERS:
            if server.process.poll() is not None:
                pytest.fail(f"{server.name} exited: {server.output.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{server.name}: {len(server.worker_pids)} of {WORKERS} workers answered"
                    f" within {START_TIMEOUT} s: {server.output.read_text()[-2000:]}"
                )
            found = {pid for pid in pool.map(_health, [server.port] * 16) if pid is not None}
            server.worker_pids |= found
            if len(server.worker_pids) < WORKERS:
                time.sleep(0.05)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(kind: str, store: str) -> Server:
        port = free_port()
        hit_log = tmp_path / f"{kind}-hits.log"
        hit_log.touch()
        output = tmp_path / f"{kind}-output.log"
        env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
        env.update(
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            WG_MP_STORE=store,
            WG_MP_SECRET=SECRET,
            WG_MP_LOG=str(hit_log),
            WG_MP_STORE_TIMEOUT=STORE_TIMEOUT,
        )
        with output.open("wb") as out:
            process = subprocess.Popen(
                _command(kind, port),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        server = Server(kind, port, process, hit_log, output)
        _wait_ready(server)
        return server

    try:
        yield start
    finally:
        for process in started:
            _stop(process)


# -- the client --------------------------------------------------------------------------


def request(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection (``Connection: close``): status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def stripe_retries(trial: int) -> tuple[list[bytes], str]:
    """COPIES deliveries of ONE Stripe event, each re-signed at its own second (as Stripe's
    retries are): every copy has its own Stripe-Signature, and all carry the event id."""
    import hashlib

    body = json.dumps(
        {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "trial": trial}, indent=2
    ).encode("ascii")
    now = int(time.time())
    raws = []
    for copy in range(COPIES):
        headers = stripe(secret=SECRET).sign(body, secret=SECRET, timestamp=now - copy)
        lines = [
            f"POST {STRIPE_PATH} HTTP/1.1",
            "Host: 127.0.0.1",
            "Connection: close",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        raws.append(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
    assert len(set(raws)) == COPIES
    return raws, hashlib.sha256(body).hexdigest()


def delivery(trial: int) -> tuple[bytes, str]:
    """A signed GitHub delivery, unique per trial: the raw request and its body's SHA-256."""
    import hashlib

    body = json.dumps({"action": "opened", "trial": trial, "delivery": uuid.uuid4().hex}).encode(
        "ascii"
    )
    headers = sign(github(secret=SECRET), body, secret=SECRET)
    lines = [
        f"POST {PATH} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "X-GitHub-Event: pull_request",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
    return raw, hashlib.sha256(body).hexdigest()


def classify(status: int, body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return f"unexpected {status} {body[:80]!r}"
    if status == 200 and doc.get("app") == "processed":
        return "processed"
    if status == 409 and doc.get("error") == "replayed":
        return "replayed"
    if status == 200 and doc.get("status") == "duplicate":
        return "duplicate"
    return f"unexpected {status} {body[:80]!r}"


@dataclass
class Trial:
    outcomes: Counter[str]
    hits: list[int]  # pids of the workers that logged this delivery


def run_trials(server: Server, *, retries: bool = False, trials: int = TRIALS) -> list[Trial]:
    """``trials`` times, COPIES concurrent copies of one delivery (``retries``: of one
    Stripe event, each copy re-signed) sent at once."""
    results = []
    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        for trial in range(trials):
            if retries:
                raws, digest = stripe_retries(trial)
            else:
                raw, digest = delivery(trial)
                raws = [raw] * COPIES
            go = threading.Event()

            def send(raw: bytes, go: threading.Event = go) -> tuple[int, bytes]:
                go.wait(timeout=IO_TIMEOUT)
                return request(server.port, raw)

            futures = [pool.submit(send, raw) for raw in raws]
            go.set()
            outcomes = Counter(classify(*f.result(timeout=IO_TIMEOUT * 2)) for f in futures)
            hits = [
                int(line.split()[0])
                for line in server.hit_log.read_text().splitlines()
                if line.split()[1] == digest
            ]
            results.append(Trial(outcomes, hits))
    return results


def summary(trials: list[Trial]) -> str:
    return "; ".join(
        f"#{i}: hits={len(t.hits)} " + ",".join(f"{k}={v}" for k, v in sorted(t.outcomes.items()))
        for i, t in enumerate(trials)
    )


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_redis_store_one_delivery_across_workers(
    start_server: object, redis_url: str, kind: str
) -> None:
    server = start_server(kind, redis_url)  # type: ignore[operator]
    assert len(server.worker_pids) == WORKERS
    trials = run_trials(server)
    detail = summary(trials)
    for trial in trials:
        assert len(trial.hits) == 1, detail  # the app's own log: reached exactly once
        assert trial.outcomes["processed"] == 1, detail
        assert trial.outcomes["replayed"] + trial.outcomes["duplicate"] == COPIES - 1, detail
        assert set(trial.outcomes) <= {"processed", "replayed", "duplicate"}, detail
        assert trial.hits[0] in server.worker_pids
    # the deliveries were processed by different workers: the store is what coordinated them
    assert len({t.hits[0] for t in trials}) > 1, detail
    assert server.process.poll() is None
    print(f"{kind} + redis: {detail}")


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_redis_store_one_event_from_concurrent_retries_across_workers(
    start_server: object, redis_url: str, kind: str
) -> None:
    """200 concurrent retries of one Stripe event, each re-signed with its own timestamp
    (so each has its own signature): the event id makes them one event, processed once."""
    server = start_server(kind, redis_url)  # type: ignore[operator]
    trials = run_trials(server, retries=True, trials=RETRY_TRIALS)
    detail = summary(trials)
    for trial in trials:
        assert len(trial.hits) == 1, detail
        assert trial.outcomes["processed"] == 1, detail
        assert trial.outcomes["replayed"] + trial.outcomes["duplicate"] == COPIES - 1, detail
    print(f"{kind} + redis, retries: {detail}")


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_memory_store_lets_copies_through_across_workers(start_server: object, kind: str) -> None:
    server = start_server(kind, "memory")  # type: ignore[operator]
    trials = run_trials(server)
    detail = summary(trials)
    for trial in trials:
        assert set(trial.outcomes) <= {"processed", "replayed", "duplicate"}, detail
        assert sum(trial.outcomes.values()) == COPIES, detail
        assert len(trial.hits) == trial.outcomes["processed"] >= 1, detail
        # one process never lets a copy through twice
        assert max(Counter(trial.hits).values()) == 1, detail
    assert max(len(t.hits) for t in trials) > 1, detail
    print(f"{kind} + memory: {detail}")
