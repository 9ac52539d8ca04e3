"""Verify a captured request outside a server, and find out why one fails (the CLI's
``verify`` and ``explain``).

A captured request goes through the real WSGI adapter and guard, with the replay store
off and the clock set to ``now``. ``explain`` then changes one thing at a time (the clock,
the secret's format, the body's bytes, the public URL, the provider) and reports the first
change that makes the request verify: that change is the cause.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

from webhook_guard.core.verdict import Reason, Verdict

__all__ = (
    "Captured",
    "Explanation",
    "Setup",
    "check",
    "display_name",
    "explain",
    "parse_http_request",
)

#: Longest captured request read (headers and body).
MAX_REQUEST = 64 * 1024 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

#: How providers spell their own names (the rest: the registry name, capitalised).
_DISPLAY = {
    "dingtalk": "DingTalk",
    "dingtalk_events": "DingTalk events",
    "dingtalk_token": "DingTalk tokens",
    "github": "GitHub",
    "gitlab": "GitLab",
    "gitlab_signed": "GitLab",
    "hubspot": "HubSpot",
    "seatable": "SeaTable",
    "sendgrid": "SendGrid",
    "standard_webhooks": "Standard Webhooks",
    "wecom": "WeCom",
    "wechat": "WeChat",
    "quickbooks": "QuickBooks",
    "pagerduty": "PagerDuty",
    "frameio": "Frame.io",
    "coinbase_commerce": "Coinbase Commerce",
    "lemon_squeezy": "Lemon Squeezy",
    "woocommerce": "WooCommerce",
    "circleci": "CircleCI",
    "line": "LINE",
    "hmac": "the configured HMAC scheme",
    "token": "the configured token scheme",
}


def display_name(provider: str) -> str:
    """``"DingTalk"`` for ``"dingtalk"``."""
    return _DISPLAY.get(provider, provider.replace("_", " ").title())


# -- captured requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """A request as it arrived: method, path, query, header pairs (in order), body."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: The absolute URL of a proxy-form request line (``POST http://host/path``).
    url: str = ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def parse_http_request(data: bytes) -> Captured:
    """A captured HTTP/1.1 request (from ``nc -l``, a proxy log, ``tcpdump -A``).

    Lines may end with CRLF or LF. A ``Transfer-Encoding: chunked`` body is decoded; a
    ``Content-Length`` body is taken at its declared length. ``ValueError`` says what is
    wrong with the file.
    """
    if len(data) > MAX_REQUEST:
        raise ValueError("the request file is larger than 64 MiB")
    data = data.lstrip(b"\r\n")
    match = re.search(rb"\r?\n\r?\n", data)
    head, body = (data[: match.start()], data[match.end() :]) if match else (data, b"")
    lines = re.split(rb"\r?\n", head)
    try:
        request_line = lines[0].decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("the request line is not ASCII: is this an HTTP/1.1 request?") from None
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/") or not _TOKEN.fullmatch(parts[0]):
        raise ValueError(f"not an HTTP/1.1 request line: {request_line[:80]!r}")
    method, target = parts[0].upper(), parts[1]
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):
            raise ValueError("folded header lines (obs-fold) are not supported")
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise ValueError(f"not a header line: {raw[:80]!r}")
        headers.append((name, value.strip(" \t")))
    url = ""
    if "://" in target:
        url = target
        split = urlsplit(target)
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    path, _, query = target.partition("?")
    lowered = {k.lower(): v for k, v in headers}
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif "content-length" in lowered:
        try:
            length = int(lowered["content-length"])
        except ValueError:
            raise ValueError("the Content-Length header is not a number") from None
        if len(body) < length:
            raise ValueError(
                f"the body is shorter than its Content-Length ({len(body)} < {length} bytes):"
                " the capture is truncated"
            )
        body = body[:length]
    return Captured(method, path or "/", query, tuple(headers), body, url)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    rest = data
    for _ in range(100_000):
        line, sep, rest = rest.partition(b"\n")
        if not sep:
            raise ValueError("the chunked body ends early")
        try:
            size = int(line.strip().split(b";")[0], 16)
        except ValueError:
            raise ValueError("a chunk size is not hexadecimal") from None
        if size == 0:
            return bytes(out)
        out += rest[:size]
        rest = rest[size:]
        rest = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
    raise ValueError("too many chunks")


