"""10 MiB bodies: the guard's throughput as a ratio of the raw HMAC throughput measured in
the same rounds.

- raw: ``Secret.mac`` over the body (the HMAC-SHA256 the guard computes), and
  ``hmac.new(...).hexdigest()`` for reference;
- WSGI: the guard around an endpoint that does not read the body, the body in a
  ``BytesIO`` with its ``Content-Length``;
- ASGI: the guard around an endpoint that does not read the body, the body arriving in
  64 KiB ``http.request`` messages as uvicorn delivers it (the guard joins them once,
  the one copy it makes, and verifies that).

Targets (PERFORMANCE.md): ASGI >= 0.80x the raw HMAC throughput with at most one copy of
the body, WSGI >= 0.95x. Interleaved rounds, medians of per-round ratios.

``python -m benchmarks.large_bodies [--rounds 15] [--size-mib 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import io
import statistics
import time
from typing import Any

from webhook_guard import Guard, Route
from webhook_guard.core.keys import Secret
from webhook_guard.providers import github

SECRET = "bench-large-body-secret-0b1c"
PATH = "/hooks/github"
CHUNK = 64 * 1024


def _wsgi_endpoint(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


async def _asgi_endpoint(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--size-mib", type=int, default=10)
    args = parser.parse_args(argv)
    size = args.size_mib * 1024 * 1024
    body = (b'{"pad":"' + b"x" * size)[:size]
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    guard = Guard([Route(PATH, github(secret=SECRET), max_body=size + 1024)], replay_store=None)
    wsgi_app = guard.wsgi(_wsgi_endpoint)
    asgi_app = guard.asgi(_asgi_endpoint)
    secret = Secret(SECRET, key_id="k")
    chunks = [body[i : i + CHUNK] for i in range(0, size, CHUNK)]
    statuses: list[int] = []

    def raw() -> None:
        secret.mac("sha256", body)

    def raw_hmac_new() -> None:
        hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    def wsgi() -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": PATH,
            "QUERY_STRING": "",
            "CONTENT_LENGTH": str(size),
            "HTTP_X_HUB_SIGNATURE_256": signature,
            "wsgi.input": io.BytesIO(body),
        }
        for _ in wsgi_app(environ, lambda s, h, e=None: statuses.append(int(s[:3]))):
            pass

    async def asgi_once() -> None:
        messages = iter(chunks)

        async def receive() -> dict[str, Any]:
            piece = next(messages, None)
            if piece is None:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": piece, "more_body": piece is not chunks[-1]}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = {
            "type": "http",
            "method": "POST",
            "path": PATH,
            "root_path": "",
            "query_string": b"",
            "headers": [(b"x-hub-signature-256", signature.encode())],
        }
        await asgi_app(scope, receive, send)

    loop = asyncio.new_event_loop()

    def asgi() -> None:
        loop.run_until_complete(asgi_once())

    cases = {"raw": raw, "raw hmac.new": raw_hmac_new, "wsgi": wsgi, "asgi": asgi}
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    try:
        for r in range(-1, args.rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                cases[name]()
                elapsed = time.perf_counter() - t0
                gc.enable()
                if r >= 0:
                    times[name].append(elapsed)
    finally:
        loop.close()
    if set(statuses) != {200}:
        raise SystemExit(f"a guarded request was refused: {set(statuses)}")
    mib = size / (1024 * 1024)
    print(f"== {args.size_mib} MiB body, {args.rounds} rounds ==")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<14}{median * 1e3:>9.2f} ms{mib / median:>9.0f} MiB/s")

    def ratio(name: str) -> float:
        return statistics.median(r / g for r, g in zip(times["raw"], times[name], strict=True))

    print(f"WSGI throughput / raw HMAC   {ratio('wsgi'):.2f}x   target >= 0.95x")
    print(f"ASGI throughput / raw HMAC   {ratio('asgi'):.2f}x   target >= 0.80x (one copy: the join)")


if __name__ == "__main__":
    main()
