"""Shared harness for the framework tests: one guard configuration, one table of cases,
and raw WSGI/ASGI senders that put exactly the given path on the wire (no client-side
normalisation), so the framework's own router decides what a disguised path reaches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest

from webhook_guard import Guard, Route, Verdict, get_verdict
from webhook_guard.providers import dingtalk, github, seatable
from webhook_guard.testing import FrozenClock, build_wsgi_environ

NOW = 1_790_000_000.0
GITHUB_SECRET = "It's a Secret to Everybody"
SEATABLE_SECRET = "seatable-secret"
DINGTALK_SECRET = "dingtalk-app-secret"
MAX_BODY = 4096
BODY = b'{"action":"opened","number":1}'

GITHUB = github(secret=GITHUB_SECRET)
SEATABLE = seatable(secret=SEATABLE_SECRET)
DINGTALK = dingtalk(secret=DINGTALK_SECRET)

#: The endpoints every framework app defines; the first four are guarded.
GUARDED_PATHS = ("/hooks/github", "/repos/{repo}/hooks", "/hooks/seatable", "/hooks/dingtalk")


def make_guard(clock: FrozenClock | None = None) -> Guard:
    return Guard(
        [
            Route("/hooks/github", GITHUB),
            Route("/repos/{repo}/hooks", github(secret=GITHUB_SECRET)),
            Route("/hooks/seatable", SEATABLE),
            Route("/hooks/dingtalk", DINGTALK),
        ],
        max_body=MAX_BODY,
        clock=clock or FrozenClock(NOW),
    )


@dataclass
class Seen:
    """What the app's handlers received."""

    calls: list[tuple[str, bytes, Verdict]] = field(default_factory=list)

    def record(self, name: str, body: bytes, request: Any) -> None:
        self.calls.append((name, body, get_verdict(request)))

    def handled(self, name: str) -> list[tuple[bytes, Verdict]]:
        return [(b, v) for n, b, v in self.calls if n == name]


def github_headers(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", **GITHUB.sign(body, secret=secret)}


# -- raw senders ------------------------------------------------------------------------

Response = tuple[int, bytes]
Sender = Callable[..., Response]


def wsgi_sender(app: Any) -> Sender:
    """Call a WSGI app as a server would: PATH_INFO percent-decoded (as latin-1)."""

    def send(
        method: str,
        raw_path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        *,
        script_name: str = "",
        chunked: bool = False,
    ) -> Response:
        path, _, query = raw_path.partition("?")
        environ = build_wsgi_environ(
            unquote(path, encoding="latin-1"),
            body=body,
            method=method,
            headers=headers,
            query=query,
            chunked=chunked,
        )
        environ.update(
            SCRIPT_NAME=script_name,
            RAW_URI=raw_path,
            SERVER_PORT="8000",
            REMOTE_ADDR="127.0.0.1",
            HTTP_HOST="127.0.0.1:8000",
        )
        status: list[str] = []
        result = app(environ, lambda s, h, e=None: status.append(s))
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(status[0][:3]), content

    return send


def asgi_sender(app: Any) -> Sender:
    """Call an ASGI app as uvicorn would: ``path`` decoded, ``raw_path`` as sent."""

    def send(
        method: str,
        raw_path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        *,
        root_path: str = "",
        chunked: bool = False,
    ) -> Response:
        path, _, query = raw_path.partition("?")
        pairs = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        pairs.append((b"host", b"127.0.0.1:8000"))
        if not chunked:
            pairs.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": root_path + unquote(path),
            "raw_path": (root_path + path).encode("latin-1"),
            "root_path": root_path,
            "query_string": query.encode("latin-1"),
            "headers": pairs,
            "client": ("127.0.0.1", 51000),
            "server": ("127.0.0.1", 8000),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)  # like a server: nothing more until the client goes
            return {"type": "http.disconnect"}

        async def send_(message: dict[str, Any]) -> None:
            sent.append(message)

        async def run() -> None:
            await asyncio.wait_for(app(scope, receive, send_), timeout=10)

        asyncio.run(run())
        start = next(m for m in sent if m["type"] == "http.response.start")
        content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return int(start["status"]), content

    return send


def error_of(content: bytes) -> str | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data.get("error") if isinstance(data, dict) else None


# -- the cases every framework must pass ----------------------------------------------------


def _stale(body: bytes) -> dict[str, str]:
    return dict(DINGTALK.sign(body, secret=DINGTALK_SECRET, timestamp=NOW - 3600))


def _future(body: bytes) -> dict[str, str]:
    return dict(DINGTALK.sign(body, secret=DINGTALK_SECRET, timestamp=NOW + 3600))


