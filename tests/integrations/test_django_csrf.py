"""Verified webhooks pass Django's CsrfViewMiddleware and LoginRequiredMiddleware with no
decorator on the view; everything else still needs a CSRF token and a login.

The same cases run through the three ways a verdict reaches Django: ``guard.wsgi(...)``
(Django's test ``Client(enforce_csrf_checks=True)`` behind the guard), ``guard.asgi(...)``
(Django's ASGI handler, which always enforces CSRF), and ``WebhookGuardMiddleware`` from
``settings.WEBHOOK_GUARD`` (sync through the test client, async through the ASGI handler).
The last tests run the project in ``django_csrf_site`` under gunicorn and uvicorn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

from tests.integrations.common import asgi_sender, django_ready, error_of

django_ready()

import django  # noqa: E402
from django.core import checks  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.client import ClientHandler  # noqa: E402

from tests.conftest import free_port  # noqa: E402
from tests.integrations import django_csrf_urls  # noqa: E402
from tests.integrations.django_csrf_site import SECRET_ENV  # noqa: E402
from webhook_guard import Guard, Route  # noqa: E402
from webhook_guard.integrations.django.checks import (  # noqa: E402
    CSRF_PATH,
    DJANGO_LOGIN_REQUIRED_PATH,
    LOGIN_REQUIRED_PATH,
    MIDDLEWARE_PATH,
    VERIFIED_PATH,
)
from webhook_guard.providers import github  # noqa: E402
from webhook_guard.testing import FrozenClock  # noqa: E402

if django.VERSION < (5, 1):
    pytest.skip("LoginRequiredMiddleware needs Django 5.1", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_790_000_000.0
SECRET = "django-csrf-webhook-secret"
GITHUB = github(secret=SECRET)
#: A CSRF secret (32 characters) sent as both cookie and header: what a browser form does.
CSRF_TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEF"

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
COMMON = "django.middleware.common.CommonMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
#: The recommended stacks: guard outside Django (wsgi/asgi) and guard in settings.
WRAPPED = [SESSION, COMMON, VERIFIED_PATH, CSRF_PATH, AUTH, LOGIN_REQUIRED_PATH]
SETTINGS_DRIVEN = [MIDDLEWARE_PATH, SESSION, COMMON, CSRF_PATH, AUTH, LOGIN_REQUIRED_PATH]

Response = tuple[int, bytes]
Send = Callable[[str, str, dict[str, str], bytes], Response]


@pytest.fixture(scope="module", autouse=True)
def site() -> Iterator[None]:
    """The auth app (for ``request.user``), cookie sessions (no database), our URLconf."""
    with override_settings(
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "webhook_guard.integrations.django",
        ],
        ROOT_URLCONF="tests.integrations.django_csrf_urls",
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        LOGIN_URL="/accounts/login/",
    ):
        yield


@pytest.fixture
def calls() -> list[str]:
    django_csrf_urls.CALLS.clear()
    return django_csrf_urls.CALLS


def make_guard() -> Guard:
    return Guard(
        [
            Route("/hooks/github", github(secret=SECRET)),
            Route("/hooks/report", github(secret=SECRET), report_only=True),
            Route("/hooks/unsigned", unsigned=True),
        ],
        clock=FrozenClock(NOW),
    )


# -- the three ways in ------------------------------------------------------------------


class GuardedClientHandler(ClientHandler):
    """Django's test handler (CSRF enforced) behind ``guard.wsgi``, as in a wsgi.py with
    ``application = guard.wsgi(get_wsgi_application())``."""

    def __init__(self, guard: Guard) -> None:
        super().__init__(enforce_csrf_checks=True)
        self.app = guard.wsgi(self._django)
        self.response: Any = None

    def _django(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.response = ClientHandler.__call__(self, environ)
        start_response(f"{self.response.status_code} OK", list(self.response.items()))
        return [self.response.content]

    def __call__(self, environ: dict[str, Any]) -> Any:
        self.response = None
        environ["wsgi.multiprocess"] = False  # Django's client says True; this is one process
        started: list[str] = []
        result = self.app(environ, lambda status, headers, exc_info=None: started.append(status))
        content = b"".join(result)
        if self.response is not None:
            return self.response
        response = HttpResponse(content, status=int(started[0][:3]))  # refused by the guard
        response.wsgi_request = WSGIRequest(environ)
        return response


def client_sender(client: Client) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        response = client.generic(
            method, path, body, content_type="application/json", headers=headers
        )
        return response.status_code, response.content

    return send


def via_wsgi(guard: Guard) -> Send:
    client = Client(enforce_csrf_checks=True)
    client.handler = GuardedClientHandler(guard)
    return client_sender(client)


def via_asgi(guard: Guard) -> Send:
    return asgi_sender(guard.asgi(get_asgi_application()))


def via_settings_sync(guard: Guard) -> Send:
    return client_sender(Client(enforce_csrf_checks=True))


def via_settings_async(guard: Guard) -> Send:
    return asgi_sender(get_asgi_application())


WAYS = [
    pytest.param((via_wsgi, WRAPPED), id="guard.wsgi"),
    pytest.param((via_asgi, WRAPPED), id="guard.asgi"),
    pytest.param((via_settings_sync, SETTINGS_DRIVEN), id="settings-middleware-sync"),
    pytest.param((via_settings_async, SETTINGS_DRIVEN), id="settings-middleware-async"),
]


@pytest.fixture(params=WAYS)
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    way, middleware = request.param
    guard = make_guard()
    with override_settings(MIDDLEWARE=middleware, WEBHOOK_GUARD=guard):
        yield way(guard)


# -- webhooks -----------------------------------------------------------------------------


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return dict(GITHUB.sign(body, secret=secret, timestamp=NOW))


def csrf_failure(content: bytes) -> bool:
    return b"CSRF verification failed" in content


#: (method, path, headers, reaches the view, status, what answered)
WEBHOOKS = [
    pytest.param("POST", "/hooks/github", signed, True, 200, "view", id="verified"),
    pytest.param(
        "POST", "/hooks/github", lambda b: signed(b, "forged"), False, 401, "guard", id="forged"
    ),
    pytest.param("POST", "/hooks/github", lambda b: {}, False, 401, "guard", id="unsigned-post"),
    pytest.param("POST", "/hooks/report", signed, True, 200, "view", id="report-only-verified"),
    pytest.param(
        "POST",
        "/hooks/report",
        lambda b: signed(b, "forged"),
        False,
        403,
        "csrf",
        id="report-only-forged-csrf",
    ),
    pytest.param(
        "GET",
        "/hooks/report",
        lambda b: signed(b, "forged"),
        False,
        302,
        "login",
        id="report-only-forged-login",
    ),
    pytest.param("GET", "/hooks/report", signed, True, 200, "view", id="report-only-verified-get"),
    pytest.param("POST", "/hooks/unsigned", lambda b: {}, False, 403, "csrf", id="unsigned-csrf"),
    pytest.param("GET", "/hooks/unsigned", lambda b: {}, False, 302, "login", id="unsigned-login"),
]


@pytest.mark.parametrize(("method", "path", "headers", "reaches", "status", "by"), WEBHOOKS)
def test_webhooks_under_csrf_and_login_required(
    send: Send,
    calls: list[str],
    method: str,
    path: str,
    headers: Callable[[bytes], dict[str, str]],
    reaches: bool,
    status: int,
    by: str,
) -> None:
    body = b'{"action":"opened","number":1}' if method == "POST" else b""
    got, content = send(method, path, headers(body), body)
    assert got == status, content[:300]
    assert calls == (["hook"] if reaches else [])
    if by == "view":
        data = json.loads(content)
        assert data["verified"] is True
        assert data["authenticated"] is False  # nobody was logged in on the sender's behalf
        assert data["bytes"] == len(body)
    elif by == "guard":
        assert error_of(content) in ("bad_signature", "missing_signature")
    elif by == "csrf":
        assert csrf_failure(content)
    else:
        assert by == "login"


def test_verified_webhook_on_a_guarded_route_passes_both_middlewares(
    send: Send, calls: list[str]
) -> None:
    """The issue's case end to end: several distinct deliveries, each reaching the view."""
    for n in range(3):
        body = json.dumps({"delivery": n}).encode()
        status, content = send("POST", "/hooks/github", signed(body), body)
        assert (status, json.loads(content)["verified"]) == (200, True)
    assert calls == ["hook"] * 3