# -- verifying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """How the route is configured: provider, secret references, options, public URL."""

    provider: str
    secrets: tuple[Any, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    now: float = 0.0


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/_.~-]*")


def _scheme(setup: Setup) -> Any:
    from webhook_guard.providers import get

    spec: Any = list(setup.secrets) if len(setup.secrets) > 1 else setup.secrets[0]
    try:
        return get(setup.provider)(secret=spec, **setup.options)
    except TypeError as exc:
        from webhook_guard.exceptions import ConfigurationError

        raise ConfigurationError(
            f"{setup.provider}: unknown option ({exc})", code="webhook_guard.E009"
        ) from None


def public_url(setup: Setup, captured: Captured) -> str:
    """The URL a URL-signed provider signed: ``--url``, the request's absolute URL, or
    ``https://`` + its ``Host`` + its path."""
    if setup.url:
        return setup.url
    if captured.url:
        return captured.url
    host = captured.header("Host")
    if not host:
        raise ValueError("this provider signs the URL: give --url (the request has no Host)")
    return f"https://{host}{captured.path}" + (f"?{captured.query}" if captured.query else "")


def check(setup: Setup, captured: Captured) -> Verdict:
    """The guard's verdict on ``captured`` under ``setup`` (replay store off)."""
    from webhook_guard import Guard, Route
    from webhook_guard.testing import build_wsgi_environ

    scheme = _scheme(setup)
    path = unquote_to_bytes(captured.path).decode("latin-1")
    pattern = path if _PLAIN_PATH.fullmatch(path) and path != "/" else "/webhook"
    if pattern == "/webhook":
        path = pattern
    query, configured = captured.query, None
    if scheme.needs_url:
        split = urlsplit(public_url(setup, captured))
        configured = urlunsplit((split.scheme, split.netloc, split.path, "", ""))
        query = split.query
    seen: list[Verdict] = []
    route = Route(pattern.rstrip("/") or "/webhook", scheme, public_url=configured, replay=False)
    guard = Guard(
        [route],
        replay_store=None,
        check_store=False,
        clock=lambda: setup.now,
        on_decision=lambda verdict, _: seen.append(verdict),
    )
    headers: dict[str, str] = {}
    for name, value in captured.headers:
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        key = name.title()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    environ = build_wsgi_environ(
        path.rstrip("/") or "/webhook",
        body=captured.body,
        method=captured.method,
        headers=headers,
        query=query,
    )

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    for _ in guard.wsgi(app)(environ, lambda *a: None):
        pass
    return seen[-1] if seen else Verdict(verified=False, reason=Reason.BAD_REQUEST, status=400)


# -- explaining ----------------------------------------------------------------------------


@dataclass
class Explanation:
    """What ``explain`` found: the verdict as is, the causes tried, and the finding."""

    verdict: Verdict
    tried: list[tuple[str, bool]] = field(default_factory=list)
    cause: str = ""
    found: bool = False


def _human(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{int(hours)} h {int(minutes % 60)} min"
    return f"{hours / 24:.1f} days"


def _iso(seconds: float) -> str:
    moment = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_DIGITS = re.compile(r"(?<![0-9])([0-9]{9,13})(?![0-9])")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9:]{5})")


