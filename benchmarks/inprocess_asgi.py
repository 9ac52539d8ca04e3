"""In-process raw ASGI: the app called directly with a prepared scope, a receive that
yields the body, and a send that discards; each batch timed inside one coroutine.

``python -m benchmarks.inprocess_asgi [--rounds N] [--batch N]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import time
from typing import Any

from benchmarks.common import (
    GUARDED_PATH,
    N_ROUTES,
    SECRET_BYTES,
    UNMATCHED_PATH,
    Prepare,
    Results,
    interleave,
    make_guard,
    raw_floor,
    report,
)

Scope = dict[str, Any]
_OK = {"type": "http.response.body", "body": b'{"ok":true}'}
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
}
_UNAUTHORIZED = {"type": "http.response.start", "status": 401, "headers": []}


async def send(message: Any) -> None:
    """The server side of ``send``: discard."""


class Receive:
    """Yields the body once (one ``http.request``), then ``http.disconnect``."""

    __slots__ = ("message", "sent")

    def __init__(self, body: bytes) -> None:
        self.message = {"type": "http.request", "body": body, "more_body": False}
        self.sent = False

    async def __call__(self) -> dict[str, Any]:
        if self.sent:
            return {"type": "http.disconnect"}
        self.sent = True
        return self.message


async def _read_body(receive: Any) -> bytes:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def bare(scope: Scope, receive: Any, send: Any) -> None:
    """(a): the endpoint reads the body and answers."""
    await _read_body(receive)
    await send(_START)
    await send(_OK)


async def bare_no_read(scope: Scope, receive: Any, send: Any) -> None:
    """The endpoint answers without reading the body (for case e)."""
    await send(_START)
    await send(_OK)


async def hand_written(scope: Scope, receive: Any, send: Any) -> None:
    """(b): GitHub's documented check, written in the endpoint."""
    body = await _read_body(receive)
    signature = None
    for name, value in scope["headers"]:
        if name == b"x-hub-signature-256":
            signature = value
            break
    if signature is None:
        await send(_UNAUTHORIZED)
        await send({"type": "http.response.body", "body": b""})
        return
    expected = "sha256=" + hmac.new(SECRET_BYTES, msg=body, digestmod=hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), signature):
        await send(_UNAUTHORIZED)
        await send({"type": "http.response.body", "body": b""})
        return
    await send(_START)
    await send(_OK)


class PassThrough:
    """(c): the least a middleware can do."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def make_scope(path: str, body: bytes, signature: bytes) -> Scope:
    """A scope as uvicorn builds it for a GitHub delivery."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51234),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"GitHub-Hookshot/044aadd"),
            (b"accept", b"*/*"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-github-event", b"pull_request"),
            (b"x-github-delivery", b"72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            (b"x-github-hook-id", b"292430182"),
            (b"x-github-hook-installation-target-type", b"repository"),
            (b"x-hub-signature-256", signature),
        ],
        "state": {},
    }


def _case(app: Any, path: str, loop: asyncio.AbstractEventLoop) -> Prepare:
    def prepare(pool: list[tuple[bytes, bytes]]) -> Any:
        calls = [(make_scope(path, body, sig), Receive(body)) for body, sig in pool]

        async def batch() -> float:
            t0 = time.perf_counter()
            for scope, receive in calls:
                await app(scope, receive, send)
            return time.perf_counter() - t0

        return lambda: loop.run_until_complete(batch())

    return prepare


def _floor_case(pool: list[tuple[bytes, bytes]]) -> Any:
    return lambda: raw_floor(pool)


def _check(
    loop: asyncio.AbstractEventLoop, app: Any, path: str, status: int, *, fresh: bool
) -> None:
    """A guarded request gets ``status``; proves the harness exercises what it claims."""
    from benchmarks.common import fresh_pool

    body, sig = fresh_pool(1)[0]
    if not fresh:
        sig = b"sha256=" + b"0" * 64
    seen: list[int] = []

    async def capture(message: Any) -> None:
        if message["type"] == "http.response.start":
            seen.append(message["status"])

    loop.run_until_complete(app(make_scope(path, body, sig), Receive(body), capture))
    assert seen == [status], (path, seen, status)


def run(*, rounds: int, batch: int) -> Results:
    loop = asyncio.new_event_loop()
    try:
        guarded = make_guard(routes=N_ROUTES)
        apps = {
            "a": (bare, GUARDED_PATH),
            "b": (hand_written, GUARDED_PATH),
            "c": (PassThrough(bare), UNMATCHED_PATH),
            "d": (guarded.asgi(bare), GUARDED_PATH),
            "e": (make_guard(routes=N_ROUTES).asgi(bare_no_read), GUARDED_PATH),
            "f": (guarded.asgi(bare), UNMATCHED_PATH),
        }
        _check(loop, apps["b"][0], GUARDED_PATH, 401, fresh=False)
        _check(loop, apps["d"][0], GUARDED_PATH, 401, fresh=False)
        _check(loop, apps["d"][0], GUARDED_PATH, 200, fresh=True)
        cases: dict[str, Prepare] = {"floor": _floor_case}
        cases.update({name: _case(app, path, loop) for name, (app, path) in apps.items()})
        return interleave("in-process raw ASGI", cases, rounds=rounds, batch=batch)
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    print(report(run(rounds=args.rounds, batch=args.batch)))


if __name__ == "__main__":
    main()
