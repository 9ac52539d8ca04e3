"""The ``webhook-guard`` command.

- ``demo``: a guarded server on 127.0.0.1 receiving genuine and hostile webhooks.
- ``sign``: what a provider would send for a body (headers, query, body).
- ``verify``: the guard's verdict on a captured request (exit 0 verified, 1 refused).
- ``explain``: why a captured request fails, trying the likely causes one by one.
- ``send``: sign a body (or a sample payload) and POST it to a URL.
- ``check``: validate a configuration file and report its keys.
- ``gen-secret``: a strong secret in the provider's format.

Secret references (``env:NAME``, ``file:/path``) are read exactly as the guard reads them.
Every failure is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import difflib
import json
import logging
import secrets
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TextIO
from urllib.parse import quote, urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from webhook_guard import (
    Guard,
    Route,
    Verdict,
    WebhookGuardError,
    WebhookGuardWarning,
    __version__,
    get_verdict,
)
from webhook_guard._explain import Captured, Setup, check, display_name, explain, parse_http_request
from webhook_guard.providers import dingtalk, github, names, seatable
from webhook_guard.responses import MESSAGES
from webhook_guard.testing import generate_private_key, public_key, sign_request, timestamp_unit

__all__ = ("CommandError", "main")

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
            genuine = scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now).headers
            forged = scheme.sign(body, secret="not-the-secret", timestamp=now).headers  # noqa: S106
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
                        scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now - 3600).headers,
                    ),
                )
                cases.insert(
                    3,
                    (
                        "future (10 min)",
                        body,
                        scheme.sign(body, secret=_DEMO_SECRETS[name], timestamp=now + 600).headers,
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


# -- shared plumbing -----------------------------------------------------------------------


class CommandError(Exception):
    """A failure reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see {self.prog} --help)")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "options", None):
        try:
            loaded = json.loads(args.options)
        except ValueError:
            raise CommandError("--options is not valid JSON") from None
        if not isinstance(loaded, dict):
            raise CommandError("--options must be a JSON object")
        options.update(loaded)
    for item in getattr(args, "option", None) or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--option takes KEY=VALUE, not {item!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def _read(path: str, what: str) -> bytes:
    if path == "-":
        if sys.stdin.isatty():
            raise CommandError(f"{what} is '-' (standard input), but standard input is a terminal")
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path!r}: {exc.strerror}") from None


def _body(args: argparse.Namespace) -> bytes | None:
    if getattr(args, "body_file", None) is not None:
        return _read(args.body_file, "--body-file")
    if getattr(args, "body", None) is not None:
        if args.body == "-":
            return _read("-", "--body")
        return str(args.body).encode("utf-8")
    return None


def _instant(text: str, what: str) -> float:
    """Seconds since the epoch from digits (seconds) or an RFC 3339 date-time."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{what} must be seconds since the epoch or an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _provider(name: str) -> str:
    if name not in names():
        close = difflib.get_close_matches(name, names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (see the README's provider table)"
        raise CommandError(f"unknown provider {name!r}{hint}")
    return name


def _resolve(ref: str, what: str) -> str:
    """A literal, ``env:NAME`` or ``file:/path`` reference read exactly as the guard reads it."""
    from webhook_guard.exceptions import ConfigurationError
    from webhook_guard.keysources import resolve_one

    try:
        value = resolve_one(ref, route="cli", what=what)
    except ConfigurationError as exc:
        detail = exc.message.removeprefix("route 'cli': ")
        raise CommandError(f"the {what}: {detail}") from None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"the {what} is not UTF-8 text") from None


# -- sign ----------------------------------------------------------------------------------


def _provider_timestamp(text: str, provider: str, options: dict[str, Any]) -> float:
    """``--timestamp`` in the provider's own unit, as seconds for ``sign_request``."""
    unit = timestamp_unit(provider, **options)
    if text.isascii() and text.isdigit():
        if unit == "ms":
            # sign() sends int(seconds * 1000): half a millisecond keeps it exact.
            return (int(text) + 0.5) / 1000
        return float(int(text))
    if unit == "rfc3339":
        return _instant(text, "--timestamp")
    raise CommandError(
        f"--timestamp for {provider} is an integer in {'milliseconds' if unit == 'ms' else 'seconds'}"
    )


