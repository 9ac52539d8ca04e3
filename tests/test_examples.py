"""The examples in ``examples/`` import, guard their routes, and let genuine requests through."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.integrations.common import asgi_sender, error_of, wsgi_sender
from webhook_guard.providers import dingtalk, github

SECRET = "example-secret-change-me"
BODY = b'{"zen":"Keep it logically awesome."}'


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_WEBHOOK_SECRET", "SEATABLE_WEBHOOK_SECRET", "DINGTALK_APP_SECRET"):
        monkeypatch.setenv(name, SECRET)


def load(name: str) -> Any:
    return importlib.import_module(f"examples.{name}")


@pytest.mark.parametrize(
    ("module", "kind", "path", "headers"),
    [
        pytest.param(
            "flask_app",
            "wsgi",
            "/hooks/github/api",
            github(secret=SECRET).sign(BODY, secret=SECRET),
            id="flask",
        ),
        pytest.param(
            "fastapi_app",
            "asgi",
            "/hooks/github/api",
            github(secret=SECRET).sign(BODY, secret=SECRET),
            id="fastapi-toml",
        ),
        pytest.param(
            "starlette_app",
            "asgi",
            "/hooks/dingtalk",
            dingtalk(secret=SECRET).sign(BODY, secret=SECRET, timestamp=__import__("time").time()),
            id="starlette",
        ),
    ],
)
def test_example_guards_its_route(
    module: str, kind: str, path: str, headers: dict[str, str]
) -> None:
    app = load(module).app
    send = wsgi_sender(app) if kind == "wsgi" else asgi_sender(app)
    assert send("POST", path, dict(headers), BODY)[0] == 200
    status, content = send("POST", path, {}, BODY)
    assert (status, error_of(content)) == (401, "missing_signature")
