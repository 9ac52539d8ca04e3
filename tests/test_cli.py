"""``webhook-guard``: check, gen-secret, sign, verify, explain, send, demo.

Commands that users run from a shell are tested as subprocesses: exit status, output, and
never a traceback. ``verify`` and ``explain`` read captured HTTP/1.1 requests built here
with ``testing.sign_request`` and then damaged the way proxies, tools and clocks do.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, Route, _explain
from webhook_guard.cli import check_command, main
from webhook_guard.providers import REGISTRY, github
from webhook_guard.testing import (
    SignedRequest,
    generate_private_key,
    public_key,
    sign_request,
)

NOV_23 = 1_795_392_000.0  # 2026-11-23T00:00:00Z
DAY = 86400.0

CONFIG = """
[[routes]]
path = "/hooks/github"
provider = "github"
secret = [
  {{ id = "fresh", secret = "env:WG_CLI_SECRET", created = {fresh} }},
  {{ id = "aged", secret = "env:WG_CLI_SECRET_2", created = 2026-01-01, not_after = {expiry} }},
]
"""


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_CLI_SECRET", "cli-secret-value-1")
    monkeypatch.setenv("WG_CLI_SECRET_2", "cli-secret-value-2")


def write(tmp_path: Path, *, fresh: str = "2026-11-01", expiry: str = "2027-06-01") -> str:
    path = tmp_path / "webhook_guard.toml"
    path.write_text(CONFIG.format(fresh=fresh, expiry=expiry))
    return str(path)


def check(path: str, *, days: int = 90, strict: bool = False) -> int:
    args = argparse.Namespace(config=path, rotation_days=days, strict=strict)
    return check_command(args, now=NOV_23)


def test_check_reports_routes_keys_ages_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(write(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "1 route(s) OK" in out
    assert "/hooks/github  provider=github" in out
    assert "key fresh: age 22 days, created 2026-11-01" in out
    assert "key aged: age 326 days" in out
    assert ".. 2027-06-01" in out
    assert "warning: route '/hooks/github' key 'aged' is older than 90 days" in out
    assert "fresh' is older" not in out
    assert "cli-secret-value" not in out


def test_check_rotation_period_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(write(tmp_path), days=400)
    assert "older than" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        pytest.param("2026-12-01", "expires on 2026-12-01 (within 14 days)", id="within-14-days"),
        pytest.param("2026-12-08", None, id="in-15-days"),
        pytest.param("2026-11-20", "expired on 2026-11-20", id="expired"),
    ],
)
def test_check_warns_of_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expiry: str, expected: str | None
) -> None:
    check(write(tmp_path, expiry=expiry), days=400)
    out = capsys.readouterr().out
    if expected is None:
        assert "expire" not in out
    else:
        assert expected in out


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    assert check(write(tmp_path), strict=True) == 1
    assert check(write(tmp_path), strict=True, days=400) == 0


def test_check_errors_exit_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[routes]]\npath = "/hooks/x"\nprovider = "nope"\nsecret = "env:WG_CLI_SECRET"\n'
    )
    assert main(["check", str(path)]) == 2
    assert "webhook_guard.E001" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("provider", "valid"),
    [
        pytest.param(None, lambda s: len(s) == 64 and int(s, 16) >= 0, id="default-hex"),
        pytest.param("github", lambda s: len(s) == 64, id="github"),
        pytest.param("token", lambda s: len(s) >= 40, id="token-again"),
        pytest.param("token", lambda s: len(s) >= 40, id="token"),
    ],
)
def test_gen_secret(
    capsys: pytest.CaptureFixture[str], provider: str | None, valid: object
) -> None:
    argv = ["gen-secret"] + (["--provider", provider] if provider else [])
    assert main(argv) == 0
    first = capsys.readouterr().out.strip()
    main(argv)
    second = capsys.readouterr().out.strip()
    assert valid(first)  # type: ignore[operator]
    assert first != second


def test_gen_secret_whsec_is_base64(capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_guard import providers

    if "standard_webhooks" not in providers.names():
        pytest.skip("standard_webhooks is not registered")
    main(["gen-secret", "--provider", "standard_webhooks"])
    out = capsys.readouterr().out.strip()
    assert out.startswith("whsec_")
    assert len(base64.b64decode(out[6:])) >= 24


def test_gen_secret_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen-secret", "--provider", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sign_output_verifies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["sign", "github", "--secret", "s3cret", "--body", "hello"]) == 0
    name, value = capsys.readouterr().out.strip().split(": ", 1)
    signed = github(secret="s3cret").sign(b"hello", secret="s3cret")
    assert {name: value} == {k: v for k, v in signed.headers.items() if k != "Content-Type"}


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("demo", "sign", "check", "gen-secret"):
        assert command in result.stdout


def test_demo_runs_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "genuine" in result.stdout
    assert "forged" in result.stdout
    assert "replayed" in result.stdout
    assert "stale" in result.stdout


# -- subprocess helpers ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_790_000_000.0
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
HOOK = "https://hooks.example.com/hooks/p"
BODY = b'{"action": "opened", "number": 7, "title": "Zo\\u00eb"}'


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def capture(
    signed: SignedRequest,
    *,
    path: str = "/hooks/p",
    host: str = "hooks.example.com",
    body: bytes | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """The raw HTTP/1.1 request as ``nc -l`` would record it."""
    data = signed.body if body is None else body
    target = path + (f"?{signed.query}" if signed.query else "")
    lines = [f"{signed.method} {target} HTTP/1.1", f"Host: {host}", "User-Agent: Provider/1.0"]
    lines += [f"{k}: {v}" for k, v in signed.headers.items() if k not in drop]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def request_file(tmp_path: Path, raw: bytes, name: str = "request.http") -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return str(path)


# -- verify: captured requests of several families ---------------------------------------------

_DISCORD_KEY = bytes(range(32)).hex()


@pytest.mark.parametrize(
    ("provider", "signing", "route", "options", "url", "body"),
    [
        pytest.param("github", "gh", "gh", {}, None, BODY, id="github-body-hmac"),
        pytest.param("stripe", "whsec_st", "whsec_st", {}, None, BODY, id="stripe-timestamped"),
        pytest.param("dingtalk", "SECd", "SECd", {}, None, BODY, id="dingtalk-ms"),
        pytest.param(
            "wecom",
            "tok",
            "tok",
            {"aes_key": AES_KEY, "corp_id": "ww"},
            None,
            b"<xml><Content>hi</Content></xml>",
            id="wecom-encrypted-query",
        ),
        pytest.param("twilio", "tw", "tw", {}, HOOK, b"Body=hello&From=%2B1", id="twilio-url"),
        pytest.param(
            "discord",
            _DISCORD_KEY,
            public_key("discord", _DISCORD_KEY),
            {},
            None,
            b'{"type": 2}',
            id="discord-ed25519",
        ),
        pytest.param("mailgun", "mg", "mg", {}, None, b'{"event": "opened"}', id="mailgun-in-body"),
    ],
)
def test_verify_captured_requests(
    tmp_path: Path,
    provider: str,
    signing: str,
    route: str,
    options: dict[str, Any],
    url: str | None,
    body: bytes,
) -> None:
    signed = sign_request(provider, body, secret=signing, timestamp=NOW, url=url, **options)
    path = request_file(tmp_path, capture(signed))
    opts = [f"--option={k}={v}" for k, v in options.items()]
    common = ["--provider", provider, "--request-file", path, "--now", str(NOW), *opts]
    if url:
        common += ["--url", url]
    good = run("verify", "--secret", route, *common)
    assert (good.returncode, good.stderr) == (0, ""), good.stdout
    assert good.stdout.startswith(f"verified: {provider}")
    forged = sign_request(
        provider, body, secret=_forged(provider), timestamp=NOW, url=url, **options
    )
    bad = run(
        "verify",
        "--secret",
        route,
        *common[:2],
        "--request-file",
        request_file(tmp_path, capture(forged), "forged.http"),
        *common[4:],
    )
    assert bad.returncode == 1
    assert bad.stdout.startswith("refused: bad_signature (HTTP 401)")


def _forged(provider: str) -> str:
    return bytes(range(1, 33)).hex() if provider == "discord" else "someone-else"


def test_verify_from_headers_and_body_file(tmp_path: Path) -> None:
    signed = sign_request("github", BODY, secret="gh")
    (tmp_path / "body.json").write_bytes(BODY)
    [(name, value)] = [(k, v) for k, v in signed.headers.items() if k != "Content-Type"]
    result = run(
        "verify",
        "--provider",
        "github",
        "--secret",
        "env:WG_CLI_GH",
        "--header",
        f"{name}: {value}",
        "--body-file",
        str(tmp_path / "body.json"),
        env={"WG_CLI_GH": "gh"},
    )
    assert (result.returncode, result.stdout.strip()) == (0, "verified: github, key env:WG_CLI_GH")


def test_verify_rotation_and_chunked_capture(tmp_path: Path) -> None:
    signed = sign_request("github", BODY, secret="old")
    head = (
        capture(signed)
        .split(b"\r\n\r\n")[0]
        .replace(f"Content-Length: {len(BODY)}".encode(), b"Transfer-Encoding: chunked")
    )
    chunked = head + b"\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    result = run(
        "verify",
        "--provider",
        "github",
        "--secret",
        "new",
        "--secret",
        "old",
        "--request-file",
        request_file(tmp_path, chunked),
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("verified: github, key #1")


# -- explain: one cause at a time --------------------------------------------------------------


def _dingtalk_seconds() -> SignedRequest:
    return sign_request("dingtalk", BODY, secret="SECd", timestamp=NOW / 1000)


def _explain_case(
    provider: str,
    signed: SignedRequest,
    secret: str,
    *,
    url: str | None = None,
    body: bytes | None = None,
    path: str = "/hooks/p",
    drop: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "provider": provider,
        "raw": capture(signed, body=body, path=path, drop=drop),
        "secret": secret,
        "url": url,
        "env": env,
    }


EXPLAIN_CASES = {
    "seconds-for-milliseconds": (
        _explain_case("dingtalk", _dingtalk_seconds(), "SECd"),
        "the timestamp looks like seconds (1790000000); DingTalk sends milliseconds",
    ),
    "milliseconds-for-seconds": (
        _explain_case(
            "stripe",
            sign_request("stripe", BODY, secret="whsec_s", timestamp=NOW * 1000),
            "whsec_s",
        ),
        "the timestamp looks like milliseconds (1790000000000); Stripe sends seconds",
    ),
    "stale-by-an-hour": (
        _explain_case(
            "stripe",
            sign_request("stripe", BODY, secret="whsec_s", timestamp=NOW - 3600),
            "whsec_s",
        ),
        "the timestamp is 60 min old",
    ),
    "two-hours-in-the-future": (
        _explain_case(
            "slack", sign_request("slack", BODY, secret="sl", timestamp=NOW + 7200), "sl"
        ),
        "the timestamp is 2 h 0 min in the future",
    ),
    "whsec-prefix": (
        _explain_case(
            "stripe", sign_request("stripe", BODY, secret="s3cret", timestamp=NOW), "whsec_s3cret"
        ),
        "it verifies with the secret without its whsec_ prefix",
    ),
    "base64-secret": (
        _explain_case(
            "github",
            sign_request("github", BODY, secret="raw-key-bytes"),
            base64.b64encode(b"raw-key-bytes").decode(),
        ),
        "it verifies with the Base64-decoded secret",
    ),
    "secret-with-newline": (
        _explain_case(
            "github",
            sign_request("github", BODY, secret="gh"),
            "env:WG_CLI_NL",
            env={"WG_CLI_NL": "gh\n"},
        ),
        "it verifies with the secret with its surrounding whitespace or newline removed",
    ),
    "trailing-newline-added": (
        _explain_case("github", sign_request("github", BODY, secret="gh"), "gh", body=BODY + b"\n"),
        "the body verifies without its trailing newline",
    ),
    "json-reserialised": (
        _explain_case(
            "github",
            sign_request("github", BODY, secret="gh"),
            "gh",
            body=json.dumps(json.loads(BODY), separators=(",", ":"), ensure_ascii=False).encode(),
        ),
        "the body verifies re-serialised as JSON with spaces after ',' and ':', so a proxy",
    ),
    "crlf": (
        _explain_case(
            "github",
            sign_request("github", b"line one\nline two\n", secret="gh"),
            "gh",
            body=b"line one\r\nline two\r\n",
        ),
        "the body verifies with LF line endings",
    ),
    "url-port-443": (
        _explain_case(
            "twilio",
            sign_request(
                "twilio", b"Body=hi", secret="tw", url="https://hooks.example.com:443/hooks/p"
            ),
            "tw",
            url=HOOK,
        ),
        "the signature matches the URL with port 443 (https://hooks.example.com:443/hooks/p)",
    ),
    "url-http-https": (
        _explain_case(
            "square",
            sign_request("square", BODY, secret="sq", url=HOOK.replace("https", "http")),
            "sq",
            url=HOOK,
        ),
        "the signature matches the URL with http://",
    ),
    "url-trailing-slash": (
        _explain_case(
            "twilio",
            sign_request("twilio", b"Body=hi", secret="tw", url=HOOK + "/"),
            "tw",
            url=HOOK,
        ),
        "the signature matches the URL with a trailing slash",
    ),
    "url-query-added": (
        _explain_case(
            "twilio",
            sign_request("twilio", b"Body=hi", secret="tw", url=HOOK),
            "tw",
            path="/hooks/p?utm=proxy",
        ),
        "the signature matches the URL without its query string",
    ),
    "wrong-provider": (
        _explain_case("github", sign_request("gitea", BODY, secret="gh"), "gh"),
        "the request verifies as gitea, not as github",
    ),
    "missing-signature": (
        _explain_case(
            "github", sign_request("github", BODY, secret="gh"), "gh", drop=("X-Hub-Signature-256",)
        ),
        "the request does not carry GitHub's X-Hub-Signature-256",
    ),
    "wrong-or-rotated-secret": (
        _explain_case("github", sign_request("github", BODY, secret="rotated"), "gh"),
        "the secret is most likely wrong or was rotated at GitHub",
    ),
}


@pytest.mark.parametrize(("case", "expected"), EXPLAIN_CASES.values(), ids=EXPLAIN_CASES.keys())
def test_explain_names_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: dict[str, Any], expected: str
) -> None:
    argv = [
        "explain",
        "--provider",
        case["provider"],
        "--secret",
        case["secret"],
        "--request-file",
        request_file(tmp_path, case["raw"]),
        "--now",
        str(NOW),
    ]
    if case["url"]:
        argv += ["--url", case["url"]]
    for name, value in (case["env"] or {}).items():
        monkeypatch.setenv(name, value)
    setup = _explain.Setup(case["provider"], (case["secret"],), url=case["url"], now=NOW)
    assert not _explain.check(setup, _explain.parse_http_request(case["raw"])).verified
    result = run(*argv, env=case["env"])
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout
    assert "secret-value" not in result.stdout


def test_explain_of_a_good_request_says_so(tmp_path: Path) -> None:
    signed = sign_request("github", BODY, secret="gh")
    result = run(
        "explain",
        "--provider",
        "github",
        "--secret",
        "gh",
        "--request-file",
        request_file(tmp_path, capture(signed)),
    )
    assert (result.returncode, result.stdout.strip()) == (0, "verified: github, key #0")


# -- sign -----------------------------------------------------------------------------------


def test_sign_resolves_references_like_the_guard(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    by_env = run(
        "sign",
        "github",
        "--secret",
        "env:WG_CLI_SIGN",
        "--body",
        "x",
        env={"WG_CLI_SIGN": "from-env"},
    )
    by_file = run("sign", "github", "--secret", f"file:{tmp_path / 'secret'}", "--body", "x")
    expect_env = github(secret="x").sign(b"x", secret="from-env").headers
    expect_file = github(secret="x").sign(b"x", secret="from-a-file").headers
    assert by_env.stdout == "".join(f"{k}: {v}\n" for k, v in expect_env.items() if k != "Content-Type")
    assert by_file.stdout == "".join(f"{k}: {v}\n" for k, v in expect_file.items() if k != "Content-Type")


def test_sign_takes_timestamps_in_the_providers_unit() -> None:
    dingtalk = run("sign", "dingtalk", "--secret", "SECd", "--timestamp", "1790000000123")
    assert "timestamp: 1790000000123\n" in dingtalk.stdout
    stripe = run(
        "sign", "stripe", "--secret", "whsec_s", "--timestamp", "1790000000", "--body", "{}"
    )
    assert "Stripe-Signature: t=1790000000," in stripe.stdout
    twitch = run("sign", "twitch", "--secret", "t" * 10, "--timestamp", "2026-09-21T14:13:20Z")
    assert "Twitch-Eventsub-Message-Timestamp: 2026-09-21T14:13:20" in twitch.stdout


def test_sign_url_signed_and_asymmetric(tmp_path: Path) -> None:
    twilio = run(
        "sign", "twilio", "--secret", "tw", "--body", "Body=hi", "--url", HOOK, "--format", "json"
    )
    document = json.loads(twilio.stdout)
    expected = sign_request("twilio", b"Body=hi", secret="tw", url=HOOK)
    assert document["headers"] == expected.headers
    private = generate_private_key("sendgrid")
    (tmp_path / "key.pem").write_text(private)
    sendgrid = run(
        "sign",
        "sendgrid",
        "--private-key",
        f"file:{tmp_path / 'key.pem'}",
        "--body",
        "[]",
        "--timestamp",
        str(int(NOW)),
        "--format",
        "json",
    )
    signed = json.loads(sendgrid.stdout)
    route = REGISTRY["sendgrid"](secret=public_key("sendgrid", private))
    guard = Guard([Route("/hooks/p", route)], clock=lambda: NOW)
    from tests.test_testing import send

    wire = SignedRequest(headers=signed["headers"], body=b"[]")
    assert send(guard, wire)[0] == 200


def test_sign_never_waits_on_a_terminal() -> None:
    result = run("sign", "github", "--secret", "s")
    assert result.returncode == 0  # no --body: the empty body, stdin is not read
    assert result.stdout.startswith("X-Hub-Signature-256: sha256=")


# -- failures: one line on stderr, exit status 2 ------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["sign", "nope", "--secret", "s"], "unknown provider 'nope'", id="unknown-provider"
        ),
        pytest.param(["sign", "githb", "--secret", "s"], "did you mean 'github'", id="typo"),
        pytest.param(
            ["sign", "github", "--secret", "env:WG_CLI_UNSET"], "'WG_CLI_UNSET'", id="unset-env"
        ),
        pytest.param(
            ["sign", "github", "--secret", "file:/nonexistent/x"], "cannot read", id="missing-file"
        ),
        pytest.param(
            ["sign", "twilio", "--secret", "s", "--body", "a=1"], "give --url", id="url-needed"
        ),
        pytest.param(["sign", "github"], "signs with --secret", id="no-secret"),
        pytest.param(["sign", "discord"], "signs with --private-key", id="no-private-key"),
        pytest.param(
            ["sign", "dingtalk", "--secret", "s", "--timestamp", "soon"],
            "milliseconds",
            id="bad-ts",
        ),
        pytest.param(
            ["sign", "github", "--secret", "s", "--option", "x"], "KEY=VALUE", id="bad-option"
        ),
        pytest.param(
            ["sign", "seatable", "--secret", "s", "--option", "zzz=1"], "zzz", id="unknown-option"
        ),
        pytest.param(["sign", "wecom", "--secret", "s"], "aes_key", id="missing-option"),
        pytest.param(
            ["verify", "--provider", "github", "--secret", "s", "--request-file", "/nonexistent"],
            "cannot read",
            id="no-request-file",
        ),
        pytest.param(
            ["verify", "--provider", "github", "--secret", "s", "--now", "later"],
            "--now",
            id="bad-now",
        ),
        pytest.param(["verify", "--provider", "github"], "--secret", id="argparse-error"),
        pytest.param(["frobnicate"], "invalid choice", id="unknown-command"),
        pytest.param(
            ["gen-secret", "--provider", "airtable"],
            "Airtable issues this secret itself",
            id="issued",
        ),
        pytest.param(
            ["send", "http://127.0.0.1:9/x", "--provider", "github", "--secret", "s"],
            "cannot reach",
            id="closed-port",
        ),
        pytest.param(
            ["send", "ftp://x/y", "--provider", "github", "--secret", "s"],
            "absolute http(s) URL",
            id="bad-url",
        ),
    ],
)
def test_failures_are_one_line_with_status_2(argv: list[str], message: str) -> None:
    result = run(*argv)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("webhook-guard: error: ")
    assert message in result.stderr


def test_bad_request_file_is_one_line(tmp_path: Path) -> None:
    path = request_file(tmp_path, b"this is not http\r\n\r\n")
    result = run("verify", "--provider", "github", "--secret", "s", "--request-file", path)
    assert result.returncode == 2
    assert result.stderr.startswith("webhook-guard: error: --request-file: not an HTTP/1.1")


def test_version() -> None:
    from webhook_guard import __version__

    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"webhook-guard {__version__}")


@pytest.mark.parametrize("provider", ["polar", "clerk", "stripe"])
def test_gen_secret_for_tests_of_issued_secrets(
    capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    assert main(["gen-secret", "--provider", provider]) == 2
    assert "issues this secret itself" in capsys.readouterr().err
    assert main(["gen-secret", "--provider", provider, "--for-tests"]) == 0
    value = capsys.readouterr().out.strip()
    assert value.startswith("polar_whs_" if provider == "polar" else "whsec_")


def test_gen_secret_key_pair_for_tests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen-secret", "--provider", "telnyx", "--for-tests"]) == 0
    lines = capsys.readouterr().out.splitlines()
    private = lines[0].rsplit(" ", 1)[1]
    public = lines[1].rsplit(" ", 1)[1]
    assert public == public_key("telnyx", private)


# -- send, against a real server on 127.0.0.1 ----------------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[tuple[bytes, Any]]]]:
    from webhook_guard import get_verdict
    from webhook_guard.providers import wecom

    monkeypatch.setenv("WG_CLI_SEND", "send-secret")
    seen: list[tuple[bytes, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        verdict = get_verdict(environ)
        seen.append((body, verdict))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"provider": verdict.provider, "verified": verdict.verified}).encode()]

    guard = Guard(
        [
            Route("/hooks/github", github(secret="env:WG_CLI_SEND")),
            Route("/hooks/wecom", wecom(secret="tok", aes_key=AES_KEY, corp_id="ww")),
        ]
    )
    httpd = make_server("127.0.0.1", 0, guard.wsgi(app), handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_send_sample_to_a_real_server(
    server: tuple[str, list[tuple[bytes, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, seen = server
    monkeypatch.setenv("WG_CLI_SEND", "send-secret")
    result = run(
        "send",
        f"{base}/hooks/github",
        "--provider",
        "github",
        "--secret",
        "env:WG_CLI_SEND",
        "--sample",
        "push",
        env={"WG_CLI_SEND": "send-secret"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HTTP 200 OK" in result.stdout
    assert '"verified": true' in result.stdout
    [(body, verdict)] = seen
    assert json.loads(body)["ref"] == "refs/heads/main"
    assert verdict.verified


def test_send_a_refused_delivery_exits_1(
    server: tuple[str, list[tuple[bytes, Any]]], tmp_path: Path
) -> None:
    base, seen = server
    (tmp_path / "body.json").write_bytes(BODY)
    result = run(
        "send",
        f"{base}/hooks/github",
        "--provider",
        "github",
        "--secret",
        "wrong",
        "--body-file",
        str(tmp_path / "body.json"),
        env={"WG_CLI_SEND": "send-secret"},
    )
    assert result.returncode == 1
    assert "HTTP 401 Unauthorized" in result.stdout
    assert '"error": "bad_signature"' in result.stdout
    assert seen == []


def test_send_query_signed_provider(server: tuple[str, list[tuple[bytes, Any]]]) -> None:
    base, seen = server
    result = run(
        "send",
        f"{base}/hooks/wecom",
        "--provider",
        "wecom",
        "--secret",
        "tok",
        "--option",
        f"aes_key={AES_KEY}",
        "--option",
        "corp_id=ww",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, verdict)] = seen
    assert "<Content><![CDATA[hello from webhook-guard]]></Content>" in verdict.details["plaintext"]


# -- the captured-request parser is total ----------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=512),
        st.builds(
            lambda line, headers, body: line + b"\r\n" + headers + b"\r\n\r\n" + body,
            st.sampled_from([b"POST /h HTTP/1.1", b"GET http://h/x?y HTTP/1.1", b"POST  HTTP/1.1"]),
            st.binary(max_size=200),
            st.binary(max_size=200),
        ),
    )
)
def test_request_parser_never_raises_anything_but_value_error(data: bytes) -> None:
    try:
        captured = _explain.parse_http_request(data)
    except ValueError:
        return
    assert captured.path.startswith("/") or captured.path
    assert isinstance(captured.body, bytes)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", "truncated", id="short"
        ),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "not a number", id="length"),
        pytest.param(b"POST / HTTP/1.1\r\nBad header\r\n\r\n", "not a header line", id="header"),
        pytest.param(b"POST / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", "obs-fold", id="fold"),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "hexadecimal",
            id="chunk",
        ),
    ],
)
def test_request_parser_says_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _explain.parse_http_request(raw)


def test_request_parser_reads_lf_captures_and_proxy_urls() -> None:
    captured = _explain.parse_http_request(
        b"POST https://hooks.example.com/p?a=1 HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}trailing"
    )
    assert (captured.url, captured.path, captured.query, captured.body) == (
        "https://hooks.example.com/p?a=1",
        "/p",
        "a=1",
        b"{}",
    )
