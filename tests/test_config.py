"""Configuration front ends: every validation id, and mapping = TOML = environment."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.config import from_env
from webhook_guard.exceptions import ConfigurationError, MissingExtraError, WebhookGuardWarning
from webhook_guard.providers import standard_webhooks

SECRET_VALUE = "config-test-secret-value"
GH = {"path": "/hooks/github/{repo}", "provider": "github", "secret": "env:WG_CFG_GH"}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_CFG_GH", SECRET_VALUE)
    monkeypatch.setenv("WG_CFG_EMPTY", "")
    monkeypatch.delenv("WG_CFG_UNSET", raising=False)


def route(**changes: Any) -> dict[str, Any]:
    return {**GH, **changes}


def load(config: dict[str, Any]) -> Guard:
    return Guard.from_mapping(config, check_store=False)


#: (config, id, text the message must name)
INVALID = [
    pytest.param(
        {"routes": [route(provider="gitbub")]},
        "webhook_guard.E001",
        "gitbub",
        id="E001-unknown-provider",
    ),
    pytest.param(
        {"routes": [{"path": "/hooks/x", "secret": "env:WG_CFG_GH"}]},
        "webhook_guard.E001",
        "/hooks/x",
        id="E001-no-provider",
    ),
    pytest.param(
        {"routes": [route(secret="env:WG_CFG_UNSET")]},
        "webhook_guard.E002",
        "WG_CFG_UNSET",
        id="E002-env-unset",
    ),
    pytest.param(
        {"routes": [route(secret="env:WG_CFG_EMPTY")]},
        "webhook_guard.E002",
        "WG_CFG_EMPTY",
        id="E002-env-empty",
    ),
    pytest.param(
        {"routes": [route(secret="file:/nonexistent/wg-secret")]},
        "webhook_guard.E002",
        "/nonexistent/wg-secret",
        id="E002-file",
    ),
    pytest.param(
        {"routes": [route(secret=None)]},
        "webhook_guard.E003",
        "/hooks/github/{repo}",
        id="E003-no-secret",
    ),
    *(
        pytest.param(
            {"routes": [route(provider="meta", verify_token=value)]},
            "webhook_guard.E002",
            type(value).__name__,
            id=f"E002-credential-{type(value).__name__}",
        )
        for value in (12345678, True, 1.5)
    ),
    pytest.param(
        {"routes": [route(algorithm="md5", provider="hmac", header="X-Sig")]},
        "webhook_guard.E004",
        "md5",
        id="E004-bad-option",
    ),
    pytest.param(
        {
            "routes": [
                {
                    "path": "/hooks/d",
                    "provider": "dingtalk",
                    "secret": "env:WG_CFG_GH",
                    "window": 7200,
                }
            ]
        },
        "webhook_guard.E005",
        "window",
        id="E005-window",
    ),
    pytest.param(
        {"routes": [route(path="hooks/no-slash")]},
        "webhook_guard.E006",
        "hooks/no-slash",
        id="E006-pattern",
    ),
    pytest.param(
        {"routes": [route(max_body=-1)]}, "webhook_guard.E006", "max_body", id="E006-max-body"
    ),
    *(
        pytest.param(
            {"routes": [route(replay_ttl=ttl)]},
            "webhook_guard.E006",
            "replay_ttl",
            id=f"E006-route-replay-ttl-{name}",
        )
        for name, ttl in [
            ("zero", 0),
            ("negative", -5),
            ("nan", float("nan")),
            ("infinite", float("inf")),
            ("text", "1d"),
        ]
    ),
    *(
        pytest.param(
            {"routes": [route()], option: value},
            "webhook_guard.E006",
            option,
            id=f"E006-{option.replace('_', '-')}-{name}",
        )
        for option in ("replay_ttl", "processing_timeout", "body_timeout")
        for name, value in [("zero", 0), ("nan", float("nan")), ("infinite", float("inf"))]
    ),
    pytest.param(
        {"routes": [route()], "duplicate_status": 500},
        "webhook_guard.E006",
        "duplicate_status",
        id="E006-duplicate-status",
    ),
    pytest.param(
        {"routes": [route(), route(path="/hooks/{kind}/{repo}")]},
        "webhook_guard.E007",
        "overlap",
        id="E007-overlap",
    ),
    pytest.param(
        {"routes": [route(), route()]},
        "webhook_guard.E007",
        "/hooks/github/{repo}",
        id="E007-repeat",
    ),
    pytest.param(
        {"routes": [route()], "replay_store": "memcached://x"},
        "webhook_guard.E008",
        "memcached",
        id="E008-store",
    ),
    pytest.param(
        {"routes": [route()], "max_bodyy": 1},
        "webhook_guard.E009",
        "max_bodyy",
        id="E009-guard-key",
    ),
    pytest.param(
        {"routes": [route(secrett="x")]}, "webhook_guard.E009", "secrett", id="E009-route-key"
    ),
]


@pytest.mark.parametrize(("config", "code", "named"), INVALID)
def test_validation_ids(config: dict[str, Any], code: str, named: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(config)
    assert info.value.code == code
    assert named in str(info.value)
    assert SECRET_VALUE not in str(info.value)


def test_every_documented_id_is_tested() -> None:
    import webhook_guard.config

    documented = {f"webhook_guard.E{n:03d}" for n in range(1, 12)}
    assert all(code in (webhook_guard.config.__doc__ or "") for code in documented)
    tested = {p.values[1] for p in INVALID} | {"webhook_guard.E010", "webhook_guard.E011"}
    assert tested == documented


def test_E010_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now fails
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(MissingExtraError) as info:
        load({"routes": [route()], "replay_store": "redis://127.0.0.1:1/0"})
    assert info.value.code == "webhook_guard.E010"
    assert "webhook-guard[redis]" in str(info.value)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        pytest.param(None, "missing.toml", id="unreadable"),
        pytest.param("[[routes]\npath = 1", "bad.toml", id="invalid-toml"),
        pytest.param(b'[[routes]]\npath = "/h\xe9"\n', "latin1.toml", id="not-utf-8"),
    ],
)
def test_E011_file(tmp_path: Path, content: str | bytes | None, named: str) -> None:
    path = tmp_path / named
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError) as info:
        Guard.from_file(str(path))
    assert info.value.code == "webhook_guard.E011"
    assert named in str(info.value)


# -- one schema, three front ends --------------------------------------------------------

MAPPING: dict[str, Any] = {
    "max_body": 65536,
    "duplicate_status": 409,
    "routes": [
        GH,
        {
            "path": "/hooks/dingtalk",
            "provider": "dingtalk",
            "window": 120,
            "report_only": True,
            "secret": [
                {"id": "2026-11", "secret": "env:WG_CFG_GH", "created": "2026-11-01"},
                {"id": "2026-08", "secret": "env:WG_CFG_GH", "not_after": "2026-11-15T00:00:00Z"},
            ],
        },
        {"path": "/hooks/open", "unsigned": True},
    ],
}

TOML = """
max_body = 65536
duplicate_status = 409

