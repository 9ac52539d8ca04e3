"""The guard under real servers on 127.0.0.1: gunicorn (sync, 1 worker) and uvicorn.

Each server runs ``tests/servers/{wsgi,asgi}_app.py`` as a subprocess with the secrets in
its environment. The apps echo the SHA-256 of the bytes they received and the verdict;
``/hits`` (unguarded) counts requests that reached a guarded path, so a test can prove
a rejected request never reached the app.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from webhook_guard.providers import dingtalk, github, seatable
from webhook_guard.testing import sign

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "github": "gh-server-secret-0123456789",
    "seatable": "st-server-secret-0123456789",
    "dingtalk": "SEC-dingtalk-server-secret-0123456789",
}
SCHEMES = {
    "github": github(secret=SECRETS["github"]),
    "seatable": seatable(secret=SECRETS["seatable"]),
    "dingtalk": dingtalk(secret=SECRETS["dingtalk"]),
}
MAX_BODY = 65536
START_TIMEOUT = 10.0
IO_TIMEOUT = 5.0


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self) -> int:
        response = httpx.get(f"{self.base}/hits", timeout=IO_TIMEOUT)
        assert response.status_code == 200
        return int(response.json()["hits"])


def _start(name: str, command: list[str], port: int, log: Path) -> Server:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "WG_GITHUB_SECRET": SECRETS["github"],
        "WG_SEATABLE_SECRET": SECRETS["seatable"],
        "WG_DINGTALK_SECRET": SECRETS["dingtalk"],
        "WG_MAX_BODY": str(MAX_BODY),
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("WEB_CONCURRENCY", None)
    handle = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    server = Server(name, port, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            server.hits()
            return server
        except httpx.HTTPError:
            time.sleep(0.05)
    _stop(server)
    pytest.fail(f"{name} did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()  # this pid only; gunicorn's master stops its worker
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", "1", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--timeout", "30", "--graceful-timeout", "2",
        "tests.servers.wsgi_app:app",
    ]  # fmt: skip
    server = _start("gunicorn", command, port, tmp_path_factory.mktemp("gunicorn") / "log")
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--lifespan", "on",
        "--timeout-graceful-shutdown", "2",
        "tests.servers.asgi_app:app",
    ]  # fmt: skip
    server = _start("uvicorn", command, port, tmp_path_factory.mktemp("uvicorn") / "log")
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(params=["gunicorn", "uvicorn"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


# -- helpers ---------------------------------------------------------------------------

_counter = iter(range(1, 1_000_000))


def _body(size: int = 2048) -> bytes:
    """A distinct JSON body of exactly ``size`` bytes (distinct bodies: distinct deliveries)."""
    head = json.dumps({"n": next(_counter), "t": time.time_ns(), "pad": ""})[:-2]
    pad = size - len(head) - 2
    return (head + "x" * pad + '"}').encode("ascii")


def _signed(provider: str, body: bytes) -> dict[str, str]:
    return sign(SCHEMES[provider], body, secret=SECRETS[provider], timestamp=time.time())


def _forged(provider: str, body: bytes) -> dict[str, str]:
    headers = sign(SCHEMES[provider], body, secret="not-the-secret-at-all", timestamp=time.time())
    return headers


def _post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{server.base}{path}",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=IO_TIMEOUT,
    )


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def _raw(server: Server, head: bytes, payload: bytes = b"") -> RawResponse:
    """Send raw bytes (``Connection: close`` in ``head``), read the whole response."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(head + payload)
        data = b""
        for _ in range(10_000):  # bounded: at most 10,000 reads
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawResponse(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    for _ in range(10_000):
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def _chunked(body: bytes, pieces: int = 5) -> bytes:
    """``body`` in ``pieces`` chunks of uneven size, then the terminating chunk."""
    step = max(1, len(body) // pieces + 7)
    out = b""
    for i in range(0, len(body), step):
        part = body[i : i + step]
        out += f"{len(part):x}\r\n".encode("ascii") + part + b"\r\n"
    return out + b"0\r\n\r\n"


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- tests -----------------------------------------------------------------------------

PROVIDERS = [
    pytest.param("github", id="github"),
    pytest.param("seatable", id="seatable"),
    pytest.param("dingtalk", id="dingtalk"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_genuine_request_reaches_app_with_exact_bytes(server: Server, provider: str) -> None:
    body = _body()
    before = server.hits()
    response = _post(server, f"/hooks/{provider}", body, _signed(provider, body))
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()
    assert echoed["verdict_sha256"] == echoed["sha256"]
    assert echoed["length"] == len(body)
    assert echoed["verified"] is True
    assert echoed["reason"] == "verified"
    assert echoed["provider"] == provider
    assert echoed["route"] == f"/hooks/{provider}"
    assert echoed["body_signed"] is (provider != "dingtalk")
    assert server.hits() == before + 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_forged_request_is_refused_before_the_app(server: Server, provider: str) -> None:
    body = _body()
    before = server.hits()
    response = _post(server, f"/hooks/{provider}", body, _forged(provider, body))
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert "x-hits" not in response.headers  # the app's header: it never answered
    assert server.hits() == before


@pytest.mark.parametrize("provider", ["github", "seatable"])
def test_github_signature_replayed_on_another_body_is_refused(
    server: Server, provider: str
) -> None:
    body = _body()
    headers = _signed(provider, body)
    before = server.hits()
    response = _post(server, f"/hooks/{provider}", _body(), headers)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert server.hits() == before


def test_missing_signature_is_refused(server: Server) -> None:
    before = server.hits()
    response = _post(server, "/hooks/github", _body(), {})
    assert response.status_code == 401
    assert response.json()["error"] == "missing_signature"
    assert server.hits() == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_replayed_delivery_is_refused(server: Server, provider: str) -> None:
    body = _body()
    headers = _signed(provider, body)
    first = _post(server, f"/hooks/{provider}", body, headers)
    assert first.status_code == 200
    before = server.hits()
    again = _post(server, f"/hooks/{provider}", body, headers)
    assert again.status_code == 409
    assert again.json()["status"] == "duplicate"
    assert "x-hits" not in again.headers
    assert server.hits() == before


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(MAX_BODY + 1, id="one-over-limit"),
        pytest.param(10 * 1024 * 1024 * 1024, id="ten-GiB"),
    ],
)
def test_oversized_declared_length_is_refused_unread(server: Server, declared: int) -> None:
    body = _body()
    headers = {**_signed("github", body), "Content-Type": "application/json"}
    headers["Content-Length"] = str(declared)
    before = server.hits()
    # Only the head and 2 KB are sent: the guard must answer from the declared length.
    response = _raw(server, _head("POST", "/hooks/github", headers), body)
    assert response.status == 413
    assert response.json()["error"] == "body_too_large"
    assert server.hits() == before


def test_body_at_the_limit_is_accepted(server: Server) -> None:
    body = _body(MAX_BODY)
    response = _post(server, "/hooks/github", body, _signed("github", body))
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_chunked_request_without_length_is_verified(server: Server, provider: str) -> None:
    body = _body(5000)
    headers = {
        **_signed(provider, body),
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    payload = _chunked(body)
    assert payload.count(b"\r\n") > 8  # several chunks on the wire
    before = server.hits()
    response = _raw(server, _head("POST", f"/hooks/{provider}", headers), payload)
    assert response.status == 200
    echoed = response.json()
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()
    assert echoed["length"] == len(body)
    assert echoed["verified"] is True
    assert server.hits() == before + 1


def test_forged_chunked_request_is_refused(server: Server) -> None:
    body = _body(5000)
    headers = {
        **_forged("github", body),
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    before = server.hits()
    response = _raw(server, _head("POST", "/hooks/github", headers), _chunked(body))
    assert response.status == 401
    assert response.json()["error"] == "bad_signature"
    assert server.hits() == before


def test_chunked_body_over_the_limit_is_refused(server: Server) -> None:
    body = _body(MAX_BODY + 100)
    headers = {
        **_signed("github", body),
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    before = server.hits()
    response = _raw(server, _head("POST", "/hooks/github", headers), _chunked(body, 20))
    assert response.status == 413
    assert response.json()["error"] == "body_too_large"
    assert server.hits() == before


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/public/echo", id="other-path"),
        pytest.param("/hooks/unknown", id="sibling-of-guarded"),
    ],
)
def test_unguarded_path_passes_untouched(server: Server, path: str) -> None:
    body = _body()
    before = server.hits()
    response = _post(server, path, body, {})
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()
    assert echoed["verified"] is False
    assert echoed["reason"] == "not_guarded"
    assert server.hits() == before


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        pytest.param("/hooks//github", 400, "bad_path", id="double-slash-denied"),
        pytest.param("/HOOKS/github", 400, "bad_path", id="case-folded-denied"),
        pytest.param("/hooks/./github", 400, "bad_path", id="dot-segment-denied"),
        # The server decodes these to the guarded path itself: verified (and refused) there.
        pytest.param("/hooks/%67ithub", 401, "bad_signature", id="percent-encoded-guarded"),
        pytest.param("/hooks%2Fgithub", 401, "bad_signature", id="encoded-slash-guarded"),
    ],
)
def test_disguised_guarded_path_never_reaches_app(
    server: Server, path: str, status: int, error: str
) -> None:
    body = _body()
    before = server.hits()
    response = _raw(
        server,
        _head("POST", path, {**_forged("github", body), "Content-Length": str(len(body))}),
        body,
    )
    assert response.status == status
    assert response.json()["error"] == error
    assert server.hits() == before
