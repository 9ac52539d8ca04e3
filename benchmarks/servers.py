"""Server-level benchmark: requests per second and server CPU per request under real servers.

Stacks: uvicorn (uvloop + httptools, 1 worker) with Starlette and with a raw ASGI app;
gunicorn (sync, 1 worker) with Flask and with a raw WSGI app. Variants (see
``benchmarks/server_apps.py``): (a) bare endpoint, (b) the check hand-written in the
endpoint, (c) a pass-through middleware, (d) webhook_guard (50 routes, no replay store: the
same body is sent again and again), (f) webhook_guard on an unmatched path, (g) the
pass-through middleware on that path.

Every server is pinned to CPU 0 and wrk (Debian package ``wrk``) to CPU 1, on 127.0.0.1;
before timing, each server answers a genuine request 200 (and (b) and (d) a forged one 401).
Rounds are interleaved (every variant once per round, order rotated); reported: median
req/s and server CPU µs per request (from ``/proc``), and the medians of per-round ratios
(d)/(b) (target >= 1.00) and (f)/(g) (target >= 0.97).

``python -m benchmarks.servers [--rounds 3] [--duration 3] [--connections 16]
[--stacks uvicorn-starlette,uvicorn-asgi,gunicorn-flask,gunicorn-wsgi]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import GUARDED_PATH, UNMATCHED_PATH, free_port, github_signature, make_body

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("a", "b", "c", "d", "f", "g")
LABELS = {
    "a": "(a) bare endpoint",
    "b": "(b) hand-written check",
    "c": "(c) pass-through middleware",
    "d": "(d) webhook_guard",
    "f": "(f) webhook_guard, unmatched path",
    "g": "(g) pass-through, unmatched path",
}
STACKS = ("uvicorn-starlette", "uvicorn-asgi", "gunicorn-flask", "gunicorn-wsgi")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    stack: str
    variant: str
    port: int
    process: subprocess.Popen[bytes]
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    @property
    def path(self) -> str:
        return UNMATCHED_PATH if self.variant in ("f", "g") else GUARDED_PATH

    def pids(self) -> list[int]:
        """The server process and its worker processes."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
        return total / CLOCK_TICKS


def _command(stack: str, port: int) -> list[str]:
    server, kind = stack.split("-")
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", f"benchmarks.server_apps:{kind}",
            "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        f"benchmarks.server_apps:{kind}",
    ]  # fmt: skip


def _post(port: int, path: str, body: bytes, signature: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature.decode()},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def start(stack: str, variant: str) -> Server:
    port = free_port()
    env = {**os.environ, "WG_BENCH_VARIANT": variant, "PYTHONPATH": str(ROOT)}
    env.pop("WEB_CONCURRENCY", None)
    process = subprocess.Popen(
        ["taskset", "-c", "0", *_command(stack, port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Server(stack, variant, port, process)


def wait_ready(server: Server, body: bytes, signature: bytes) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            status = _post(server.port, server.path, body, signature)
            break
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server.stack} {server.variant} did not start") from None
            time.sleep(0.1)
    if status != 200:
        raise SystemExit(f"{server.stack} {server.variant}: a genuine request got {status}")
    if server.variant in ("b", "d"):
        forged = _post(server.port, server.path, body, b"sha256=" + b"0" * 64)
        if forged != 401:
            raise SystemExit(f"{server.stack} {server.variant}: a forged request got {forged}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGKILL)  # the group is the server's own
    if server.process.poll() is None:
        server.process.wait(timeout=10)


_LUA = """
wrk.method = "POST"
wrk.body = io.open("{body}", "rb"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "{signature}"
"""


def run_wrk(server: Server, script: str, duration: int, connections: int) -> None:
    before = server.cpu_seconds()
    out = subprocess.run(
        [
            *("taskset", "-c", "1", "wrk", "-t1"),
            *(f"-c{connections}", f"-d{duration}s", "-s", script),
            f"http://127.0.0.1:{server.port}{server.path}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    cpu = server.cpu_seconds() - before
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{server.stack} {server.variant}: errors during the run:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    server.rps.append(rps)
    server.cpu_us.append(cpu / requests * 1e6)


def ratio(a: Server, b: Server) -> float:
    return statistics.median(x / y for x, y in zip(a.rps, b.rps, strict=True))


def report(stack: str, servers: dict[str, Server]) -> str:
    rounds = len(next(iter(servers.values())).rps)
    lines = [
        f"== {stack}: {rounds} rounds, 1 worker on CPU 0, wrk on CPU 1, 2,048-byte body ==",
        f"{'variant':<36}{'req/s':>10}{'min':>9}{'max':>9}{'server CPU µs/req':>19}",
    ]
    for variant in VARIANTS:
        s = servers[variant]
        lines.append(
            f"{LABELS[variant]:<36}{statistics.median(s.rps):>10.0f}{min(s.rps):>9.0f}"
            f"{max(s.rps):>9.0f}{statistics.median(s.cpu_us):>19.1f}"
        )
    lines.append("median of per-round ratios (req/s):")
    lines.append(f"  guarded (d) / hand-written (b)      {ratio(servers['d'], servers['b']):.2f}x   target >= 1.00x")
    lines.append(f"  unmatched (f) / pass-through (g)    {ratio(servers['f'], servers['g']):.2f}x   target >= 0.97x")
    lines.append(f"  guarded (d) / bare (a)              {ratio(servers['d'], servers['a']):.2f}x")
    cpu = statistics.median(servers["d"].cpu_us) - statistics.median(servers["b"].cpu_us)
    lines.append(f"  server CPU, (d) - (b)              {cpu:+.1f} µs/request")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stacks", default=",".join(STACKS))
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("needs wrk (Debian package wrk) and taskset")
    stacks = [s for s in args.stacks.split(",") if s]
    body = make_body(1)
    signature = github_signature(body)
    workdir = Path(tempfile.mkdtemp(prefix="wg-bench-servers-"))
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    script = workdir / "post.lua"
    script.write_text(_LUA.format(body=body_file, signature=signature.decode()))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for stack in stacks:
        servers = {v: start(stack, v) for v in VARIANTS}
        try:
            for server in servers.values():
                wait_ready(server, body, signature)
            for r in range(-1, args.rounds):  # round -1 warms every server up
                shift = r % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    server = servers[variant]
                    duration = 1 if r < 0 else args.duration
                    run_wrk(server, str(script), duration, args.connections)
                    if r < 0:
                        server.rps.clear()
                        server.cpu_us.clear()
            print()
            print(report(stack, servers))
        finally:
            for server in servers.values():
                stop(server)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