# -- ordinary views keep CSRF and login ---------------------------------------------------

WITH_TOKEN = {"Cookie": f"csrftoken={CSRF_TOKEN}", "X-CSRFToken": CSRF_TOKEN}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "view"),
    [
        pytest.param("GET", "/account/", lambda b: {}, 302, None, id="login-required"),
        pytest.param(
            "GET", "/account/", lambda b: signed(b), 302, None, id="login-required-signed"
        ),
        pytest.param("POST", "/form/", lambda b: {}, 403, None, id="csrf-no-token"),
        pytest.param("POST", "/form/", lambda b: signed(b), 403, None, id="csrf-signed-no-token"),
        pytest.param("POST", "/form/", lambda b: WITH_TOKEN, 200, "form", id="csrf-token"),
    ],
)
def test_ordinary_views_still_need_login_and_csrf(
    send: Send,
    calls: list[str],
    method: str,
    path: str,
    headers: Callable[[bytes], dict[str, str]],
    status: int,
    view: str | None,
) -> None:
    """A provider's signature on an unguarded path is just a header: it exempts nothing."""
    body = b"name=value" if method == "POST" else b""
    got, content = send(method, path, headers(body), body)
    assert got == status, content[:300]
    assert calls == ([view] if view else [])
    if status == 403:
        assert csrf_failure(content)


