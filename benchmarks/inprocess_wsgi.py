"""In-process WSGI: the app called directly with a prepared environ (a fresh ``BytesIO``
per call, created inside the timing for every case alike).

``python -m benchmarks.inprocess_wsgi [--rounds N] [--batch N]``
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import sys
import time
from typing import Any

from benchmarks.ceiling import inlined, inlined_no_replay
from benchmarks.common import (
    GUARDED_PATH,
    N_ROUTES,
    SECRET_BYTES,
    UNMATCHED_PATH,
    Prepare,
    Results,
    fresh_pool,
    interleave,
    make_guard,
    raw_floor,
    report,
)

Environ = dict[str, Any]
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "11")]
_OK = [b'{"ok":true}']


def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    """The server side of ``start_response``: discard."""
    return None


def bare(environ: Environ, start_response: Any) -> Any:
    """(a): the endpoint reads the body and answers."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", _HEADERS)
    return _OK


def bare_no_read(environ: Environ, start_response: Any) -> Any:
    """The endpoint answers without reading the body (for case e)."""
    start_response("200 OK", _HEADERS)
    return _OK


def hand_written(environ: Environ, start_response: Any) -> Any:
    """(b): GitHub's documented check, written in the endpoint."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    signature = environ.get("HTTP_X_HUB_SIGNATURE_256")
    if signature is None:
        start_response("401 Unauthorized", [])
        return [b""]
    expected = "sha256=" + hmac.new(SECRET_BYTES, msg=body, digestmod=hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        start_response("401 Unauthorized", [])
        return [b""]
    start_response("200 OK", _HEADERS)
    return _OK


class PassThrough:
    """(c): the least a middleware can do."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Any) -> Any:
        return self.app(environ, start_response)


def make_environ(path: str, body: bytes, signature: bytes) -> Environ:
    """An environ as gunicorn's sync worker builds it for a GitHub delivery."""
    return {
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": None,
        "wsgi.input_terminated": True,
        "SERVER_SOFTWARE": "gunicorn/23.0.0",
        "wsgi.url_scheme": "http",
        "REQUEST_METHOD": "POST",
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "GitHub-Hookshot/044aadd",
        "HTTP_ACCEPT": "*/*",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_GITHUB_EVENT": "pull_request",
        "HTTP_X_GITHUB_DELIVERY": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "HTTP_X_GITHUB_HOOK_ID": "292430182",
        "HTTP_X_GITHUB_HOOK_INSTALLATION_TARGET_TYPE": "repository",
        "HTTP_X_HUB_SIGNATURE_256": signature.decode("ascii"),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "51234",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
    }


def _case(app: Any, path: str) -> Prepare:
    def prepare(pool: list[tuple[bytes, bytes]]) -> Any:
        calls = [(make_environ(path, body, sig), body) for body, sig in pool]
        bytes_io = io.BytesIO

        def batch() -> float:
            t0 = time.perf_counter()
            for environ, body in calls:
                environ["wsgi.input"] = bytes_io(body)
                result = app(environ, start_response)
                for _ in result:
                    pass
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            return time.perf_counter() - t0

        return batch

    return prepare


def _floor_case(pool: list[tuple[bytes, bytes]]) -> Any:
    return lambda: raw_floor(pool)


def _check(app: Any, path: str, status: str, *, fresh: bool) -> None:
    """A request gets ``status``; proves the harness exercises what it claims."""
    body, sig = fresh_pool(1)[0]
    if not fresh:
        sig = b"sha256=" + b"0" * 64
    environ = make_environ(path, body, sig)
    environ["wsgi.input"] = io.BytesIO(body)
    seen: list[str] = []
    result = app(environ, lambda s, h, e=None: seen.append(s[:3]))
    list(result)
    assert seen == [status], (path, seen, status)


def run(*, rounds: int, batch: int) -> Results:
    guarded = make_guard(routes=N_ROUTES)
    apps = {
        "a": (bare, GUARDED_PATH),
        "b": (hand_written, GUARDED_PATH),
        "c": (PassThrough(bare), UNMATCHED_PATH),
        "d": (guarded.wsgi(bare), GUARDED_PATH),
        "e": (make_guard(routes=N_ROUTES).wsgi(bare_no_read), GUARDED_PATH),
        "f": (guarded.wsgi(bare), UNMATCHED_PATH),
        "g": (inlined(bare), GUARDED_PATH),
        "h": (inlined_no_replay(bare), GUARDED_PATH),
    }
    for name in ("b", "d", "g", "h"):
        _check(apps[name][0], GUARDED_PATH, "401", fresh=False)
    for name in ("d", "g", "h"):
        _check(apps[name][0], GUARDED_PATH, "200", fresh=True)
    cases: dict[str, Prepare] = {"floor": _floor_case}
    cases.update({name: _case(app, path) for name, (app, path) in apps.items()})
    return interleave("in-process WSGI", cases, rounds=rounds, batch=batch)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    print(report(run(rounds=args.rounds, batch=args.batch)))


if __name__ == "__main__":
    main()
