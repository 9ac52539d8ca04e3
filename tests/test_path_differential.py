"""Path and body-framing differential on real servers.

The same guarded app (two guarded GitHub routes, a ``{repo}`` route, a catch-all) runs
under six servers: wsgiref, Werkzeug's dev server, gunicorn (sync) and asgiref's
``WsgiToAsgi`` under uvicorn (h11) serve it as a Flask app; uvicorn with h11 and with
httptools serve it as a Starlette app. Requests go out as raw bytes on a socket, so no
client normalises the request line.

- Every disguise of a guarded path (``tests/integrations/common.py`` ``DISGUISES`` plus
  request-line shapes only a raw client can send: no leading slash, absolute-form, a raw
  NUL, a fragment, an encoded newline) is sent unsigned: a guarded handler never runs,
  whatever the server and the router make of the path. A server may refuse the request
  itself. (``/hooks/github%0a`` ran Starlette's ``/hooks/github`` handler unverified
  under uvicorn until ``core.routes`` treated a newline as odd: ``$`` in Starlette's
  route regexes matches before a final newline.)
- Ambiguous framing (``Content-Length`` with ``Transfer-Encoding``; two
  ``Content-Length`` headers) with a correctly signed body is refused by the server or
  by the guard (400) and never reaches the handler, or (where the server collapses the
  headers into one framing before the app) reaches it verified with exactly the signed
  bytes. ``EXPECTED_FRAMING`` pins which server does what.
- A correctly signed request reaches each guarded handler with the exact bytes.

Run with ``-s`` to print the table of who answered what (server, guard, router,
handler) per server.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.deployment.harness import (
    Answer,
    Process,
    exchange,
    request_bytes,
    spawn,
    stop,
    wait_until,
)
from tests.integrations.common import DISGUISES
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import github

pytestmark = pytest.mark.server

SECRET = "differential-github-secret-0123456789"
GITHUB = github(secret=SECRET)
START_TIMEOUT = 15.0
IO_TIMEOUT = 5.0

_UVICORN = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log"]
_UVICORN_TAIL = ["--log-level", "warning", "--lifespan", "off", "--timeout-graceful-shutdown", "2"]
#: name -> command (``{port}`` filled in).
SERVERS: dict[str, list[str]] = {
    "wsgiref": [sys.executable, "-m", "tests.deployment.serve", "wsgiref", "{port}"],
    "werkzeug": [sys.executable, "-m", "tests.deployment.serve", "werkzeug", "{port}"],
    "gunicorn": [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
        "--bind", "127.0.0.1:{port}", "--graceful-timeout", "2", "--log-level", "warning",
        "tests.deployment.flask_app:app",
    ],
    "uvicorn-h11": [
        *_UVICORN, "--port", "{port}", "--http", "h11", *_UVICORN_TAIL,
        "tests.deployment.starlette_app:app",
    ],
    "uvicorn-httptools": [
        *_UVICORN, "--port", "{port}", "--http", "httptools", *_UVICORN_TAIL,
        "tests.deployment.starlette_app:app",
    ],
    "wsgi-to-asgi": [
        *_UVICORN, "--port", "{port}", "--http", "h11", *_UVICORN_TAIL,
        "tests.deployment.adapter_app:app",
    ],
}  # fmt: skip
GUARDED_HANDLERS = ("github", "repo")
GUARD_ERRORS = {r.value for r in Reason} | {"duplicate"}


# -- the table of outcomes -------------------------------------------------------------


@dataclass
class Table:
    """Who answered each case on each server, printed at the end of the module."""

    cells: dict[str, dict[str, str]] = field(default_factory=dict)

    def put(self, case: str, server: str, cell: str) -> None:
        self.cells.setdefault(case, {})[server] = cell

    def render(self) -> str:
        servers = list(SERVERS)
        rows = [["case", *servers]]
        rows += [[case, *(cells.get(s, "") for s in servers)] for case, cells in self.cells.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
            for row in rows
        ]
        lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def table() -> Iterator[Table]:
    table = Table()
    yield table
    if table.cells:
        print(
            "\n\nWho answered (G = the guard, S = the server itself, R = the app's router or"
            " framework, H:<handler>+ = the handler ran verified, H:<handler>- = unverified):\n"
            + table.render()
        )


# -- servers ---------------------------------------------------------------------------


@dataclass
class Served:
    process: Process
    log: Path

    @property
    def port(self) -> int:
        return self.process.port

    def calls(self, probe: str) -> list[dict[str, object]]:
        """The handler calls logged for the request carrying ``X-Probe: probe``."""
        text = self.log.read_text() if self.log.exists() else ""
        entries = [json.loads(line) for line in text.splitlines() if line]
        return [e for e in entries if e["probe"] == probe]


def _healthy(port: int) -> bool:
    answer = exchange(port, request_bytes("GET", "/health", []), timeout=1.0)
    return answer.status == 200


@pytest.fixture(scope="module", params=list(SERVERS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    name: str = request.param
    if name == "uvicorn-httptools":
        pytest.importorskip("httptools")
    directory = tmp_path_factory.mktemp(name)
    port = free_port()
    log = directory / "calls.jsonl"
    command = [part.replace("{port}", str(port)) for part in SERVERS[name]]
    process = spawn(
        name, command, port, directory, {"WG_DIFF_SECRET": SECRET, "WG_DIFF_LOG": str(log)}
    )
    try:
        if not wait_until(lambda: _healthy(port), START_TIMEOUT, process=process):
            pytest.fail(
                f"{name} did not answer within {START_TIMEOUT} s:\n{process.output()[-3000:]}"
            )
        yield Served(process, log)
    finally:
        stop(process)


# -- requests --------------------------------------------------------------------------


def _send(
    served: Served, method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[str, Answer]:
    probe = uuid.uuid4().hex
    raw = request_bytes(method, target, [("X-Probe", probe), *headers], body)
    return probe, exchange(served.port, raw, timeout=IO_TIMEOUT)


def _signed_body(tag: str) -> tuple[bytes, list[tuple[str, str]]]:
    """A distinct JSON body (distinct replay keys) and its GitHub signature header."""
    body = json.dumps({"action": "opened", "case": tag, "id": uuid.uuid4().hex}).encode("ascii")
    return body, [
        ("Content-Type", "application/json"),
        *dict(GITHUB.sign(body, secret=SECRET)).items(),
    ]


def _who(answer: Answer, calls: list[dict[str, object]]) -> str:
    """A compact cell: who answered and how."""
    if calls:
        return " ".join(f"H:{c['handler']}{'+' if c['verified'] else '-'}" for c in calls)
    if answer.status is None:
        return f"S:{answer.note}"
    if answer.headers.get("cache-control") == "no-store" and answer.headers.get(
        "content-type", ""
    ).startswith("application/json"):
        error = _error(answer.body)
        return f"G{answer.status}" + (f" {error}" if error else "")
    if answer.status in (301, 302, 307, 308, 404, 405):
        return f"R{answer.status}"
    return f"S{answer.status}"


def _error(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    value = doc.get("error") or doc.get("status")
    return value if value in GUARD_ERRORS else None


# -- disguised paths -------------------------------------------------------------------

#: Request-line shapes only a raw client sends (``{port}`` filled in): (method, target, id).
RAW_ONLY = [
    pytest.param("POST", "hooks/github", id="no-leading-slash"),
    pytest.param("POST", "repos/api/hooks", id="no-leading-slash-param"),
    pytest.param("POST", "hooks//github", id="no-leading-slash-double"),
    pytest.param("POST", "http://127.0.0.1:{port}/hooks/github", id="absolute-form"),
    pytest.param("POST", "http://127.0.0.1:{port}//hooks/github", id="absolute-form-double"),
    pytest.param("POST", "http://127.0.0.1:{port}/repos/api/hooks", id="absolute-form-param"),
    pytest.param("POST", "http:hooks/github", id="scheme-no-authority"),
    pytest.param("POST", "/hooks/github\x00", id="raw-nul"),
    pytest.param("POST", "/hooks/github#x", id="fragment"),
    pytest.param("POST", "/hooks/github%2F", id="pct-trailing-slash"),
    pytest.param("POST", "///hooks/github", id="triple-slash-lead"),
    # More newlines (the trailing ones are in DISGUISES): Starlette's route regexes end in
    # "$", which also matches before a final "\n".
    pytest.param("POST", "/hooks/github%0A/", id="pct-newline-slash"),
    pytest.param("POST", "/hooks/git%0ahub", id="pct-newline-inside"),
    pytest.param("POST", "/hooks/github%0d", id="pct-cr"),
]
UNSIGNED_BODY = b'{"action":"opened","number":1}'


def _disguises() -> list[object]:
    out: list[object] = []
    for param in DISGUISES:
        method, target, headers = param.values
        out.append(pytest.param(param.id, method, target, headers, id=param.id))
    for param in RAW_ONLY:
        method, target = param.values
        out.append(pytest.param(param.id, method, target, {}, id=param.id))
    return out


@pytest.mark.parametrize(("case", "method", "target", "extra"), _disguises())
def test_unsigned_disguise_never_runs_a_guarded_handler(
    served: Served,
    table: Table,
    case: str,
    method: str,
    target: str,
    extra: dict[str, str],
) -> None:
    target = target.replace("{port}", str(served.port))
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(UNSIGNED_BODY))),
        *extra.items(),
    ]
    probe, answer = _send(served, method, target, headers, UNSIGNED_BODY)
    calls = served.calls(probe)
    table.put(case, served.process.name, _who(answer, calls))
    unverified = [c for c in calls if c["handler"] in GUARDED_HANDLERS and not c["verified"]]
    assert not unverified, (
        f"{served.process.name}: {target!r} ran a guarded handler unverified: {unverified}"
    )
    assert not [c for c in calls if c["handler"] in GUARDED_HANDLERS]  # unsigned: never verified
    if case == "plain":  # the guard is in place on every server
        assert answer.status == 401
        assert _error(answer.body) == "missing_signature"


# -- ambiguous framing -----------------------------------------------------------------


def _chunked(body: bytes) -> bytes:
    half = len(body) // 2
    return (
        b"".join(
            f"{len(part):x}\r\n".encode("ascii") + part + b"\r\n"
            for part in (body[:half], body[half:])
        )
        + b"0\r\n\r\n"
    )


def _framing(case: str, body: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Framing headers and the bytes on the wire after the head."""
    n = len(body)
    if case == "cl-and-te":
        return [("Content-Length", str(n)), ("Transfer-Encoding", "chunked")], _chunked(body)
    if case == "te-and-cl":
        return [("Transfer-Encoding", "chunked"), ("Content-Length", str(n))], _chunked(body)
    if case == "cl-twice-same":
        return [("Content-Length", str(n)), ("Content-Length", str(n))], body
    if case == "cl-twice-different":
        # the signed body, then 10 more bytes: a server reading the second length gets a
        # body the signature does not cover
        return [("Content-Length", str(n)), ("Content-Length", str(n + 10))], body + b" " * 10
    if case == "cl-list-same":
        return [("Content-Length", f"{n}, {n}")], body
    raise AssertionError(case)