def _asymmetric(provider: str) -> bool:
    """Whether ``provider`` signs with a private key (the route has the public key)."""
    from webhook_guard.providers import REGISTRY

    row = REGISTRY.get(provider)
    return row is not None and row.family.asymmetric


def _signing_secret(args: argparse.Namespace, provider: str) -> str:
    asymmetric = _asymmetric(provider)
    if args.private_key is not None and args.secret is not None:
        raise CommandError("give --secret or --private-key, not both")
    ref = args.private_key if args.private_key is not None else args.secret
    if ref is None:
        need = "--private-key" if asymmetric else "--secret"
        raise CommandError(f"{provider} signs with {need} (a literal, env:NAME or file:/path)")
    return _resolve(ref, "private key" if args.private_key is not None else "secret")


def _signed(args: argparse.Namespace, provider: str, body: bytes, *, url: str | None) -> Any:
    options = _options(args)
    timestamp = None
    if getattr(args, "timestamp", None):
        timestamp = _provider_timestamp(args.timestamp, provider, options)
    secret = _signing_secret(args, provider)
    try:
        return sign_request(provider, body, secret=secret, timestamp=timestamp, url=url, **options)
    except TypeError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        message = str(exc)
        if "needs url=" in message:
            raise CommandError(f"{provider} signs the URL: give --url (the public URL)") from None
        raise CommandError(message) from None


