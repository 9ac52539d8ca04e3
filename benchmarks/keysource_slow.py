"""A slow secret source under uvicorn: does it slow anyone's request? (issue #11, item 3)

Server part: three uvicorn servers (1 worker, raw ASGI app, pinned to core 0; the client
on core 1), each guarding ``/hooks/github`` (2,048-byte GitHub deliveries) with a
different secret source:

- ``fixed``: a literal secret (no refresh at all), the baseline;
- ``fast``: ``cached(fetch, ttl=0.5)`` where ``fetch`` answers at once;
- ``slow``: ``cached(fetch, ttl=0.5)`` where every fetch after the start-up read takes
  3 s (a hung vault), so a refresh is in flight most of the time.

Each round sends every server one burst, order rotated per round: 5 guarded deliveries
and 1 unguarded ``GET /health`` at the same moment (the issue's scenario), then 1
unguarded request alone. Reported per case: median / p90 / max latency of guarded and
unguarded requests, statuses, how many bursts overlapped a slow fetch in flight; and the
median of per-round ratios slow/fixed and fast/fixed.

In-process part: one guarded ASGI request, called directly, with a literal secret vs a
``cached`` callable (what a refreshed source adds to the request path: a pid check and a
clock read).

``python -m benchmarks.keysource_slow [--rounds 15] [--tree DIR] [--skip-inprocess]``
(``--tree``: run the servers with another checkout's ``webhook_guard``, e.g. the code before
the change.)
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import GUARDED_PATH, SECRET, Prepare, fresh_pool, interleave

CASES = ("fixed", "fast", "slow")
SLOW = 3.0
TTL = 0.5
BURST = 5
ROOT = Path(__file__).resolve().parent.parent


# -- the app the servers run ----------------------------------------------------------------

# Written to a file and run from there, so that ``--tree`` can point at a checkout that
# lacks this benchmark: the server imports only ``webhook_guard``, from that tree.
APP_SOURCE = """
import json, os, threading, time

from webhook_guard import Guard, Route
from webhook_guard.keysources import cached
from webhook_guard.providers import github

SECRET = os.environ["WG_BENCH_SECRET"]
SLOW, TTL = float(os.environ["WG_BENCH_SLOW"]), float(os.environ["WG_BENCH_TTL"])


def create_app():
    case = os.environ["WG_BENCH_SOURCE"]
    state = {"begun": 0, "done": 0}
    lock = threading.Lock()

    def fetch():
        with lock:
            state["begun"] += 1
            first = state["begun"] == 1
        if case == "slow" and not first:
            time.sleep(SLOW)  # a hung vault
        with lock:
            state["done"] += 1
        return SECRET

    secret = SECRET if case == "fixed" else cached(fetch, ttl=TTL)
    guard = Guard([Route(os.environ["WG_BENCH_PATH"], github(secret=secret))])

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/health":
            with lock:
                body = json.dumps(state).encode("ascii")
        else:
            while (await receive()).get("more_body", False):
                pass
            body = b'{"ok":true}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return guard.asgi(app)
