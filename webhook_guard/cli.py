"""The ``webhook-guard`` command: ``demo``, ``sign``, ``check`` and ``gen-secret``."""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import json
import logging
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from webhook_guard import Guard, Route, WebhookGuardError, get_verdict
from webhook_guard.config import route_from_mapping
from webhook_guard.providers import dingtalk, github, names, seatable

__all__ = ("main",)

_DEMO_SECRETS = {
    "dingtalk": "demo-dingtalk-app-secret",
    "seatable": "demo-seatable-secret",
    "github": "demo-github-secret",
}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _demo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    verdict = get_verdict(environ)
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    reply = {
        "handler": "reached",
        "verified": verdict.verified,
        "provider": verdict.provider,
        "key_id": verdict.key_id,
        "body_bytes": len(body),
    }
    data = json.dumps(reply).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - loopback demo
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _reason(reply: dict[str, Any]) -> str:
    if "error" in reply:
        return str(reply["error"])
    if reply.get("status") == "duplicate":
        return "duplicate (acknowledged)"
    return "verified" if reply.get("verified") else "-"


def demo(out: Any = None) -> int:
    """Start a guarded server on 127.0.0.1, send genuine and hostile requests, print outcomes."""
    out = out or sys.stdout
    providers = {
        "dingtalk": dingtalk(secret=_DEMO_SECRETS["dingtalk"]),
        "seatable": seatable(secret=_DEMO_SECRETS["seatable"]),
        "github": github(secret=_DEMO_SECRETS["github"]),
    }
    guard = Guard(
        [
            Route("/hooks/dingtalk", providers["dingtalk"]),
            Route("/hooks/seatable", providers["seatable"]),
            Route("/hooks/github/{repo}", providers["github"]),
        ]
    )
    server: WSGIServer = make_server(
        "127.0.0.1", 0, guard.wsgi(_demo_app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    paths = {
        "dingtalk": "/hooks/dingtalk",
        "seatable": "/hooks/seatable",
        "github": "/hooks/github/api",
    }
    rows: list[tuple[str, str, int, str, str]] = []
    try:
        for name, scheme in providers.items():
            body = json.dumps({"demo": name, "text": "hello from the demo"}).encode()
            now = time.time()
            genuine = scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now)
            forged = scheme.sign(body, secret="not-the-secret", timestamp=now)  # noqa: S106
            cases = [
                ("genuine", body, genuine),
                ("forged signature", body, forged),
                ("missing signature", body, {}),
                ("replayed after success", body, genuine),
            ]
            if name == "dingtalk":
                cases.insert(
                    2,
                    (
                        "stale (1h old)",
                        body,
                        scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now - 3600),
                    ),
                )
                cases.insert(
                    3,
                    (
                        "future (10 min)",
                        body,
                        scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now + 600),
                    ),
                )
            else:
                cases.insert(2, ("tampered body", body + b" ", genuine))
            for label, payload, headers in cases:
                status, reply = _post(
                    base + paths[name], payload, {"Content-Type": "application/json", **headers}
                )
                reached = "yes" if reply.get("handler") == "reached" else "no"
                rows.append(
                    (
                        name,
                        label,
                        status,
                        _reason(reply),
                        reached,
                    )
                )
        status, reply = _post(base + "/health", b"{}", {})
        rows.append(
            (
                "(none)",
                "unguarded path",
                status,
                "passed through",
                "yes" if reply.get("handler") else "no",
            )
        )
    finally:
        server.shutdown()
        server.server_close()
    header = ("provider", "request", "status", "reason", "app reached")
    widths = [max(len(str(r[i])) for r in [*rows, header]) for i in range(5)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))
    print(f"webhook_guard demo: a real server on {base}\n", file=out)
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)), file=out)
    print(
        "\nDingTalk signs only the timestamp (body_signed=False); its signed pair is the replay key.",
        file=out,
    )
    failures = [r for r in rows if (r[1] in ("genuine", "unguarded path")) != (r[4] == "yes")]
    return 1 if failures else 0