def sign_command(args: argparse.Namespace, out: TextIO) -> int:
    provider = _provider(args.provider)
    body = _body(args)
    signed = _signed(args, provider, b"" if body is None else body, url=args.url)
    if args.format == "json":
        document = {
            "method": signed.method,
            "url": signed.url,
            "query": signed.query,
            "headers": signed.headers,
            "body": signed.body.decode("utf-8", "backslashreplace"),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
        return 0
    if args.format == "curl":
        target = signed.url or (
            "http://127.0.0.1:8000/" + (f"?{signed.query}" if signed.query else "")
        )
        words = ["curl", "-X", signed.method, shlex.quote(target)]
        for name, value in signed.headers.items():
            words += ["-H", shlex.quote(f"{name}: {value}")]
        words += ["--data-binary", shlex.quote(signed.body.decode("utf-8", "backslashreplace"))]
        print(" ".join(words), file=out)
        return 0
    for name, value in signed.headers.items():
        if name.lower() == "content-type" and signed.body == body and not args.url:
            continue  # not signed: shown when it matters (URL-signed forms, changed bodies)
        print(f"{name}: {value}", file=out)
    if signed.query:
        print(f"# query: {signed.query}", file=out)
    if body is not None and signed.body != body:
        print(f"# {provider} changes the body: use --format json to get it", file=out)
    return 0


# -- verify and explain --------------------------------------------------------------------


def _captured(args: argparse.Namespace) -> Captured:
    if args.request_file is not None:
        try:
            captured = parse_http_request(_read(args.request_file, "--request-file"))
        except ValueError as exc:
            raise CommandError(f"--request-file: {exc}") from None
    else:
        split = urlsplit(args.url or "")
        captured = Captured(method=args.method, path=split.path or "/", query=split.query, body=b"")
    headers = list(captured.headers)
    for item in args.header or ():
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise CommandError(f'--header takes "Name: value", not {item!r}')
        headers.append((name.strip(), value.strip()))
    body = _body(args)
    return Captured(
        method=captured.method,
        path=captured.path,
        query=captured.query,
        headers=tuple(headers),
        body=captured.body if body is None else body,
        url=captured.url,
    )


def _setup(args: argparse.Namespace) -> Setup:
    now = time.time() if args.now is None else _instant(args.now, "--now")
    return Setup(
        provider=_provider(args.provider),
        secrets=tuple(args.secret),
        options=_options(args),
        url=args.url,
        now=now,
    )


def _describe(verdict: Verdict) -> str:
    if verdict.verified:
        parts = [f"verified: {verdict.provider}"]
        if verdict.key_id:
            parts.append(f"key {verdict.key_id}")
        if verdict.message_id:
            parts.append(f"event {verdict.message_id}")
        line = ", ".join(parts)
        if not verdict.body_signed:
            line += (
                f"\nnote: {verdict.provider} does not sign the body; treat it as unauthenticated"
            )
        if verdict.response is not None:
            line += f"\nnote: a handshake the guard answers itself ({verdict.response[0]})"
        return line
    message = MESSAGES.get(verdict.reason, "")
    return f"refused: {verdict.reason.value} (HTTP {verdict.status}): {message}".rstrip(": ")


def verify_command(args: argparse.Namespace, out: TextIO) -> int:
    verdict = check(_setup(args), _captured(args))
    print(_describe(verdict), file=out)
    return 0 if verdict.verified else 1


def explain_command(args: argparse.Namespace, out: TextIO) -> int:
    result = explain(_setup(args), _captured(args))
    print(_describe(result.verdict), file=out)
    if result.verdict.verified:
        return 0
    print("trying the likely causes:", file=out)
    for label, found in result.tried:
        print(f"  {label}: {'yes' if found else 'no'}", file=out)
    print(f"{'cause' if result.found else 'unexplained'}: {result.cause}", file=out)
    return 1


# -- send ----------------------------------------------------------------------------------


def _sample(provider: str, event: str | None, now: float) -> tuple[bytes, dict[str, str]]:
    """A small, realistic payload per provider (``send --sample``) and extra headers."""
    stamp = _dt.datetime.fromtimestamp(now, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ident = secrets.token_hex(8)
    headers: dict[str, str] = {}
    data: Any
    if provider == "github":
        event = event or "ping"
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4())}
        data = (
            {"zen": "Keep it logically awesome.", "hook_id": 1}
            if event == "ping"
            else {"ref": "refs/heads/main", "repository": {"full_name": "octo/demo"}}
        )
    elif provider == "stripe":
        data = {
            "id": f"evt_{ident}",
            "object": "event",
            "type": event or "payment_intent.succeeded",
            "created": int(now),
            "data": {"object": {"id": f"pi_{ident}", "amount": 2000, "currency": "usd"}},
        }
    elif provider == "slack":
        data = {
            "type": event or "event_callback",
            "event_id": f"Ev{ident.upper()}",
            "event": {"type": "app_mention", "text": "hello"},
        }
    elif provider == "dingtalk":
        data = {"msgtype": "text", "text": {"content": event or "hello from webhook-guard"}}
    elif provider == "dingtalk_events":
        data = {
            "EventType": event or "user_add_org",
            "UserId": ["u1"],
            "TimeStamp": int(now * 1000),
        }
    elif provider in ("wecom", "wechat"):
        text = event or "hello from webhook-guard"
        xml = (
            "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
            f"<FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>{int(now)}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{int(now)}</MsgId></xml>"
        )
        return xml.encode("utf-8"), headers
    elif provider in ("feishu", "lark"):
        data = {
            "schema": "2.0",
            "header": {"event_id": ident, "event_type": event or "im.message.receive_v1"},
            "event": {"message": {"content": '{"text": "hello"}'}},
        }
    elif provider == "mailgun":
        data = {"event": event or "delivered", "id": ident, "timestamp": now}
    elif provider in ("twilio", "plivo"):
        return f"MessageSid=SM{ident}&Body=hello&From=%2B15005550006".encode(), headers
    elif provider == "mandrill":
        events = json.dumps([{"event": event or "send", "_id": ident, "ts": int(now)}])
        return b"mandrill_events=" + quote(events).encode(), headers
    elif provider == "discord":
        data = {"type": 1} if event == "ping" else {"type": 2, "id": ident, "data": {"name": "hi"}}
    elif provider == "linear":
        data = {
            "action": event or "create",
            "type": "Issue",
            "webhookTimestamp": int(now * 1000),
            "data": {"id": ident},
        }
    elif provider in ("standard_webhooks", "svix", "clerk", "resend", "polar", "gitlab_signed"):
        data = {"type": event or "message.created", "timestamp": stamp, "data": {"id": ident}}
    elif provider == "twitch":
        data = {"subscription": {"type": event or "channel.follow"}, "event": {"user_id": "1"}}
    else:
        data = {
            "id": f"evt_{ident}",
            "type": event or "test",
            "created": int(now),
            "data": {"message": "hello from webhook-guard send"},
        }
    return json.dumps(data).encode("utf-8"), headers