# -- system checks ------------------------------------------------------------------------


def run_checks() -> list[str]:
    return [
        m.id
        for m in checks.run_checks(tags=[checks.Tags.security])
        if m.id.startswith("webhook_guard")
    ]


CHECKS = [
    pytest.param(WRAPPED, None, [], id="recommended-wrapped"),
    pytest.param(SETTINGS_DRIVEN, "guard", [], id="recommended-settings"),
    pytest.param([SESSION, COMMON, AUTH], None, [], id="no-csrf-no-login"),
    pytest.param(
        [SESSION, COMMON, CSRF_PATH, AUTH, LOGIN_REQUIRED_PATH],
        None,
        ["webhook_guard.W003"],
        id="W003-csrf-unmarked",
    ),
    pytest.param(
        [SESSION, COMMON, VERIFIED_PATH, CSRF_PATH, AUTH, DJANGO_LOGIN_REQUIRED_PATH],
        None,
        ["webhook_guard.W004"],
        id="W004-djangos-login-required",
    ),
    pytest.param(
        [MIDDLEWARE_PATH, SESSION, COMMON, CSRF_PATH, AUTH, DJANGO_LOGIN_REQUIRED_PATH],
        "guard",
        ["webhook_guard.W004"],
        id="W004-settings-driven",
    ),
    pytest.param(
        [SESSION, COMMON, CSRF_PATH, AUTH, DJANGO_LOGIN_REQUIRED_PATH],
        None,
        ["webhook_guard.W003", "webhook_guard.W004"],
        id="W003-W004-stock-django",
    ),
    pytest.param(
        [SESSION, COMMON, VERIFIED_PATH, CSRF_PATH, AUTH, "tests.integrations.django_csrf_mw.Own"],
        None,
        ["webhook_guard.W004"],
        id="W004-subclass-of-djangos",
    ),
    pytest.param(
        [SESSION, COMMON, VERIFIED_PATH, CSRF_PATH, AUTH, "tests.integrations.django_csrf_mw.Ours"],
        None,
        [],
        id="subclass-of-ours",
    ),
]


