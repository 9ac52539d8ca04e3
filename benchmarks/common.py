"""Shared pieces: the 2,048-byte body, GitHub signing, the interleaved runner, the table."""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from webhook_guard import Guard, Route
from webhook_guard.providers import github, seatable
from webhook_guard.stores import MemoryReplayStore

BODY_SIZE = 2048
SECRET = "bench-github-webhook-secret-7f3a9c"
SECRET_BYTES = SECRET.encode("utf-8")
GUARDED_PATH = "/hooks/github"
UNMATCHED_PATH = "/api/v1/items/42"
N_ROUTES = 50

_serial = iter(range(1, 1 << 62))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_body(serial: int) -> bytes:
    """A GitHub-like JSON payload of exactly ``BODY_SIZE`` bytes, unique per ``serial``."""
    doc = {
        "action": "opened",
        "number": serial,
        "delivery": f"{serial:032x}",
        "repository": {"id": 1296269, "full_name": "octocat/Hello-World", "private": False},
        "sender": {"login": "octocat", "id": 1, "type": "User"},
        "pad": "",
    }
    text = json.dumps(doc, separators=(",", ":"))
    pad = BODY_SIZE - len(text)
    assert pad >= 0
    doc["pad"] = "x" * pad
    raw = json.dumps(doc, separators=(",", ":")).encode("ascii")
    assert len(raw) == BODY_SIZE, len(raw)
    return raw


def github_signature(body: bytes) -> bytes:
    return b"sha256=" + hmac.new(SECRET_BYTES, body, hashlib.sha256).hexdigest().encode("ascii")


def fresh_pool(n: int) -> list[tuple[bytes, bytes]]:
    """``n`` distinct (body, X-Hub-Signature-256 value) pairs, never seen before in this run."""
    return [(body, github_signature(body)) for body in (make_body(next(_serial)) for _ in range(n))]


def other_routes(count: int) -> list[Route]:
    """``count`` extra routes: half exact, half with a ``{param}`` segment."""
    routes = []
    for i in range(count):
        scheme = seatable(secret=f"bench-other-secret-{i:02d}")
        if i % 2:
            routes.append(Route(f"/hooks/tenant-{i:02d}/{{name}}", scheme))
        else:
            routes.append(Route(f"/hooks/service-{i:02d}", scheme))
    return routes


def make_guard(*, routes: int = 1) -> Guard:
    """The GitHub route, plus ``routes - 1`` others; memory replay store on."""
    return Guard(
        [Route(GUARDED_PATH, github(secret=SECRET)), *other_routes(routes - 1)],
        replay_store=MemoryReplayStore(),
    )


def raw_floor(pool: Sequence[tuple[bytes, bytes]]) -> float:
    """The floor for one check: HMAC-SHA256 + compare_digest, as a tight loop."""
    new, sha256, compare = hmac.new, hashlib.sha256, hmac.compare_digest
    ok = 0
    t0 = time.perf_counter()
    for body, sig in pool:
        ok += compare(b"sha256=" + new(SECRET_BYTES, body, sha256).hexdigest().encode(), sig)
    elapsed = time.perf_counter() - t0
    assert ok == len(pool)
    return elapsed


# A case: given this round's pool, return a callable that times one batch over it (seconds).
Prepare = Callable[[list[tuple[bytes, bytes]]], Callable[[], float]]


@dataclass
class Results:
    title: str
    batch: int
    per_call: dict[str, list[float]] = field(default_factory=dict)  # seconds per call, by round


def interleave(
    title: str, cases: dict[str, Prepare], *, rounds: int, batch: int, warmup: int = 1
) -> Results:
    """Every case once per round on the same fresh pool, order rotated each round."""
    names = list(cases)
    results = Results(title, batch, {name: [] for name in names})
    for r in range(-warmup, rounds):
        pool = fresh_pool(batch)
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        prepared = {name: cases[name](pool) for name in order}  # outside the timing
        for name in order:
            gc.collect()
            gc.disable()
            try:
                elapsed = prepared[name]()
            finally:
                gc.enable()
            if r >= 0:
                results.per_call[name].append(elapsed / batch)
        del prepared
    return results


def median_us(values: Sequence[float]) -> float:
    return statistics.median(values) * 1e6


def quartiles_us(values: Sequence[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0] * 1e6, q[2] * 1e6


def ratio(results: Results, a: str, b: str) -> float:
    """Median of per-round ratios a/b."""
    return statistics.median(
        x / y for x, y in zip(results.per_call[a], results.per_call[b], strict=True)
    )


def difference_us(results: Results, a: str, b: str) -> float:
    """Median of per-round differences a - b, in µs."""
    return statistics.median(
        (x - y) * 1e6 for x, y in zip(results.per_call[a], results.per_call[b], strict=True)
    )


LABELS = {
    "floor": "floor: hmac.new + compare_digest",
    "a": "(a) bare endpoint",
    "b": "(b) hand-written check in endpoint",
    "c": "(c) pass-through middleware",
    "d": "(d) webhook_guard + endpoint reading body",
    "e": "(e) webhook_guard + bare endpoint",
    "f": f"(f) webhook_guard, unmatched path, {N_ROUTES} routes",
    "g": "(g) ceiling: (d)'s steps inlined, one route",
    "h": "(h) ceiling without the replay store",
}


def report(results: Results) -> str:
    rounds = len(next(iter(results.per_call.values())))
    lines = [
        f"== {results.title}: {rounds} rounds x {results.batch} calls, "
        f"{BODY_SIZE}-byte body, X-Hub-Signature-256 ==",
        f"{'case':<46} {'median µs':>10} {'p25':>8} {'p75':>8}",
    ]
    for name, values in results.per_call.items():
        lo, hi = quartiles_us(values)
        lines.append(
            f"{LABELS.get(name, name):<46} {median_us(values):>10.2f} {lo:>8.2f} {hi:>8.2f}"
        )
    lines.append("median of per-round ratios:")
    if {"d", "b"} <= results.per_call.keys():
        lines.append(
            f"  guarded (d) / hand-written (b)      {ratio(results, 'd', 'b'):6.2f}x"
            "   target <= 1.10x"
        )
    if {"d", "a"} <= results.per_call.keys():
        lines.append(f"  guarded (d) / bare (a)              {ratio(results, 'd', 'a'):6.2f}x")
    if {"f", "c"} <= results.per_call.keys():
        lines.append(
            f"  unmatched (f) - pass-through (c)   {difference_us(results, 'f', 'c'):+6.2f} µs"
            "  target <= +0.30 µs"
        )
    for name in ("g", "h"):
        if {name, "b"} <= results.per_call.keys():
            lines.append(
                f"  ceiling ({name}) / hand-written (b)     {ratio(results, name, 'b'):6.2f}x"
            )
    if {"b", "floor"} <= results.per_call.keys():
        lines.append(f"  hand-written (b) / floor            {ratio(results, 'b', 'floor'):6.2f}x")
    return "\n".join(lines)
