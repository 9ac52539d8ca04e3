"""Starting, probing and stopping real server processes for the deployment tests.

Every server runs in its own session (``start_new_session``), so its process group is
its own: ``stop`` sends SIGTERM to the pid we started, waits, then SIGKILLs that group
(workers a master left behind). Every wait is polled against a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
STOP_TIMEOUT = 10.0


@dataclass
class Process:
    """A server process we started, with its output files."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def spawn(
    name: str,
    command: list[str],
    port: int,
    directory: Path,
    env: Mapping[str, str],
) -> Process:
    """Start ``command`` in its own session with ``env`` added to a clean environment."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WEB_CONCURRENCY", "PYTHONWARNINGS", "PYTEST_ADDOPTS")
    }
    environ.update(env)
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), environ.get("PYTHONPATH")) if p)
    stdout, stderr = directory / f"{name}.out", directory / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=out, stderr=err, start_new_session=True
        )
    return Process(name, port, popen, stdout, stderr)


def stop(process: Process) -> None:
    """SIGTERM to the pid we started, then SIGKILL to its own process group."""
    popen = process.popen
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=STOP_TIMEOUT)
    # the group was created for this server (start_new_session): its id is our pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    if popen.poll() is None:
        popen.wait(timeout=STOP_TIMEOUT)


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    *,
    interval: float = 0.05,
    process: Process | None = None,
) -> bool:
    """Poll ``check`` until it is true (True) or ``timeout`` seconds pass or ``process``
    exits (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if process is not None and process.popen.poll() is not None:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass
class Answer:
    """What came back on the socket: status (None: no response), headers, body."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    note: str = ""


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> Answer:
    """Send ``raw`` on a fresh connection and read until the server closes it (requests
    carry ``Connection: close``). At most 1,000 reads, each bounded by ``timeout``."""
    data, note = b"", ""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            with contextlib.suppress(OSError):  # a server may answer and close mid-send
                sock.sendall(raw)
            for _ in range(1000):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except ConnectionResetError:
        note = "reset"
    except TimeoutError:
        note = "timeout"
    except OSError as exc:
        note = type(exc).__name__
    if not data.startswith(b"HTTP/"):
        return Answer(None, {}, b"", note or "closed")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Answer(int(lines[0].split()[1]), headers, body, note)


def _dechunk(data: bytes) -> bytes:
    out = b""
    for _ in range(10_000):
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def request_bytes(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> bytes:
    """A raw HTTP/1.1 request exactly as given: no normalisation of the target, headers
    in order (repeats allowed), ``Connection: close``."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
