"""``python -m benchmarks [--rounds N] [--batch N] [--only asgi|wsgi]``: the in-process parts."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from benchmarks import inprocess_asgi, inprocess_wsgi


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=25, help="rounds (>= 15)")
    parser.add_argument("--batch", type=int, default=2000, help="calls per case per round")
    parser.add_argument("--only", choices=("asgi", "wsgi"))
    args = parser.parse_args(argv)
    if args.rounds < 15:
        parser.error("--rounds must be at least 15 (PERFORMANCE.md)")
    print(f"python {platform.python_version()} ({sys.executable}) on {platform.machine()}")
    started = time.perf_counter()
    parts = {"asgi": inprocess_asgi, "wsgi": inprocess_wsgi}
    for name, part in parts.items():
        if args.only in (None, name):
            print()
            print(part.report(part.run(rounds=args.rounds, batch=args.batch)))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