def send_command(args: argparse.Namespace, out: TextIO) -> int:
    provider = _provider(args.provider)
    body = _body(args)
    extra: dict[str, str] = {}
    if body is None or args.sample is not None:
        if body is not None:
            raise CommandError("give --body/--body-file or --sample, not both")
        body, extra = _sample(provider, args.sample or None, time.time())
    split = urlsplit(args.url)
    if split.scheme not in ("http", "https") or not split.netloc:
        raise CommandError(f"URL must be an absolute http(s) URL, not {args.url!r}")
    signed = _signed(args, provider, body, url=args.public_url or args.url)
    target = signed.url
    if args.public_url:
        target = urlunsplit(split._replace(query=signed.query)) if signed.query else args.url
    headers = {**extra, **signed.headers}
    for item in args.header or ():
        name, sep, value = item.partition(":")
        if not sep:
            raise CommandError(f'--header takes "Name: value", not {item!r}')
        headers[name.strip()] = value.strip()
    request = urllib.request.Request(  # noqa: S310 - the user's own URL
        target, data=signed.body, method=signed.method, headers=headers
    )
    print(f"{signed.method} {target} ({provider}, {len(signed.body)} bytes)", file=out)
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            status, reason, answer = response.status, response.reason, response.read()
    except urllib.error.HTTPError as exc:
        status, reason, answer = exc.code, exc.reason, exc.read()
        exc.close()
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise CommandError(f"cannot reach {target}: {why}") from None
    print(f"HTTP {status} {reason}", file=out)
    if answer:
        print(answer.decode("utf-8", "backslashreplace")[:4000], file=out)
    return 0 if 200 <= status < 300 else 1


# -- gen-secret ----------------------------------------------------------------------------


def _whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


#: Secret formats ``gen-secret`` prints per provider (default: 32 random bytes as hex).
_SECRET_FORMATS: dict[str, Callable[[], str]] = {
    "standard_webhooks": _whsec,
    "svix": _whsec,
    "clerk": _whsec,
    "resend": _whsec,
    "gitlab_signed": _whsec,
    "stripe": lambda: "whsec_" + secrets.token_urlsafe(32),
    "polar": lambda: "polar_whs_" + secrets.token_urlsafe(32),
    "airtable": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    "dingtalk": lambda: "SEC" + secrets.token_hex(32),
    "token": lambda: secrets.token_urlsafe(32),
    "dingtalk_token": lambda: secrets.token_hex(32),
    "wecom": lambda: secrets.token_urlsafe(24),
    "wechat": lambda: secrets.token_urlsafe(24),
    "dingtalk_events": lambda: secrets.token_urlsafe(24),
}

