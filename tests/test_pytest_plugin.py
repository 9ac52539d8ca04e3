"""The pytest plugin as a user meets it: a small project of its own (a Flask app and a
FastAPI app guarded by webhook_guard, and tests that use only the plugin's fixtures) run
with pytest in a subprocess.

The plugin is found through the installed ``pytest11`` entry point when the installed
distribution declares it (CI installs the package from this tree); otherwise (a shared
editable install made before the entry point existed) it is loaded with
``-p webhook_guard.pytest_plugin``, which is the same module.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "webhook_guard.pytest_plugin"

FLASK_APP = """
from __future__ import annotations

import time

from flask import Flask, request

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import dingtalk, github


def create_app(clock=time.time):
    app = Flask(__name__)
    guard = Guard(
        [
            Route("/hooks/github", github(secret="env:GH_SECRET")),
            Route("/hooks/dingtalk", dingtalk(secret="env:DINGTALK_SECRET")),
        ],
        clock=clock,
    )

    @app.post("/hooks/<name>")
    def hook(name):
        verdict = get_verdict(request)
        return {"provider": verdict.provider, "verified": verdict.verified,
                "bytes": len(request.get_data())}

    app.wsgi_app = guard.wsgi(app.wsgi_app)
    return app
"""

FASTAPI_APP = """
from __future__ import annotations

import time

from fastapi import FastAPI, Request

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import stripe, twilio


def create_app(clock=time.time):
    app = FastAPI()

    @app.post("/hooks/{name}")
    async def hook(name: str, request: Request):
        verdict = get_verdict(request)
        return {"provider": verdict.provider, "verified": verdict.verified,
                "bytes": len(await request.body())}

    guard = Guard(
        [
            Route("/hooks/stripe", stripe(secret="env:STRIPE_SECRET")),
            Route("/hooks/twilio", twilio(secret="env:TWILIO_TOKEN"),
                  public_url="https://hooks.example.com/hooks/twilio"),
        ],
        clock=clock,
    )
    return guard.asgi(app)
"""

USER_TESTS = """
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import hooks_fastapi
import hooks_flask

@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("GH_SECRET", "gh-test-secret")
    monkeypatch.setenv("DINGTALK_SECRET", "SECdingtalk")
    monkeypatch.setenv("STRIPE_SECRET", "whsec_stripe")
    monkeypatch.setenv("TWILIO_TOKEN", "twilio-token")


def test_github_push_reaches_the_flask_handler(webhook_signer, webhook_post, webhook_clock):
    client = hooks_flask.create_app(clock=webhook_clock).test_client()
    signed = webhook_signer("github", b'{"ref": "refs/heads/main"}', secret="gh-test-secret")
    response = webhook_post(client, signed, "/hooks/github")
    assert response.status_code == 200
    assert response.get_json() == {"provider": "github", "verified": True, "bytes": 26}


def test_forged_github_push_is_refused(webhook_signer, webhook_post):
    client = hooks_flask.create_app().test_client()
    signed = webhook_signer("github", b"{}", secret="not-the-secret")
    assert webhook_post(client, signed, "/hooks/github").status_code == 401


def test_dingtalk_goes_stale_when_the_clock_moves(webhook_signer, webhook_post, webhook_clock):
    client = hooks_flask.create_app(clock=webhook_clock).test_client()
    signed = webhook_signer("dingtalk", b'{"text": "hi"}', secret="SECdingtalk")
    assert webhook_post(client, signed, "/hooks/dingtalk").status_code == 200
    webhook_clock.advance(181)
    again = webhook_signer("dingtalk", b'{"text": "hi"}', secret="SECdingtalk",
                           timestamp=webhook_clock() - 181)
    response = webhook_post(client, again, "/hooks/dingtalk")
    assert (response.status_code, response.get_json()["error"]) == (401, "stale_timestamp")


def test_stripe_event_reaches_the_fastapi_handler(webhook_signer, webhook_post, webhook_clock):
    with TestClient(hooks_fastapi.create_app(clock=webhook_clock)) as client:
        signed = webhook_signer("stripe", b'{"id": "evt_1"}', secret="whsec_stripe")
        response = webhook_post(client, signed, "/hooks/stripe")
        duplicate = webhook_post(client, signed, "/hooks/stripe")
    assert response.json() == {"provider": "stripe", "verified": True, "bytes": 15}
    assert duplicate.json()["status"] == "duplicate"


def test_twilio_is_signed_for_its_public_url(webhook_signer, webhook_post):
    with TestClient(hooks_fastapi.create_app()) as client:
        signed = webhook_signer("twilio", b"Body=hello", secret="twilio-token",
                                url="https://hooks.example.com/hooks/twilio")
        assert webhook_post(client, signed, "/hooks/twilio").status_code == 200
        wrong = webhook_signer("twilio", b"Body=hello", secret="twilio-token",
                               url="https://other.example.com/hooks/twilio")
        assert webhook_post(client, wrong, "/hooks/twilio").status_code == 401
"""


def _entry_point_installed() -> bool:
    return any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))


def _write_project(root: Path) -> None:
    (root / "hooks_flask.py").write_text(textwrap.dedent(FLASK_APP))
    (root / "hooks_fastapi.py").write_text(textwrap.dedent(FASTAPI_APP))
    (root / "tests").mkdir()
    (root / "tests" / "test_hooks.py").write_text(textwrap.dedent(USER_TESTS))
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\npythonpath = .\n")


def test_user_project_runs_with_the_plugin_fixtures(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    pytest.importorskip("fastapi")
    project = tmp_path / "user_project"
    project.mkdir()
    _write_project(project)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if not _entry_point_installed():
        args += ["-p", PLUGIN]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout


def test_fixtures_are_listed_by_pytest(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"]
    if not _entry_point_installed():
        args += ["-p", PLUGIN]
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for name in ("webhook_clock", "webhook_signer", "webhook_post"):
        assert name in result.stdout


def test_plugin_imports_nothing_heavy() -> None:
    """Loaded into every test run of a user's project: no frameworks, Redis or crypto."""
    code = (
        "import sys, webhook_guard.pytest_plugin\n"
        "heavy = {'flask', 'werkzeug', 'fastapi', 'starlette', 'django', 'redis',"
        " 'cryptography', 'httpx', 'webhook_guard.providers', 'webhook_guard.guard'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_pyproject_declares_the_entry_point() -> None:
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"] == {"webhook_guard": PLUGIN}


def test_no_fixture_is_autouse() -> None:
    from webhook_guard import pytest_plugin

    fixtures = [
        getattr(pytest_plugin, name) for name in dir(pytest_plugin) if name.startswith("webhook_")
    ]
    assert len(fixtures) == 3
    for fixture in fixtures:
        definition = getattr(fixture, "_fixture_function_marker", None)
        assert definition is not None
        assert definition.autouse is False