FRAMING = ["cl-and-te", "te-and-cl", "cl-twice-same", "cl-twice-different", "cl-list-same"]

#: Servers that collapse a repeated Content-Length into one framing before the app sees the
#: request (no trace of the repeat reaches the WSGI environ or the ASGI scope), so the
#: guard cannot refuse it; the guard then verifies exactly the bytes the app receives.
#: wsgiref keeps the first value, Werkzeug's dev server the last; h11 accepts equal
#: repeats (and comma lists of equal values) and passes one header on.
COLLAPSES: dict[str, set[str]] = {
    "wsgiref": {"cl-twice-same", "cl-twice-different"},
    "werkzeug": {"cl-twice-same", "cl-twice-different"},
    "uvicorn-h11": {"cl-twice-same", "cl-list-same"},
    "wsgi-to-asgi": {"cl-twice-same", "cl-list-same"},
}


@pytest.mark.parametrize("case", FRAMING)
def test_ambiguous_framing_never_reaches_the_handler_unverified(
    served: Served, table: Table, case: str
) -> None:
    body, signature = _signed_body(case)
    framing, payload = _framing(case, body)
    probe, answer = _send(served, "POST", "/hooks/github", [*signature, *framing], payload)
    calls = served.calls(probe)
    name = served.process.name
    table.put(case, name, _who(answer, calls))
    assert all(c["verified"] for c in calls), calls
    if case in COLLAPSES.get(name, set()):
        # The server framed the body itself before the app: the handler got exactly the
        # verified bytes (the signed body, or the padded one and then a 401).
        if calls:
            assert [c["sha256"] for c in calls] == [hashlib.sha256(body).hexdigest()]
            assert answer.status == 200
        else:
            assert answer.status == 401
            assert _error(answer.body) == "bad_signature"
        return
    assert not calls, f"{name}: {case} reached the handler: {calls}"
    refused_by_guard = answer.status == 400 and _error(answer.body) == "bad_request"
    refused_by_server = answer.status is None or (
        answer.status in (400, 501) and _error(answer.body) is None
    )
    assert refused_by_guard or refused_by_server, (answer.status, answer.body[:200])


# -- the genuine request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "handler", "params"),
    [
        pytest.param("/hooks/github", "github", {}, id="signed-hooks-github"),
        pytest.param("/repos/api/hooks", "repo", {"repo": "api"}, id="signed-repo-route"),
    ],
)
def test_signed_request_reaches_the_handler_with_exact_bytes(
    served: Served, table: Table, target: str, handler: str, params: dict[str, str]
) -> None:
    body, signature = _signed_body(target)
    headers = [*signature, ("Content-Length", str(len(body)))]
    probe, answer = _send(served, "POST", target, headers, body)
    calls = served.calls(probe)
    table.put(f"signed {target}", served.process.name, _who(answer, calls))
    assert answer.status == 200, (answer.status, answer.body[:200])
    assert len(calls) == 1
    call = calls[0]
    assert call["handler"] == handler
    assert call["verified"] is True
    assert call["reason"] == "verified"
    assert call["params"] == params
    assert call["sha256"] == hashlib.sha256(body).hexdigest()