[[routes]]
path = "/hooks/github/{repo}"
provider = "github"
secret = "env:WG_CFG_GH"

[[routes]]
path = "/hooks/dingtalk"
provider = "dingtalk"
window = 120
report_only = true
secret = [
  { id = "2026-11", secret = "env:WG_CFG_GH", created = 2026-11-01 },
  { id = "2026-08", secret = "env:WG_CFG_GH", not_after = 2026-11-15T00:00:00Z },
]

[[routes]]
path = "/hooks/open"
unsigned = true
"""

ENV = {
    "WGT_MAX_BODY": "65536",
    "WGT_DUPLICATE_STATUS": "409",
    "WGT_ROUTES__0__PATH": "/hooks/github/{repo}",
    "WGT_ROUTES__0__PROVIDER": "github",
    "WGT_ROUTES__0__SECRET": "env:WG_CFG_GH",
    "WGT_ROUTES__1__PATH": "/hooks/dingtalk",
    "WGT_ROUTES__1__PROVIDER": "dingtalk",
    "WGT_ROUTES__1__WINDOW": "120",
    "WGT_ROUTES__1__REPORT_ONLY": "true",
    "WGT_ROUTES__1__SECRET__0__ID": "2026-11",
    "WGT_ROUTES__1__SECRET__0__SECRET": "env:WG_CFG_GH",
    "WGT_ROUTES__1__SECRET__0__CREATED": "2026-11-01",
    "WGT_ROUTES__1__SECRET__1__ID": "2026-08",
    "WGT_ROUTES__1__SECRET__1__SECRET": "env:WG_CFG_GH",
    "WGT_ROUTES__1__SECRET__1__NOT_AFTER": "2026-11-15T00:00:00Z",
    "WGT_ROUTES__2__PATH": "/hooks/open",
    "WGT_ROUTES__2__UNSIGNED": "true",
}


def summary(guard: Guard) -> tuple[Any, ...]:
    return (guard.describe(), guard.duplicate_status)


def test_mapping_toml_and_environment_are_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "webhook_guard.toml"
    path.write_text(TOML)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    from_mapping = load(MAPPING)
    from_toml = Guard.from_file(str(path), check_store=False)
    from_environment = Guard.from_env("WGT_", check_store=False)
    assert summary(from_mapping) == summary(from_toml) == summary(from_environment)
    described = from_mapping.describe()
    assert [r["route"] for r in described] == [
        "/hooks/github/{repo}",
        "/hooks/dingtalk",
        "/hooks/open",
    ]
    assert [k["id"] for k in described[1]["keys"]] == ["2026-11", "2026-08"]
    assert described[1]["report_only"] is True
    assert SECRET_VALUE not in repr(described)


def test_from_env_keeps_secrets_text_also_in_lists_and_mappings() -> None:
    """A secret may be all digits: ``..._SECRET__0=8675309912`` is the first secret."""
    parsed = from_env(
        "P_",
        {
            "P_ROUTES__0__SECRET__0": "8675309912",
            "P_ROUTES__0__SECRET__1": "env:OTHER",
            "P_ROUTES__1__SECRET__K1": "0042",
            "P_ROUTES__1__MAX_BODY": "5",
        },
    )
    assert parsed == {
        "routes": [
            {"secret": ["8675309912", "env:OTHER"]},
            {"secret": {"k1": "0042"}, "max_body": 5},
        ]
    }


def test_from_env_nests_lists_and_parses_json() -> None:
    parsed = from_env(
        "P_",
        {"P_ROUTES__1__PATH": "/b", "P_ROUTES__0__PATH": "/a", "P_MAX_BODY": "5", "OTHER": "x"},
    )
    assert parsed == {"routes": [{"path": "/a"}, {"path": "/b"}], "max_body": 5}


def test_from_env_parses_options_whose_names_only_end_like_text_keys() -> None:
    """``replay_store`` is text (a URL); ``check_store`` is a bool or ``"strict"``."""
    parsed = from_env(
        "P_",
        {"P_CHECK_STORE": "false", "P_REPLAY_STORE": "redis://127.0.0.1:6379/0"},
    )
    assert parsed == {"check_store": False, "replay_store": "redis://127.0.0.1:6379/0"}


def test_literal_secret_in_a_file_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "literal.toml"
    path.write_text(
        '[[routes]]\npath = "/hooks/github"\nprovider = "github"\nsecret = "a-literal-value"\n'
    )
    with (
        caplog.at_level(logging.WARNING, logger="webhook_guard"),
        pytest.warns(WebhookGuardWarning, match="literal secret") as warned,
    ):
        Guard.from_file(str(path))
    [record] = [r for r in caplog.records if "literal secret" in r.getMessage()]
    assert "env:" in record.getMessage()
    assert "a-literal-value" not in record.getMessage()
    assert "a-literal-value" not in str(warned[0].message)


def test_references_in_a_file_are_not_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(
        '[[routes]]\npath = "/hooks/github"\nprovider = "github"\nsecret = "env:WG_CFG_GH"\n'
    )
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        Guard.from_file(str(path))
    assert [r for r in caplog.records if "literal secret" in r.getMessage()] == []


# -- types and secrets from files and the environment ---------------------------------------

#: (config, id, text the message must name): values a TOML file or the environment can hold.
WRONG_TYPES = [
    pytest.param(
        {"routes": [route(max_body="big")]},
        "webhook_guard.E006",
        "max_body",
        id="route-max-body-str",
    ),
    pytest.param(
        {"routes": [route(max_body=True)]},
        "webhook_guard.E006",
        "max_body",
        id="route-max-body-bool",
    ),
    pytest.param(
        {"routes": [route(status="403")]}, "webhook_guard.E006", "status", id="route-status-str"
    ),
    pytest.param(
        {"routes": [route(replay="no")]}, "webhook_guard.E006", "replay", id="route-replay-str"
    ),
    pytest.param(
        {"routes": [route(report_only=1)]},
        "webhook_guard.E006",
        "report_only",
        id="route-report-only-int",
    ),
    pytest.param(
        {"routes": [route(replay_ttl="1h")]}, "webhook_guard.E006", "replay_ttl", id="route-ttl-str"
    ),
    pytest.param(
        {"routes": [route(public_url=42)]}, "webhook_guard.E006", "public_url", id="route-url-int"
    ),
    pytest.param(
        {"routes": [route(secret=12345)]}, "webhook_guard.E002", "secret", id="route-secret-int"
    ),
    pytest.param(
        {"routes": [route(secret=[12345])]},
        "webhook_guard.E002",
        "secret",
        id="route-secret-list-int",
    ),
    pytest.param(
        {"routes": [route()], "max_body": "1MB"},
        "webhook_guard.E006",
        "max_body",
        id="guard-max-body-str",
    ),
    pytest.param(
        {"routes": [route()], "body_timeout": "10"},
        "webhook_guard.E006",
        "body_timeout",
        id="guard-timeout-str",
    ),
    pytest.param(
        {"routes": [route()], "duplicate_status": "200"},
        "webhook_guard.E006",
        "duplicate_status",
        id="guard-status-str",
    ),
    pytest.param(
        {"routes": [route()], "check_store": "yes"},
        "webhook_guard.E006",
        "check_store",
        id="guard-check-store-word",
    ),
    pytest.param(
        {"routes": [route()], "trusted_proxies": "10.0.0.1"},
        "webhook_guard.E006",
        "trusted_proxies",
        id="guard-proxies-str",
    ),
    pytest.param(
        {"routes": [route()], "replay_store": 6379},
        "webhook_guard.E006",
        "replay_store",
        id="guard-store-int",
    ),
]


@pytest.mark.parametrize(("config", "code", "named"), WRONG_TYPES)
def test_wrong_types_are_configuration_errors(
    config: dict[str, Any], code: str, named: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Guard.from_mapping(config)
    assert raised.value.code == code
    assert named in str(raised.value)
    assert not isinstance(raised.value, TypeError)


def test_digits_only_secret_from_the_environment_stays_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {
        "WG_T_ROUTES__0__PATH": "/hooks/github",
        "WG_T_ROUTES__0__PROVIDER": "github",
        "WG_T_ROUTES__0__SECRET": "1234567890",
        "WG_T_MAX_BODY": "2048",
    }
    parsed = from_env("WG_T_", environ)
    assert parsed["routes"][0]["secret"] == "1234567890"
    assert parsed["max_body"] == 2048
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    guard = Guard.from_env("WG_T_", check_store=False)
    assert guard.describe()[0]["keys"][0]["id"] == "#0"


@pytest.mark.parametrize(
    ("provider", "secret", "named"),
    [
        pytest.param("standard_webhooks", "whsec_", "empty", id="whsec-prefix-only"),
        pytest.param("svix", "whsec_!!not-base64!!", "base64", id="whsec-bad-base64"),
        pytest.param("clerk", "whsec_a", "base64", id="whsec-truncated"),
        pytest.param("airtable", "not base64!", "base64", id="airtable-not-base64"),
    ],
)
def test_secrets_malformed_for_their_scheme_are_E002(
    provider: str, secret: str, named: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load({"routes": [{"path": "/hooks/x", "provider": provider, "secret": secret}]})
    assert raised.value.code == "webhook_guard.E002"
    assert named in str(raised.value)
    assert "/hooks/x" in str(raised.value)
    if len(secret) > 8:
        assert secret not in str(raised.value)


def test_malformed_secret_from_the_environment_names_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WG_CFG_WHSEC", "whsec_")
    with pytest.raises(ConfigurationError) as raised:
        load({"routes": [{"path": "/h", "provider": "svix", "secret": "env:WG_CFG_WHSEC"}]})
    assert raised.value.code == "webhook_guard.E002"
    assert "env:WG_CFG_WHSEC" in str(raised.value)


def test_v1a_public_key_of_the_wrong_length_is_E002() -> None:
    import base64

    short = "whpk_" + base64.b64encode(b"x" * 31).decode()
    with pytest.raises(ConfigurationError) as raised:
        Guard([Route("/h", standard_webhooks(public_key=short))], check_store=False)
    assert raised.value.code == "webhook_guard.E002"
    assert "32 bytes" in str(raised.value)