"""


# -- servers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(case: str, tree: Path, log_dir: Path) -> Iterator[int]:
    port = _free_port()
    (log_dir / "wg_bench_app.py").write_text(APP_SOURCE)
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "wg_bench_app:create_app",
        "--app-dir", str(log_dir), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1",
    ]  # fmt: skip
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "WG_BENCH_SOURCE": case,
        "WG_BENCH_SECRET": SECRET,
        "WG_BENCH_PATH": GUARDED_PATH,
        "WG_BENCH_SLOW": str(SLOW),
        "WG_BENCH_TTL": str(TTL),
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("WEB_CONCURRENCY", None)
    with (log_dir / f"{case}.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=log_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                request(port, "GET", "/health", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{case} server did not start")
        if process.poll() is not None:
            raise RuntimeError(f"{case} server exited: {(log_dir / f'{case}.log').read_text()}")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    signature: bytes | None = None,
    *,
    timeout: float = 60,
) -> tuple[float, int, bytes]:
    """One request on a fresh connection: (seconds, status, body)."""
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature.decode("ascii")
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return time.perf_counter() - started, response.status, data


def check(port: int) -> None:
    """A genuine delivery gets 200, a forged one 401 (the harness measures what it claims)."""
    body, signature = fresh_pool(1)[0]
    assert request(port, "POST", GUARDED_PATH, body, signature)[1] == 200
    assert request(port, "POST", GUARDED_PATH, body, b"sha256=" + b"0" * 64)[1] == 401


# -- the server part -----------------------------------------------------------------------


def burst(port: int, pool: ThreadPoolExecutor) -> dict[str, Any]:
    deliveries = fresh_pool(BURST)
    guarded = [
        pool.submit(request, port, "POST", GUARDED_PATH, body, sig) for body, sig in deliveries
    ]
    unguarded = pool.submit(request, port, "GET", "/health")
    results = [f.result() for f in guarded]
    seconds, status, data = unguarded.result()
    state = json.loads(data)
    alone = request(port, "GET", "/health")
    return {
        "guarded": [r[0] for r in results],
        "statuses": [r[1] for r in results] + [status, alone[1]],
        "unguarded": [seconds, alone[0]],
        "overlap": state["begun"] > state["done"],
    }


def run_servers(*, rounds: int, tree: Path) -> dict[str, list[dict[str, Any]]]:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    out: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"wg-keysource-bench-{os.getpid()}"
    log_dir.mkdir(exist_ok=True)
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=BURST + 1) as pool:
        ports = {case: stack.enter_context(server(case, tree, log_dir)) for case in CASES}
        for port in ports.values():
            check(port)
        time.sleep(TTL * 2)  # every refreshed source is due: the first burst starts a refresh
        for r in range(-1, rounds):
            shift = r % len(CASES)
            for case in CASES[shift:] + CASES[:shift]:
                result = burst(ports[case], pool)
                if r >= 0:
                    out[case].append(result)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report_servers(data: dict[str, list[dict[str, Any]]], tree: Path) -> str:
    rounds = len(data["fixed"])
    lines = [
        f"== uvicorn (1 worker), raw ASGI, servers from {tree}: {rounds} rounds, each a burst of"
        f" {BURST} guarded + 1 unguarded at once, then 1 unguarded alone ==",
        f"{'case':<7}{'what':<11}{'median ms':>10}{'p90 ms':>9}{'max ms':>9}"
        f"{'non-200':>9}{'bursts during a slow fetch':>28}",
    ]
    for case in CASES:
        results = data[case]
        bad = sum(s != 200 for r in results for s in r["statuses"])
        overlaps = sum(r["overlap"] for r in results)
        for what in ("guarded", "unguarded"):
            values = [v * 1000 for r in results for v in r[what]]
            lines.append(
                f"{case:<7}{what:<11}{statistics.median(values):>10.2f}"
                f"{_pct(values, 0.9):>9.2f}{max(values):>9.2f}"
                + (f"{bad:>9}{overlaps:>20}/{rounds}" if what == "guarded" else "")
            )
    lines.append("median of per-round ratios (round medians):")
    for case in ("fast", "slow"):
        for what in ("guarded", "unguarded"):
            ratios = [
                statistics.median(a[what]) / statistics.median(b[what])
                for a, b in zip(data[case], data["fixed"], strict=True)
            ]
            lines.append(f"  {what:<10} {case}/fixed  {statistics.median(ratios):6.2f}x")
    return "\n".join(lines)


# -- the in-process part -------------------------------------------------------------------


def run_inprocess(*, rounds: int, batch: int) -> str:
    from benchmarks.inprocess_asgi import _case, bare
    from webhook_guard import Guard, Route
    from webhook_guard.keysources import cached
    from webhook_guard.providers import github
    from webhook_guard.stores import MemoryReplayStore

    def guard(secret: Any) -> Any:
        return Guard([Route(GUARDED_PATH, github(secret=secret))], replay_store=MemoryReplayStore())

    loop = asyncio.new_event_loop()
    try:
        cases: dict[str, Prepare] = {
            "literal": _case(guard(SECRET).asgi(bare), GUARDED_PATH, loop),
            "cached": _case(guard(cached(lambda: SECRET, ttl=60)).asgi(bare), GUARDED_PATH, loop),
        }
        results = interleave("in-process", cases, rounds=rounds, batch=batch)
    finally:
        loop.close()
    per = {name: [t * 1e6 for t in times] for name, times in results.per_call.items()}
    diffs = [c - lit for c, lit in zip(per["cached"], per["literal"], strict=True)]
    return "\n".join(
        [
            f"== in-process raw ASGI, one guarded request: {rounds} rounds x {batch} calls ==",
            f"literal secret           {statistics.median(per['literal']):8.2f} µs",
            f"cached callable secret   {statistics.median(per['cached']):8.2f} µs",
            f"median per-round difference: {statistics.median(diffs):+.2f} µs",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.keysource_slow", description=__doc__
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1000, help="in-process calls per round")
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout the servers import")
    parser.add_argument("--skip-inprocess", action="store_true")
    args = parser.parse_args(argv)
    if args.rounds < 15:
        print(f"note: {args.rounds} rounds; PERFORMANCE.md asks for 15 or more")
    print(f"python {platform.python_version()} ({sys.executable}) on {platform.machine()}")
    started = time.perf_counter()
    print(report_servers(run_servers(rounds=args.rounds, tree=args.tree.resolve()), args.tree))
    if not args.skip_inprocess:
        print()
        print(run_inprocess(rounds=max(args.rounds, 15), batch=args.batch))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