def sign_command(args: argparse.Namespace) -> int:
    options = json.loads(args.options) if args.options else {}
    entry = {"path": "/", "provider": args.provider, "secret": args.secret, **options}
    scheme = route_from_mapping(entry).provider
    assert scheme is not None
    body = sys.stdin.buffer.read() if args.body == "-" else args.body.encode()
    timestamp = float(args.timestamp) if args.timestamp else time.time()
    headers = scheme.sign(body, secret=args.secret, timestamp=timestamp)
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


#: Secret formats ``gen-secret`` prints per provider (default: 32 random bytes as hex).
_SECRET_FORMATS: dict[str, Callable[[], str]] = {
    "standard_webhooks": lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    "svix": lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    "stripe": lambda: "whsec_" + secrets.token_urlsafe(32),
    "dingtalk": lambda: "SEC" + secrets.token_hex(32),
    "token": lambda: secrets.token_urlsafe(32),
    "dingtalk_token": lambda: secrets.token_hex(32),
}


def gen_secret_command(args: argparse.Namespace) -> int:
    if args.provider and args.provider not in names():
        print(f"error: unknown provider {args.provider!r}", file=sys.stderr)
        return 2
    make = _SECRET_FORMATS.get(args.provider or "", lambda: secrets.token_hex(32))
    print(make())
    return 0


def _day(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%d")


def check_command(args: argparse.Namespace, now: float | None = None) -> int:
    """Validate a configuration; report routes, keys, ages and expiry. Non-zero on errors."""
    now = time.time() if now is None else now
    captured: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                captured.append(record.getMessage())

    handler = _Collect()
    log = logging.getLogger("webhook_guard")
    log.addHandler(handler)
    try:
        guard = Guard.from_file(args.config, check_store=False)
    except WebhookGuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        log.removeHandler(handler)
    max_age = args.rotation_days * 86400
    warnings = [f"warning: {m}" for m in captured]
    print(f"{args.config}: {len(guard.routes)} route(s) OK")
    for route in guard.describe():
        print(
            f"- {route['route']}  provider={route['provider']}  max_body={route['max_body']}"
            + ("  report_only" if route["report_only"] else "")
            + ("  unsigned" if route["unsigned"] else "")
        )
        for key in route["keys"]:
            created, expires = key["created"], key["not_after"]
            age = f"{(now - created) / 86400:.0f} days" if created is not None else "unknown"
            print(
                f"    key {key['id']}: age {age}, created {_day(created)}, "
                f"valid {_day(key['not_before'])} .. {_day(expires)}"
            )
            where = f"route {route['route']!r} key {key['id']!r}"
            if created is not None and now - created > max_age:
                warnings.append(
                    f"warning: {where} is older than {args.rotation_days} days: rotate it"
                )
            if expires is not None and now <= expires < now + 14 * 86400:
                warnings.append(f"warning: {where} expires on {_day(expires)} (within 14 days)")
            if expires is not None and expires < now:
                warnings.append(f"warning: {where} expired on {_day(expires)}")
    for line in warnings:
        print(line)
    return 1 if warnings and args.strict else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webhook-guard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run a guarded server on 127.0.0.1 and attack it")
    signer = commands.add_parser("sign", help="print the headers a provider would send")
    signer.add_argument("provider")
    signer.add_argument("--secret", required=True, help="the secret (literal)")
    signer.add_argument("--body", default="-", help="the body, or - for stdin")
    signer.add_argument("--timestamp", help="seconds since the epoch (default: now)")
    signer.add_argument("--options", help="provider options as JSON")
    checker = commands.add_parser("check", help="validate a configuration file and report keys")
    checker.add_argument("config")
    checker.add_argument("--rotation-days", type=int, default=90, help="rotation period (90)")
    checker.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    generator = commands.add_parser("gen-secret", help="print a strong secret")
    generator.add_argument("--provider", help="format the secret as this provider expects")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    if args.command == "check":
        return check_command(args)
    if args.command == "gen-secret":
        return gen_secret_command(args)
    return sign_command(args)
