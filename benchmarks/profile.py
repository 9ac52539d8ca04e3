"""Calls per request, counted (not timed): what the guard runs for one request.

``python -m benchmarks.profile [--tree PATH] [--list] [--instructions]``

For the in-process cases of ``benchmarks.inprocess_wsgi``/``inprocess_asgi`` (2,048-byte
body, GitHub scheme, 50 routes, memory replay store): the guarded request (d), the
hand-written check (b), the pass-through middleware (c) and the unmatched path (f), one
warm request each, then one more counted with ``sys.setprofile``:

- Python calls: every Python function entered (the endpoint and the benchmark's own
  driver included, so compare cases, not absolute numbers);
- C calls: builtins and methods of C types (``dict.get``, ``HASH.update``, ...);
- with ``--list``, each function and its count;
- with ``--instructions``, CPU instructions per request under valgrind's callgrind
  (``(I(2n) - I(n)) / n`` over n = 300 requests, so start-up cancels out): exact and
  repeatable, unlike a timing on a shared machine. Needs ``valgrind`` (Debian package).

``--tree PATH`` counts another checkout (e.g. a worktree of an older commit) with this
same script, for before/after figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

CASES = ("guarded", "hand", "pass", "unmatched")
_COUNTED = 1
_SENT = 300  # requests per callgrind run: n, then 2n
_MAX_SENT = 2 * _SENT + 1


Measure = Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def drivers(requests: int) -> Iterator[dict[str, dict[str, Callable[[Measure], None]]]]:
    """``{adapter: {case: run}}``: ``run(measure)`` sends the next of ``requests`` requests
    of its case, the app's call (ASGI: inside the running loop) under ``with measure():``."""
    from benchmarks import inprocess_asgi as asgi
    from benchmarks import inprocess_wsgi as wsgi
    from benchmarks.common import GUARDED_PATH, N_ROUTES, UNMATCHED_PATH, fresh_pool, make_guard

    pool = fresh_pool(requests)
    # One guard per adapter: both send the same pool, and a shared replay store would
    # answer the second adapter's requests as duplicates.
    wsgi_guard, asgi_guard = make_guard(routes=N_ROUTES), make_guard(routes=N_ROUTES)
    wsgi_apps = {
        "guarded": (wsgi_guard.wsgi(wsgi.bare), GUARDED_PATH),
        "hand": (wsgi.hand_written, GUARDED_PATH),
        "pass": (wsgi.PassThrough(wsgi.bare), UNMATCHED_PATH),
        "unmatched": (wsgi_guard.wsgi(wsgi.bare), UNMATCHED_PATH),
    }
    asgi_apps = {
        "guarded": (asgi_guard.asgi(asgi.bare), GUARDED_PATH),
        "hand": (asgi.hand_written, GUARDED_PATH),
        "pass": (asgi.PassThrough(asgi.bare), UNMATCHED_PATH),
        "unmatched": (asgi_guard.asgi(asgi.bare), UNMATCHED_PATH),
    }
    loop = asyncio.new_event_loop()

    def wsgi_run(app: Any, path: str) -> Callable[[Measure], None]:
        items = iter([(wsgi.make_environ(path, b, s), b) for b, s in pool])

        def run(measure: Measure) -> None:
            environ, body = next(items)
            stream = io.BytesIO(body)
            with measure():
                environ["wsgi.input"] = stream
                response = app(environ, wsgi.start_response)
                for _ in response:
                    pass
                close = getattr(response, "close", None)
                if close is not None:
                    close()

        return run

    def asgi_run(app: Any, path: str) -> Callable[[Measure], None]:
        items = iter([(asgi.make_scope(path, b, s), asgi.Receive(b)) for b, s in pool])

        async def one(measure: Measure) -> None:
            scope, receive = next(items)
            with measure():
                await app(scope, receive, asgi.send)

        def run(measure: Measure) -> None:
            loop.run_until_complete(one(measure))

        return run

    try:
        yield {
            "wsgi": {case: wsgi_run(*wsgi_apps[case]) for case in CASES},
            "asgi": {case: asgi_run(*asgi_apps[case]) for case in CASES},
        }
    finally:
        loop.close()


def _unmeasured() -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def count(run: Callable[[Measure], None]) -> collections.Counter[str]:
    """The calls made inside ``measure()`` by one ``run``, by ``file:function``
    (``C:name`` for C calls)."""
    calls: collections.Counter[str] = collections.Counter()

    def profiler(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            calls[f"{os.path.basename(code.co_filename)}:{code.co_name}"] += 1
        elif event == "c_call":
            calls["C:" + getattr(arg, "__qualname__", repr(arg))] += 1

    class Measure:
        def __enter__(self) -> None:
            sys.setprofile(profiler)

        def __exit__(self, *exc: object) -> None:
            sys.setprofile(None)

    run(Measure)
    for name in ("C:setprofile", "profile.py:__exit__"):
        calls.pop(name, None)  # the counting itself
    return calls


def _counts(listing: bool) -> None:
    with drivers(_COUNTED + 1) as every:
        _print_counts(every, listing)


def _print_counts(every: dict[str, dict[str, Callable[[Measure], None]]], listing: bool) -> None:
    for adapter, runs in every.items():
        for case in CASES:
            runs[case](_unmeasured)  # warm: imports, caches, the first claim
            calls = count(runs[case])
            python = sum(v for k, v in calls.items() if not k.startswith("C:"))
            native = sum(v for k, v in calls.items() if k.startswith("C:"))
            print(f"{adapter} {case:<10} {python:>4} Python calls  {native:>4} C calls")
            if listing:
                for name, n in sorted(calls.items()):
                    print(f"    {n:>3} {name}")


def _instructions_child(adapter: str, case: str, n: int) -> None:
    with drivers(_MAX_SENT) as every:  # the same set-up whatever n is
        run = every[adapter][case]
        for _ in range(n + 1):
            run(_unmeasured)


def _instructions(tree: str) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("--instructions needs valgrind (Debian package valgrind)")
    n = _SENT
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": tree}

    def collected(adapter: str, case: str, requests: int) -> int:
        out = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, os.path.abspath(__file__), "--child", adapter, case, str(requests)],
            env=env, cwd=tree, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise RuntimeError(out.stderr[-2000:])
        return int(found.group(1))

    for adapter in ("wsgi", "asgi"):
        for case in CASES:
            per = (collected(adapter, case, 2 * n) - collected(adapter, case, n)) / n
            print(f"{adapter} {case:<10} {per / 1000:>8.1f}k instructions per request")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--tree", help="count this checkout instead (before/after figures)")
    parser.add_argument("--list", action="store_true", help="each function and its count")
    parser.add_argument("--instructions", action="store_true", help="callgrind, per request")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        adapter, case, n = args.child
        _instructions_child(adapter, case, int(n))
        return
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tree = os.path.abspath(args.tree or here)
    if args.tree and not args.instructions:
        # This script, run against the other checkout's package and benchmarks.
        command = [sys.executable, os.path.abspath(__file__)] + (["--list"] if args.list else [])
        env = {**os.environ, "PYTHONPATH": tree}
        sys.exit(subprocess.run(command, env=env, cwd=tree, check=False).returncode)
    if args.instructions:
        print(f"webhook_guard and benchmarks from {tree}")
        _instructions(tree)
        return
    import webhook_guard

    print(f"webhook_guard from {os.path.dirname(os.path.dirname(webhook_guard.__file__))}")
    _counts(args.list)


if __name__ == "__main__":
    main()