def _instants(captured: Captured) -> Iterator[tuple[str, float]]:
    """Every timestamp-looking value in the request: (raw text, candidate instant)."""
    texts = [v for _, v in captured.headers] + [captured.query]
    texts.append(captured.body[:8192].decode("latin-1"))
    seen: set[float] = set()
    for text in texts:
        for raw in _DIGITS.findall(text):
            for instant in (float(raw), int(raw) / 1000):
                if instant not in seen:
                    seen.add(instant)
                    yield raw, instant
        for raw in _RFC3339.findall(text):
            try:
                instant = _dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
            if instant not in seen:
                seen.add(instant)
                yield raw, instant


def _window(setup: Setup) -> str:
    try:
        scheme = _scheme(setup)
    except Exception:
        return ""
    window = getattr(scheme, "window", None)
    if not isinstance(window, (int, float)):
        return ""
    return f" ({display_name(setup.provider)} is accepted {_human(window)} either way here)"


def _timestamp_cause(setup: Setup, captured: Captured, verify: Callable[..., Verdict]) -> str:
    from webhook_guard.testing import timestamp_unit

    name = display_name(setup.provider)
    unit = timestamp_unit(setup.provider, **setup.options)
    for count, (raw, instant) in enumerate(_instants(captured)):
        if count >= 40:
            break
        if not verify(replace(setup, now=instant), captured).verified:
            continue
        as_read = instant
        if unit == "ms" and len(raw) <= 11 and abs(float(raw) - setup.now) < 86400 * 366:
            return (
                f"the timestamp looks like seconds ({raw}); {name} sends milliseconds."
                " The signature is right, but the sender (or a test) put a seconds timestamp"
                f" where {name} puts milliseconds, so it reads as {_iso(as_read)}"
            )
        if unit == "s" and len(raw) >= 12 and abs(int(raw) / 1000 - setup.now) < 86400 * 366:
            return (
                f"the timestamp looks like milliseconds ({raw}); {name} sends seconds."
                f" The signature is right, but it reads as the year {_dt.datetime.fromtimestamp(min(as_read, 253402300799), _dt.timezone.utc).year}"
            )
        delta = setup.now - as_read
        when = "old" if delta > 0 else "in the future"
        return (
            f"the timestamp is {_human(delta)} {when} (signed for {_iso(as_read)}, now is"
            f" {_iso(setup.now)}){_window(setup)}: a delayed or replayed delivery, or a clock"
            f" that is off by {_human(delta)} (check NTP on the sender and on this host)."
            " The signature itself is right"
        )
    return ""


def _secret_variants(value: bytes) -> Iterator[tuple[str, bytes]]:
    stripped = value.strip()
    if stripped != value:
        yield "the secret with its surrounding whitespace or newline removed", stripped
    unquoted = stripped.strip(b"'\"")
    if unquoted != stripped and unquoted:
        yield "the secret without its quotes", unquoted
    if stripped.startswith(b"whsec_"):
        bare = stripped[6:]
        yield "the secret without its whsec_ prefix", bare
        decoded = _b64(bare)
        if decoded:
            yield "the Base64-decoded bytes of the whsec_ secret", decoded
    else:
        yield "the secret with a whsec_ prefix", b"whsec_" + stripped
    decoded = _b64(stripped)
    if decoded and not stripped.startswith(b"whsec_"):
        yield "the Base64-decoded secret (the secret is Base64 text of the key)", decoded
    yield "the Base64-encoded secret", base64.b64encode(stripped)
    if re.fullmatch(rb"(?:[0-9a-fA-F]{2})+", stripped):
        yield "the hex-decoded secret", binascii.unhexlify(stripped)


def _b64(text: bytes) -> bytes | None:
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
    return data if len(data) >= 8 else None


def _secret_tries(setup: Setup) -> Iterator[tuple[str, Setup]]:
    from webhook_guard.keysources import resolve_one

    for index, ref in enumerate(setup.secrets):
        if not isinstance(ref, (str, bytes)):
            continue
        value = resolve_one(ref, route="explain", what="secret")
        for label, variant in _secret_variants(value):
            secrets = list(setup.secrets)
            secrets[index] = variant
            which = f" (secret #{index + 1})" if len(setup.secrets) > 1 else ""
            yield f"it verifies with {label}{which}", replace(setup, secrets=tuple(secrets))


