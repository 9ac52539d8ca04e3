"""Django: ``settings.WEBHOOK_GUARD`` read by the middleware, and the system checks.

Requests through every Django entry point are in ``test_frameworks.py``; here the
settings front end, ``manage.py check`` ids, and the example project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.common import (
    BODY,
    GITHUB_SECRET,
    Seen,
    django_ready,
    github_headers,
    wsgi_sender,
)

django_ready()

from django.core import checks  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import override_settings  # noqa: E402

from tests.integrations import django_urls  # noqa: E402
from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIRST = [MIDDLEWARE_PATH, "django.middleware.common.CommonMiddleware"]
ROUTE = {"path": "/hooks/github", "provider": "github", "secret": "env:WG_DJANGO_GH"}
SECRET_VALUE = "django-settings-secret-value"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_DJANGO_GH", SECRET_VALUE)


@pytest.fixture
def seen() -> Seen:
    django_urls.SEEN[0] = Seen()
    return django_urls.SEEN[0]


def run_checks() -> list[Any]:
    return [
        m
        for m in checks.run_checks(tags=[checks.Tags.security])
        if m.id.startswith("webhook_guard")
    ]


def test_settings_mapping_configures_the_middleware(seen: Seen) -> None:
    with override_settings(WEBHOOK_GUARD={"routes": [ROUTE]}, MIDDLEWARE=FIRST):
        send = wsgi_sender(get_wsgi_application())
        assert send("POST", "/hooks/github", github_headers(BODY, SECRET_VALUE), BODY)[0] == 200
        assert send("POST", "/hooks/github", github_headers(BODY, GITHUB_SECRET), BODY)[0] == 401
    assert [v.key_id is not None and v.verified for _, v in seen.handled("github")] == [True]


def test_changed_settings_rebuild_the_guard(seen: Seen) -> None:
    other = {**ROUTE, "path": "/hooks/dingtalk"}
    with override_settings(WEBHOOK_GUARD={"routes": [other]}, MIDDLEWARE=FIRST):
        send = wsgi_sender(get_wsgi_application())
        # /hooks/github is no longer guarded; /hooks/dingtalk now is (with GitHub's scheme).
        assert send("POST", "/hooks/github", {}, BODY)[0] == 200
        assert send("POST", "/hooks/dingtalk", {}, BODY)[0] == 401
    assert [v.verified for _, v in seen.handled("github")] == [False]
    assert seen.handled("dingtalk") == []


@pytest.mark.parametrize(
    ("setting", "middleware", "code"),
    [
        pytest.param(
            {"routes": [{**ROUTE, "provider": "gitbub"}]},
            FIRST,
            "webhook_guard.E001",
            id="E001-unknown-provider",
        ),
        pytest.param(
            {"routes": [{**ROUTE, "secret": "env:WG_DJANGO_MISSING"}]},
            FIRST,
            "webhook_guard.E002",
            id="E002-missing-env",
        ),
        pytest.param(
            {"routes": [{"path": "/hooks/github", "provider": "github"}]},
            FIRST,
            "webhook_guard.E003",
            id="E003-no-secret",
        ),
        pytest.param(
            {"routes": [ROUTE, {**ROUTE, "path": "/hooks/{name}"}]},
            FIRST,
            "webhook_guard.E007",
            id="E007-overlap",
        ),
        pytest.param(
            {"routes": [{**ROUTE, "secrett": "x"}]}, FIRST, "webhook_guard.E009", id="E009-typo"
        ),
        pytest.param(
            {"routes": [ROUTE]},
            ["django.middleware.common.CommonMiddleware"],
            "webhook_guard.W001",
            id="W001-not-installed",
        ),
        pytest.param({"routes": [ROUTE]}, FIRST[::-1], "webhook_guard.W002", id="W002-not-first"),
    ],
)
def test_system_checks(setting: dict[str, Any], middleware: list[str], code: str) -> None:
    with override_settings(WEBHOOK_GUARD=setting, MIDDLEWARE=middleware):
        messages = run_checks()
    assert [m.id for m in messages] == [code]
    text = str(messages[0].msg) + str(messages[0].hint or "")
    assert SECRET_VALUE not in text
    if code.startswith("webhook_guard.E"):
        assert "/hooks/" in text or "gitbub" in text or "secrett" in text


@pytest.mark.parametrize("as_errors", [False, True], ids=["default", "warnings-as-errors"])
def test_a_guard_warning_is_a_system_check_warning(as_errors: bool) -> None:
    """``manage.py check`` reports a WebhookGuardWarning as W005, also under ``-W error``
    (where building the guard would otherwise end ``check`` with a traceback)."""
    import warnings

    literal = {**ROUTE, "secret": "a-literal-secret-in-settings"}
    with (
        override_settings(WEBHOOK_GUARD={"routes": [literal]}, MIDDLEWARE=FIRST),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error" if as_errors else "default")
        messages = run_checks()
    assert [m.id for m in messages] == ["webhook_guard.W005"]
    assert "literal secret" in str(messages[0].msg)
    assert "a-literal-secret-in-settings" not in str(messages[0].msg)


def test_clean_configuration_has_no_messages() -> None:
    with override_settings(WEBHOOK_GUARD={"routes": [ROUTE]}, MIDDLEWARE=FIRST):
        assert run_checks() == []


def test_example_project_passes_manage_py_check() -> None:
    project = ROOT / "examples" / "django_project"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_WEBHOOK_SECRET": "example-secret"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("asynchronous", [False, True], ids=["wsgi-chain", "asgi-chain"])
@pytest.mark.parametrize("right_kind", [False, True], ids=["wrong-client", "right-client"])
def test_the_middleware_warns_when_the_store_cannot_serve_its_chain(
    asynchronous: bool, right_kind: bool
) -> None:
    """A sync redis client under an async middleware chain (or the reverse) refuses every
    guarded request with 503: the middleware says so when Django builds it, as
    ``guard.wsgi()``/``guard.asgi()`` do."""
    import warnings

    import redis
    import redis.asyncio

    from webhook_guard import Guard, Route, WebhookGuardWarning
    from webhook_guard.integrations.django.middleware import WebhookGuardMiddleware
    from webhook_guard.providers import github

    kind = redis.asyncio.Redis if asynchronous == right_kind else redis.Redis
    client = kind(host="127.0.0.1", port=1)  # never connected: check_store=False
    guard = Guard(
        [Route("/hooks/github", github(secret=GITHUB_SECRET))],
        replay_store=client,
        check_store=False,
    )

    async def async_view(request: Any) -> Any:
        return None

    def sync_view(request: Any) -> Any:
        return None

    with (
        override_settings(WEBHOOK_GUARD=guard, MIDDLEWARE=FIRST),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        WebhookGuardMiddleware(async_view if asynchronous else sync_view)
    ours = [w for w in caught if issubclass(w.category, WebhookGuardWarning)]
    if right_kind:
        assert ours == []
    else:
        assert len(ours) == 1
        assert "every guarded request will be refused with 503" in str(ours[0].message)