@pytest.mark.parametrize(("middleware", "setting", "expected"), CHECKS)
def test_system_checks(middleware: list[str], setting: str | None, expected: list[str]) -> None:
    extra: dict[str, Any] = {"WEBHOOK_GUARD": make_guard()} if setting else {}
    with override_settings(MIDDLEWARE=middleware, **extra):
        assert run_checks() == expected


# -- the example project ------------------------------------------------------------------

EXAMPLE_SCRIPT = """
import json, os, django
from django.test import Client
from webhook_guard.providers import github
django.setup()
client = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
body = b'{"zen":"Approachable is better than simple."}'
signed = github(secret="x").sign(body, secret=os.environ["GITHUB_WEBHOOK_SECRET"])
forged = github(secret="x").sign(body, secret="forged")
post = lambda h: client.post("/hooks/github", body, content_type="application/json", headers=h)
print(json.dumps([post(dict(signed)).status_code, post(dict(forged)).status_code]))
"""


def test_example_project_lets_verified_webhooks_past_csrf() -> None:
    """The example's recommended settings, in a process of their own (its own settings)."""
    project = ROOT / "examples" / "django_project"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "hooksite.settings",
        "GITHUB_WEBHOOK_SECRET": "example-secret-for-the-test",
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(
        [sys.executable, "-c", EXAMPLE_SCRIPT],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [200, 401]


# -- real servers -------------------------------------------------------------------------

START_TIMEOUT = 15.0
IO_TIMEOUT = 5.0
SERVER_SECRET = "django-csrf-server-secret"
SERVERS = {
    "gunicorn": [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
        "--timeout", "30", "--graceful-timeout", "2",
        "tests.integrations.django_csrf_site.wsgi:application",
    ],
    "uvicorn": [
        sys.executable, "-m", "uvicorn", "--workers", "1", "--no-access-log",
        "--lifespan", "off", "--timeout-graceful-shutdown", "2",
        "tests.integrations.django_csrf_site.asgi:application",
    ],
}  # fmt: skip


def _bind(name: str, port: int) -> list[str]:
    if name == "gunicorn":
        return ["--bind", f"127.0.0.1:{port}"]
    return ["--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    httpx = pytest.importorskip("httpx")
    name = request.param
    pytest.importorskip(name)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "tests.integrations.django_csrf_site.settings",
        SECRET_ENV: SERVER_SECRET,
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("WEB_CONCURRENCY", None)
    log = tmp_path / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*SERVERS[name], *_bind(name, port)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not start:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/hits", timeout=IO_TIMEOUT).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        if process.poll() is None:
            process.terminate()  # this pid only; gunicorn's master stops its worker
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.mark.server
def test_real_server_verified_webhook_passes_csrf_and_login(server: str) -> None:
    import httpx

    body = json.dumps({"zen": "Design for failure.", "t": time.time_ns()}).encode()
    good = dict(GITHUB.sign(body, secret=SERVER_SECRET))
    bad = dict(GITHUB.sign(body, secret="not-the-secret"))
    json_type = {"Content-Type": "application/json"}

    def post(path: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{server}{path}", content=body, headers={**json_type, **headers}, timeout=IO_TIMEOUT
        )

    forged = post("/hooks/github", bad)
    assert (forged.status_code, error_of(forged.content)) == (401, "bad_signature")
    verified = post("/hooks/github", good)
    assert verified.status_code == 200, verified.text[:300]
    assert verified.json()["verified"] is True
    assert verified.json()["authenticated"] is False
    assert post("/hooks/report", bad).status_code == 403  # unverified: CSRF as usual
    assert post("/form/", good).status_code == 403
    account = httpx.get(f"{server}/account/", timeout=IO_TIMEOUT)
    assert account.status_code == 302
    assert account.headers["location"].startswith("/accounts/login/")
    assert httpx.get(f"{server}/hits", timeout=IO_TIMEOUT).json()["calls"] == ["hook"]