_JSON_FORMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("compact JSON (no spaces)", {"separators": (",", ":")}),
    ("JSON with spaces after ',' and ':'", {}),
    (
        "compact JSON with non-ASCII characters unescaped",
        {"separators": (",", ":"), "ensure_ascii": False},
    ),
    ("JSON with spaces and non-ASCII characters unescaped", {"ensure_ascii": False}),
    ("compact JSON with sorted keys", {"separators": (",", ":"), "sort_keys": True}),
    ("JSON with sorted keys", {"sort_keys": True}),
    ("JSON indented by 2 spaces", {"indent": 2}),
    ("JSON indented by 4 spaces", {"indent": 4}),
)


def _body_variants(body: bytes) -> Iterator[tuple[str, bytes]]:
    if body.endswith(b"\n"):
        yield (
            "the body verifies without its trailing newline: a proxy or tool added one",
            body.rstrip(b"\r\n"),
        )
    else:
        yield (
            "the body verifies with a trailing newline: a proxy (or the capture) stripped it",
            body + b"\n",
        )
        yield (
            "the body verifies with a trailing CRLF: a proxy (or the capture) stripped it",
            body + b"\r\n",
        )
    if b"\r\n" in body:
        yield (
            "the body verifies with LF line endings: something converted them to CRLF",
            body.replace(b"\r\n", b"\n"),
        )
    elif b"\n" in body.rstrip(b"\n"):
        yield (
            "the body verifies with CRLF line endings: something converted them to LF",
            body.replace(b"\n", b"\r\n"),
        )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return
    for label, options in _JSON_FORMS:
        text = json.dumps(document, **options).encode("utf-8")
        for suffix, ending in ((b"", ""), (b"\n", " and a trailing newline")):
            variant = text + suffix
            if variant != body:
                yield (
                    f"the body verifies re-serialised as {label}{ending}, so a proxy,"
                    " framework or tool re-serialised the JSON on the way (verify the raw"
                    " bytes, before any JSON parsing)",
                    variant,
                )


def _url_variants(url: str) -> Iterator[tuple[str, str]]:
    split = urlsplit(url)
    host, port = split.hostname or "", split.port
    other = "http" if split.scheme == "https" else "https"
    default = 443 if split.scheme == "https" else 80
    netloc_host = f"[{host}]" if ":" in host else host
    yield f"the signature matches the URL with {other}://", urlunsplit(split._replace(scheme=other))
    if port is None:
        yield (
            f"the signature matches the URL with port {default}",
            urlunsplit(split._replace(netloc=f"{netloc_host}:{default}")),
        )
        yield (
            f"the signature matches the {other} URL with port {443 if other == 'https' else 80}",
            urlunsplit(
                split._replace(
                    scheme=other, netloc=f"{netloc_host}:{443 if other == 'https' else 80}"
                )
            ),
        )
    else:
        yield (
            "the signature matches the URL without its port",
            urlunsplit(split._replace(netloc=netloc_host)),
        )
    path = split.path or "/"
    slashed = path[:-1] if path.endswith("/") and path != "/" else path + "/"
    yield (
        f"the signature matches the URL {'without' if path.endswith('/') else 'with'} a trailing slash",
        urlunsplit(split._replace(path=slashed)),
    )
    if split.query:
        yield (
            "the signature matches the URL without its query string",
            urlunsplit(split._replace(query="")),
        )


def _provider_tries(setup: Setup) -> Iterator[tuple[str, Setup]]:
    from webhook_guard.providers import names

    for other in names():
        if other != setup.provider:
            yield f"the request verifies as {other}", replace(setup, provider=other, options={})