#: Providers that issue the signing secret (or key pair) themselves: the receiver copies
#: it from the provider's console instead of choosing one.
_ISSUED = {
    "airtable": "returned by the Airtable API when the webhook is created (macSecretBase64)",
    "polar": "shown by Polar when the endpoint is created",
    "clerk": "shown in the Clerk dashboard (Webhooks, Signing Secret)",
    "svix": "shown in the Svix dashboard or API for the endpoint",
    "resend": "shown in the Resend dashboard for the webhook",
    "stripe": "shown in the Stripe dashboard, or printed by `stripe listen`",
    "slack": "the app's Signing Secret (Basic Information)",
    "shopify": "the app's client secret (or the admin's webhook signing key)",
    "twilio": "the account's Auth Token",
    "square": "the subscription's signature key",
    "plivo": "the account's Auth Token",
    "mandrill": "the webhook's key in Mandrill",
    "mailgun": "the HTTP webhook signing key in Mailgun",
    "paddle": "the notification destination's secret key",
    "zoom": "the app's Secret Token",
    "linear": "the webhook's signing secret in Linear",
    "hubspot": "the app's client secret",
    "dropbox": "the app secret",
    "xero": "the webhook key in Xero",
    "quickbooks": "the app's verifier token",
    "meta": "the app secret",
    "instagram": "the app secret",
    "whatsapp": "the app secret",
    "intercom": "the app's client secret",
    "line": "the channel secret",
    "paystack": "the secret API key",
    "dingtalk": "the robot's or app's AppSecret in the DingTalk console",
    "discord": "the application's public key (Discord keeps the private key)",
    "telnyx": "the account's public key (Telnyx keeps the private key)",
    "sendgrid": "the verification key (SendGrid keeps the private key)",
    "gitlab_signed": "the signing token GitLab shows once",
    "persona": "the webhook's secret in Persona",
    "mux": "the webhook's signing secret in Mux",
    "frameio": "the webhook's secret in Frame.io",
    "pagerduty": "the subscription's secret in PagerDuty",
    "box": "the primary and secondary keys in the Box developer console",
    "zendesk": "the webhook's signing secret in Zendesk",
    "notion": "the verification token Notion sends once",
    "vercel": "the webhook's secret in Vercel",
    "sentry": "the integration's client secret",
    "coinbase_commerce": "the shared secret in Coinbase Commerce settings",
    "bolt": "the signing secret in Bolt",
    "asana": "the X-Hook-Secret of Asana's handshake",
    "adyen": "the webhook's HMAC key, generated in the Adyen Customer Area",
    "trello": "the application's secret (Trello's API key page)",
    "hubspot_v1": "the app's client secret",
    "hubspot_v2": "the app's client secret",
    "shopify_app_proxy": "the app's client secret",
    "aws_sns": "AWS signs with its own certificates, which the guard fetches; routes name their topics=",
}


def gen_secret_command(args: argparse.Namespace, out: TextIO) -> int:
    provider = args.provider
    if provider is not None:
        _provider(provider)
    issued = _ISSUED.get(provider or "")
    if issued and not args.for_tests:
        raise CommandError(
            f"{display_name(provider or '')} issues this secret itself ({issued}): copy it from"
            " there; --for-tests prints a value of the same shape for tests"
        )
    if _asymmetric(provider):
        private = generate_private_key(provider)
        print(f"private key (for tests and sign --private-key): {private.strip()}", file=out)
        print(f"public key (the route's secret): {public_key(provider, private)}", file=out)
        return 0
    make = _SECRET_FORMATS.get(provider or "", lambda: secrets.token_hex(32))
    print(make(), file=out)
    return 0


# -- main ----------------------------------------------------------------------------------


def _request_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", required=True, help="the provider's registry name")
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        metavar="REF",
        help="the route's secret: a literal, env:NAME or file:/path; repeat for a rotation"
        " (asymmetric providers: the public key)",
    )
    parser.add_argument(
        "--header", action="append", metavar='"NAME: VALUE"', help="a request header (repeat)"
    )
    parser.add_argument("--body", help="the body as text")
    parser.add_argument("--body-file", metavar="FILE", help="the body's exact bytes (- for stdin)")
    parser.add_argument(
        "--request-file",
        metavar="FILE",
        help="a raw HTTP/1.1 request captured from a proxy or nc -l (- for stdin)",
    )
    parser.add_argument("--url", help="the public URL the provider called (URL-signed providers)")
    parser.add_argument("--method", default="POST", help="the method, without --request-file")
    parser.add_argument(
        "--now", metavar="TS", help="the verifier's time: seconds since the epoch or RFC 3339"
    )
    _option_arguments(parser)