#: (id, path, headers for BODY, body, expected status, expected error code)
REJECTIONS = [
    pytest.param(
        "/hooks/github", github_headers(BODY, "wrong"), BODY, 401, "bad_signature", id="forged"
    ),
    pytest.param(
        "/hooks/github",
        {"Content-Type": "application/json"},
        BODY,
        401,
        "missing_signature",
        id="missing",
    ),
    pytest.param(
        "/hooks/github", github_headers(BODY), BODY + b" ", 401, "bad_signature", id="tampered"
    ),
    pytest.param("/hooks/dingtalk", _stale(BODY), BODY, 401, "stale_timestamp", id="stale"),
    pytest.param("/hooks/dingtalk", _future(BODY), BODY, 401, "future_timestamp", id="future"),
    pytest.param(
        "/hooks/seatable",
        SEATABLE.sign(b"x" * (MAX_BODY + 1), secret=SEATABLE_SECRET),
        b"x" * (MAX_BODY + 1),
        413,
        "body_too_large",
        id="oversized",
    ),
    pytest.param(
        "/repos/api/hooks",
        github_headers(BODY, "wrong"),
        BODY,
        401,
        "bad_signature",
        id="param-route-forged",
    ),
]

#: Disguises of the guarded path ``/hooks/github``, sent unsigned. Whatever the framework's
#: router makes of them, the guarded handler must never run on an unverified request.
DISGUISES = [
    pytest.param("POST", "/hooks/github", {}, id="plain"),
    pytest.param("POST", "/hooks/github/", {}, id="trailing-slash"),
    pytest.param("POST", "//hooks/github", {}, id="double-slash-lead"),
    pytest.param("POST", "/hooks//github", {}, id="double-slash-mid"),
    pytest.param("POST", "/HOOKS/GitHub", {}, id="case"),
    pytest.param("POST", "/hooks/%67ithub", {}, id="pct-letter"),
    pytest.param("POST", "/hooks%2Fgithub", {}, id="pct-slash"),
    pytest.param("POST", "/hooks%2fgithub", {}, id="pct-slash-lower"),
    pytest.param("POST", "/hooks/%2567ithub", {}, id="double-encoded"),
    pytest.param("POST", "/x/../hooks/github", {}, id="dot-dot"),
    pytest.param("POST", "/hooks/./github", {}, id="dot"),
    pytest.param("POST", "/hooks/github;x=1", {}, id="semicolon-param"),
    pytest.param("POST", "/hooks/github%3Bx=1", {}, id="pct-semicolon"),
    pytest.param("POST", "/hooks/github%00", {}, id="nul"),
    pytest.param("POST", "/hooks\\github", {}, id="backslash"),
    # A decoded trailing newline: the "$" ending Starlette's route regexes also matches
    # before a final newline (Django matches re_path endpoints in full).
    pytest.param("POST", "/hooks/github%0a", {}, id="pct-newline"),
    pytest.param("POST", "/repos/api/hooks%0A", {}, id="pct-newline-param"),
    pytest.param("POST", "/hooks/github?x=1", {}, id="query"),
    *(
        pytest.param(m, "/hooks/github", {}, id=f"method-{m.lower()}")
        for m in ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    ),
    pytest.param("GET", "/hooks/github", {"X-HTTP-Method-Override": "POST"}, id="override-hdr"),
    pytest.param("POST", "/hooks/github", {"X-HTTP-Method-Override": "GET"}, id="override-get"),
    pytest.param("GET", "/hooks/github?_method=POST", {}, id="override-query"),
    pytest.param("POST", "/repos/api/hooks/", {}, id="param-trailing-slash"),
    pytest.param("POST", "/repos/API/HOOKS", {}, id="param-case"),
    pytest.param("POST", "/repos/a%2Fb/hooks", {}, id="param-pct-slash"),
    pytest.param("POST", "/repos/api/./hooks", {}, id="param-dot"),
]


def assert_never_unverified(seen: Seen) -> None:
    for name, _body, verdict in seen.calls:
        if name in ("github", "repo"):
            assert verdict.verified, f"guarded handler {name!r} ran unverified: {verdict}"


def django_ready() -> None:
    """Configure Django once per session for the framework and Django tests."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="django-test-only-not-a-webhook-secret",
            ALLOWED_HOSTS=["127.0.0.1", "testserver"],
            ROOT_URLCONF="tests.integrations.django_urls",
            MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
            INSTALLED_APPS=["webhook_guard.integrations.django"],
            APPEND_SLASH=True,
            USE_TZ=True,
        )
        django.setup()
