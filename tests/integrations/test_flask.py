"""``webhook_guard.integrations.flask.WebhookGuard``: ``init_app`` with ``app.config``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

flask = pytest.importorskip("flask")

from webhook_guard import ConfigurationError, Guard, Route, get_verdict  # noqa: E402
from webhook_guard.integrations.flask import WebhookGuard, verdict  # noqa: E402
from webhook_guard.providers import github  # noqa: E402
from webhook_guard.testing import FrozenClock, post_signed, sign_request  # noqa: E402

NOW = 1_790_000_000.0
SECRET = "flask-ext-secret"
CONFIG = {"routes": [{"path": "/hooks/github", "provider": "github", "secret": "env:WG_FLASK"}]}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_FLASK", SECRET)


def make_app(config: Any = CONFIG) -> Any:
    app = flask.Flask(__name__)
    if config is not None:
        app.config["WEBHOOK_GUARD"] = config

    @app.post("/hooks/github")
    def hook() -> Any:
        return {"verified": verdict().verified, "same": get_verdict(flask.request).verified}

    @app.post("/health")
    def health() -> Any:
        return {"verified": verdict().verified}

    return app


def post(app: Any, secret: str, path: str = "/hooks/github") -> Any:
    signed = sign_request("github", b'{"zen": "ok"}', secret=secret, timestamp=NOW)
    return post_signed(app.test_client(), signed, path)


@pytest.mark.parametrize(
    ("secret", "status"),
    [pytest.param(SECRET, 200, id="genuine"), pytest.param("forged", 401, id="forged")],
)
def test_init_app_reads_app_config(secret: str, status: int) -> None:
    app = make_app()
    ext = WebhookGuard()
    guard = ext.init_app(app)
    assert app.extensions["webhook_guard"] is guard
    response = post(app, secret)
    assert response.status_code == status
    if status == 200:
        assert response.get_json() == {"verified": True, "same": True}


def test_app_argument_and_unguarded_routes() -> None:
    app = make_app()
    WebhookGuard(app, clock=FrozenClock(NOW))
    assert post(app, SECRET).status_code == 200
    assert post(app, "anything", "/health").get_json() == {"verified": False}


def test_a_given_guard_wins_over_the_config() -> None:
    app = make_app(config=None)
    guard = Guard([Route("/hooks/github", github(secret="given-secret"))])
    WebhookGuard(app, guard=guard)
    assert post(app, "given-secret").status_code == 200
    assert post(app, SECRET).status_code == 401


def test_one_extension_serves_several_apps() -> None:
    ext = WebhookGuard()
    first, second = make_app(), make_app()
    ext.init_app(first)
    ext.init_app(second)
    assert first.extensions["webhook_guard"] is not second.extensions["webhook_guard"]
    assert post(second, SECRET).status_code == 200


def test_config_may_name_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "webhook_guard.toml"
    path.write_text(
        '[[routes]]\npath = "/hooks/github"\nprovider = "github"\nsecret = "env:WG_FLASK"\n'
    )
    app = make_app(config=str(path))
    WebhookGuard(app)
    assert post(app, SECRET).status_code == 200


@pytest.mark.parametrize(
    ("config", "code"),
    [
        pytest.param(None, "webhook_guard.E006", id="missing"),
        pytest.param(["not", "a", "mapping"], "webhook_guard.E006", id="not-a-mapping"),
        pytest.param(
            {"routes": [{"path": "/h", "provider": "nope"}]}, "webhook_guard.E001", id="bad"
        ),
    ],
)
def test_configuration_errors_at_init_app(config: Any, code: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        WebhookGuard(make_app(config))
    assert info.value.code == code


def test_init_app_twice_is_an_error() -> None:
    app = make_app()
    WebhookGuard(app)
    with pytest.raises(ConfigurationError, match="twice"):
        WebhookGuard(app)


def test_init_app_needs_a_flask_app() -> None:
    with pytest.raises(TypeError, match="Flask app"):
        WebhookGuard(object())


def test_missing_flask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from webhook_guard import MissingExtraError

    monkeypatch.setitem(sys.modules, "flask", None)
    with pytest.raises(MissingExtraError, match=r"webhook-guard\[flask\]"):
        verdict()