def explain(setup: Setup, captured: Captured) -> Explanation:
    """Check ``captured``; when it is refused, try the likely causes one at a time."""
    verdict = check(setup, captured)
    result = Explanation(verdict)
    if verdict.verified:
        result.cause = "the request verifies as it is"
        result.found = True
        return result

    def verifies(s: Setup, c: Captured) -> Verdict:
        try:
            return check(s, c)
        except Exception:  # a variant the provider cannot even be configured with
            return Verdict(verified=False, reason=Reason.BAD_REQUEST)

    name = display_name(setup.provider)

    def timestamps() -> str:
        return _timestamp_cause(setup, captured, verifies)

    def secret_format() -> str:
        for label, changed in _secret_tries(setup):
            if verifies(changed, captured).verified:
                return f"{label}: the secret is configured in the wrong format"
        return ""

    def body() -> str:
        for label, variant in _body_variants(captured.body):
            if verifies(setup, replace(captured, body=variant)).verified:
                return label
        return ""

    def url() -> str:
        try:
            scheme = _scheme(setup)
            if not scheme.needs_url:
                return ""
            base = public_url(setup, captured)
        except Exception:
            return ""
        for label, variant in _url_variants(base):
            if verifies(replace(setup, url=variant), captured).verified:
                return (
                    f"{label} ({variant}): set the route's public_url to the URL exactly as"
                    f" configured at {name}"
                )
        return ""

    def provider() -> str:
        for label, changed in _provider_tries(setup):
            if verifies(changed, captured).verified:
                return f"{label}, not as {setup.provider}: the route names the wrong provider"
        return ""

    steps: list[tuple[str, Callable[[], str]]] = [
        ("timestamp unit and clock", timestamps),
        ("secret format (whsec_, Base64, hex, whitespace)", secret_format),
        ("body re-encoded on the way (newlines, CRLF, JSON)", body),
        ("public URL (scheme, port, trailing slash, query)", url),
        ("another provider with the same secret", provider),
    ]
    for label, step in steps:
        cause = step()
        result.tried.append((label, bool(cause)))
        if cause:
            result.cause = cause
            result.found = True
            return result
    result.cause = _fallback(setup, captured, verdict)
    return result


def _fallback(setup: Setup, captured: Captured, verdict: Verdict) -> str:
    name = display_name(setup.provider)
    reason = verdict.reason
    if reason in (Reason.MISSING_SIGNATURE, Reason.MISSING_TIMESTAMP):
        from webhook_guard.testing import signature_fields

        try:
            headers, query = signature_fields(_scheme(setup))
        except Exception:
            headers, query = (), ()
        wanted = ", ".join([*headers, *(f"?{q}" for q in query)]) or "its signature"
        present = ", ".join(k for k, _ in captured.headers) or "none"
        return (
            f"the request does not carry {name}'s {wanted} (headers present: {present}):"
            f" a proxy strips them, or the request is not from {name}"
        )
    if reason in (Reason.MALFORMED_SIGNATURE, Reason.MALFORMED_TIMESTAMP):
        return (
            f"the {'signature' if reason is Reason.MALFORMED_SIGNATURE else 'timestamp'} is not"
            f" in {name}'s format (repeated, truncated or re-encoded by a proxy?)"
        )
    if reason in (Reason.STALE_TIMESTAMP, Reason.FUTURE_TIMESTAMP):
        return (
            f"the timestamp is outside the window and the signature does not match at its time"
            f" either: the secret is wrong, or the body was changed{_window(setup)}"
        )
    if reason is Reason.BAD_SIGNATURE:
        return (
            "no variant tried verifies: the secret is most likely wrong or was rotated at"
            f" {name} (copy it again from {name}'s settings; during a rotation configure both"
            " secrets, newest first), or the body was changed in a way not tried here"
        )
    return f"the request is refused before its signature is checked ({reason.value})"