def _option_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a provider option (e.g. aes_key=..., header=X-Signature); repeat",
    )
    parser.add_argument("--options", metavar="JSON", help="provider options as a JSON object")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="webhook-guard", description=__doc__)
    parser.add_argument("--version", action="version", version=f"webhook-guard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("demo", help="run a guarded server on 127.0.0.1 and attack it")

    signer = commands.add_parser("sign", help="print what a provider would send for a body")
    signer.add_argument("provider")
    signer.add_argument("--secret", metavar="REF", help="literal, env:NAME or file:/path")
    signer.add_argument(
        "--private-key",
        metavar="REF",
        help="the private key of asymmetric providers (Discord, Telnyx, SendGrid, whsk_)",
    )
    signer.add_argument("--body", help="the body as text (- for stdin; default: empty)")
    signer.add_argument("--body-file", metavar="FILE", help="the body's exact bytes (- for stdin)")
    signer.add_argument(
        "--timestamp", help="in the provider's unit (DingTalk, HubSpot: milliseconds)"
    )
    signer.add_argument("--url", help="the public URL (URL-signed providers)")
    signer.add_argument("--format", choices=("headers", "json", "curl"), default="headers")
    _option_arguments(signer)

    verifier = commands.add_parser("verify", help="verify a captured request")
    _request_arguments(verifier)
    explainer = commands.add_parser("explain", help="say why a captured request fails")
    _request_arguments(explainer)

    sender = commands.add_parser("send", help="sign a body and POST it to a URL")
    sender.add_argument("url", metavar="URL")
    sender.add_argument("--provider", required=True)
    sender.add_argument("--secret", metavar="REF", help="literal, env:NAME or file:/path")
    sender.add_argument("--private-key", metavar="REF", help="for asymmetric providers")
    sender.add_argument("--body", help="the body as text")
    sender.add_argument("--body-file", metavar="FILE", help="the body's exact bytes")
    sender.add_argument(
        "--sample",
        nargs="?",
        const="",
        metavar="EVENT",
        help="send the provider's sample payload (the default without a body)",
    )
    sender.add_argument("--public-url", help="the URL to sign, when it differs from URL")
    sender.add_argument("--header", action="append", metavar='"NAME: VALUE"')
    sender.add_argument("--timeout", type=float, default=10.0)
    _option_arguments(sender)

    checker = commands.add_parser("check", help="validate a configuration file and report keys")
    checker.add_argument("config")
    checker.add_argument("--rotation-days", type=int, default=90, help="rotation period (90)")
    checker.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    generator = commands.add_parser("gen-secret", help="print a strong secret")
    generator.add_argument("--provider", help="format the secret as this provider expects")
    generator.add_argument(
        "--for-tests",
        action="store_true",
        help="also for providers that issue their own secrets (a value for tests)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 success, 1 refused/failed, 2 error)."""
    out = sys.stdout
    logging.getLogger("webhook_guard").addHandler(logging.NullHandler())
    try:
        args = _parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WebhookGuardWarning)
            if args.command == "demo":
                return demo()
            if args.command == "check":
                return check_command(args)
            command = {
                "sign": sign_command,
                "verify": verify_command,
                "explain": explain_command,
                "send": send_command,
                "gen-secret": gen_secret_command,
            }[args.command]
            return command(args, out)
    except CommandError as exc:
        print(f"webhook-guard: error: {exc}", file=sys.stderr)
    except (WebhookGuardError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"webhook-guard: error: {detail}", file=sys.stderr)
    except KeyboardInterrupt:
        print("webhook-guard: interrupted", file=sys.stderr)
    except Exception as exc:  # never a traceback: one line, exit status 2
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"webhook-guard: error: {type(exc).__name__}: {detail}".rstrip(": "), file=sys.stderr)
    return 2
