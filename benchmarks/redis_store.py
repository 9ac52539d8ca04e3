"""What the Redis replay store costs per request, in process, ASGI and WSGI.

Cases, each on its own ``Guard`` with one GitHub route, 2,048-byte bodies, every request a
distinct pre-signed delivery (so every claim is NEW and is committed afterwards):

- ``bare``: the endpoint alone (no guard), the baseline;
- ``none``: the guard with ``replay_store=None`` (verification only);
- ``memory``: the guard with the in-process store;
- ``redis``: the guard with the Redis store (one ``SET NX PX GET`` to claim before the
  app runs, one ``SET XX PX`` to commit after the response is handed over).

Two times per case: the *critical path* (request start until the response's last byte is
with the server: WSGI, the iterable exhausted; ASGI, the last ``http.response.body``
sent) and the *total* (WSGI including ``close()``; ASGI until the app returns), where the
commit happens off the client's critical path.

Rounds are interleaved (every case once per round, order rotated), medians reported, and
a loopback ``PING`` round trip (redis-py, sync and asyncio) measured in the same rounds
for comparison. A ``redis-server`` is started on a free 127.0.0.1 port unless
``--redis-url`` is given (and stopped at the end).

``python -m benchmarks.redis_store [--rounds 15] [--batch 400] [--redis-url URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
import redis.asyncio

from benchmarks.common import free_port
from webhook_guard import Guard, Route
from webhook_guard.providers import github
from webhook_guard.stores import MemoryReplayStore
from webhook_guard.stores.redis import RedisReplayStore

BODY_SIZE = 2048
SECRET = b"bench-redis-store-github-secret-5e1d"
PATH = "/hooks/github"
CASES = ("bare", "none", "memory", "redis")
PINGS = 200  # PING round trips timed per round and client

_serial = iter(range(1, 1 << 62))


# -- requests ----------------------------------------------------------------------------


def make_body(serial: int) -> bytes:
    doc = {"action": "opened", "number": serial, "delivery": f"{serial:032x}", "pad": ""}
    pad = BODY_SIZE - len(json.dumps(doc, separators=(",", ":")))
    doc["pad"] = "x" * pad
    raw = json.dumps(doc, separators=(",", ":")).encode("ascii")
    assert len(raw) == BODY_SIZE
    return raw


def fresh_pool(n: int) -> list[tuple[bytes, bytes]]:
    """``n`` distinct (body, ``X-Hub-Signature-256`` value) pairs never used before."""
    out = []
    for _ in range(n):
        body = make_body(next(_serial))
        digest = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        out.append((body, b"sha256=" + digest.encode("ascii")))
    return out


def asgi_scope(body: bytes, signature: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-github-event", b"push"),
            (b"x-hub-signature-256", signature),
        ],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


def wsgi_environ(body: bytes, signature: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_GITHUB_EVENT": "push",
        "HTTP_X_HUB_SIGNATURE_256": signature.decode("ascii"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


# -- the endpoint -----------------------------------------------------------------------

_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
}
_BODY = {"type": "http.response.body", "body": b'{"ok":true}'}
_WSGI_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "11")]


async def asgi_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    assert len(message["body"]) == BODY_SIZE
    await send(_START)
    await send(_BODY)


def wsgi_endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    assert len(body) == BODY_SIZE
    start_response("200 OK", _WSGI_HEADERS)
    return [b'{"ok":true}']


class Statuses:
    """Counts response statuses, so a run that silently rejects is noticed; notes when the
    last body message of each response reached the server (the critical path's end)."""

    def __init__(self) -> None:
        self.bad = 0
        self.sent_at = 0.0

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            self.bad += 1
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            self.sent_at = time.perf_counter()

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> None:
        if not status.startswith("200"):
            self.bad += 1


def guard_for(case: str, redis_url: str) -> Guard | None:
    if case == "bare":
        return None
    store: Any = None
    if case == "memory":
        store = MemoryReplayStore()
    elif case == "redis":
        store = RedisReplayStore(redis_url)
    return Guard([Route(PATH, github(secret=SECRET.decode()))], replay_store=store)


# -- timing ---------------------------------------------------------------------------------


@contextmanager
def quiet_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def time_asgi(
    app: Any, pool: list[tuple[bytes, bytes]], statuses: Statuses
) -> tuple[float, float]:
    scopes = [asgi_scope(body, sig) for body, sig in pool]
    receives = []
    for body, _ in pool:
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive(message: dict[str, Any] = message) -> dict[str, Any]:
            return message

        receives.append(receive)
    send = statuses.send
    critical = 0.0
    with quiet_gc():
        t0 = time.perf_counter()
        for scope, receive in zip(scopes, receives, strict=True):
            started = time.perf_counter()
            await app(scope, receive, send)
            critical += statuses.sent_at - started
        return time.perf_counter() - t0, critical


def time_wsgi(
    app: Any, pool: list[tuple[bytes, bytes]], statuses: Statuses
) -> tuple[float, float]:
    environs = [wsgi_environ(body, sig) for body, sig in pool]
    start_response = statuses.start_response
    critical = 0.0
    with quiet_gc():
        t0 = time.perf_counter()
        for environ in environs:
            started = time.perf_counter()
            result = app(environ, start_response)
            for _ in result:
                pass
            critical += time.perf_counter() - started  # the server has the whole response
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return time.perf_counter() - t0, critical


def time_sync_ping(client: Any) -> float:
    with quiet_gc():
        t0 = time.perf_counter()
        for _ in range(PINGS):
            client.ping()
        return (time.perf_counter() - t0) / PINGS


async def time_async_ping(client: Any) -> float:
    with quiet_gc():
        t0 = time.perf_counter()
        for _ in range(PINGS):
            await client.ping()
        return (time.perf_counter() - t0) / PINGS


# -- the runs ---------------------------------------------------------------------------------


Series = dict[str, list[float]]  # case -> seconds per request, one value per round
#: "<case>" for the total per request, "<case>:critical" for the critical path


async def run_asgi(redis_url: str, rounds: int, batch: int) -> tuple[Series, list[float]]:
    apps = {}
    for case in CASES:
        guard = guard_for(case, redis_url)
        apps[case] = asgi_endpoint if guard is None else guard.asgi(asgi_endpoint)
    ping_client = redis.asyncio.Redis.from_url(redis_url)
    series: Series = {name: [] for case in CASES for name in (case, case + ":critical")}
    pings: list[float] = []
    statuses = Statuses()
    try:
        for r in range(-1, rounds):  # round -1 warms up (connections, caches)
            pool = fresh_pool(batch)
            shift = r % len(CASES)
            order = CASES[shift:] + CASES[:shift]
            for case in order:
                elapsed, critical = await time_asgi(apps[case], pool, statuses)
                if r >= 0:
                    series[case].append(elapsed / batch)
                    series[case + ":critical"].append(critical / batch)
            ping = await time_async_ping(ping_client)
            if r >= 0:
                pings.append(ping)
    finally:
        await ping_client.aclose()
        store = getattr(apps["redis"], "guard", None)
        if store is not None and isinstance(store.store, RedisReplayStore):
            await store.store.async_client().aclose()
    if statuses.bad:
        raise SystemExit(f"ASGI: {statuses.bad} responses were not 200: the run is invalid")
    return series, pings


def run_wsgi(redis_url: str, rounds: int, batch: int) -> tuple[Series, list[float]]:
    apps = {}
    for case in CASES:
        guard = guard_for(case, redis_url)
        apps[case] = wsgi_endpoint if guard is None else guard.wsgi(wsgi_endpoint)
    ping_client = redis.Redis.from_url(redis_url)
    series: Series = {name: [] for case in CASES for name in (case, case + ":critical")}
    pings: list[float] = []
    statuses = Statuses()
    try:
        for r in range(-1, rounds):
            pool = fresh_pool(batch)
            shift = r % len(CASES)
            order = CASES[shift:] + CASES[:shift]
            for case in order:
                elapsed, critical = time_wsgi(apps[case], pool, statuses)
                if r >= 0:
                    series[case].append(elapsed / batch)
                    series[case + ":critical"].append(critical / batch)
            ping = time_sync_ping(ping_client)
            if r >= 0:
                pings.append(ping)
    finally:
        ping_client.close()
    if statuses.bad:
        raise SystemExit(f"WSGI: {statuses.bad} responses were not 200: the run is invalid")
    return series, pings


# -- the report -------------------------------------------------------------------------------


def us(value: float) -> float:
    return value * 1e6


def diff_us(series: Series, a: str, b: str) -> float:
    """Median of per-round differences a - b, in µs."""
    return statistics.median(us(x - y) for x, y in zip(series[a], series[b], strict=True))


def table(title: str, series: Series, pings: list[float], rounds: int, batch: int) -> str:
    rtt = statistics.median(pings)
    lines = [
        f"== {title}: {rounds} rounds x {batch} requests per case, {BODY_SIZE}-byte body, "
        "github (X-Hub-Signature-256), distinct deliveries ==",
        f"{'case':<26}{'µs/request':>11}{'p25':>9}{'p75':>9}{'req/s':>10}"
        f"{'+ vs bare':>11}{'+ vs none':>11}",
    ]
    labels = {
        "bare": "bare endpoint (no guard)",
        "none": "guard, replay_store=None",
        "memory": "guard, memory store",
        "redis": "guard, Redis store",
    }
    for case in CASES:
        values = series[case]
        q = statistics.quantiles(values, n=4)
        median = statistics.median(values)
        vs_bare = "" if case == "bare" else f"{diff_us(series, case, 'bare'):+.1f}"
        vs_none = "" if case in ("bare", "none") else f"{diff_us(series, case, 'none'):+.1f}"
        lines.append(
            f"{labels[case]:<26}{us(median):>11.1f}{us(q[0]):>9.1f}{us(q[2]):>9.1f}"
            f"{1 / median:>10.0f}{vs_bare:>11}{vs_none:>11}"
        )
    redis_minus_memory = diff_us(series, "redis", "memory")
    critical = diff_us(series, "redis:critical", "memory:critical")
    lines.append(
        f"loopback PING round trip (redis-py, median of {rounds} x {PINGS}): {us(rtt):.1f} µs"
    )
    lines.append(
        f"Redis store - memory store, critical path: {critical:+.1f} µs/request"
        f" = {critical / us(rtt):.2f} PING round trips (the claim)"
    )
    lines.append(
        f"Redis store - memory store, in all: {redis_minus_memory:+.1f} µs/request"
        f" = {redis_minus_memory / us(rtt):.2f} PING round trips (claim + commit)"
    )
    return "\n".join(lines)


# -- redis-server -------------------------------------------------------------------------------


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: install it or pass --redis-url")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wg-bench-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("--redis-url", default=None, help="use this Redis (its db is written)")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.batch < 1:
        parser.error("--rounds must be >= 2 and --batch >= 1")
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs,"
        f" redis-py {redis.__version__}"
    )
    with redis_server(args.redis_url) as url:
        asgi_series, asgi_pings = asyncio.run(run_asgi(url, args.rounds, args.batch))
        print(table("in-process ASGI", asgi_series, asgi_pings, args.rounds, args.batch))
        print()
        wsgi_series, wsgi_pings = run_wsgi(url, args.rounds, args.batch)
        print(table("in-process WSGI", wsgi_series, wsgi_pings, args.rounds, args.batch))


if __name__ == "__main__":
    main()
