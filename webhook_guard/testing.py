"""Helpers for users' tests: sign bodies like a provider would, build requests, post them.

No pytest import here; ``webhook_guard.pytest_plugin`` wraps these in fixtures, and
frameworks are imported only by the helper that needs them.

- ``sign_request(provider, body, secret=...)``: a ``SignedRequest`` (headers, query, body,
  url) as the provider would send it, for every registered provider.
- ``post_signed(client, signed, path)``: send it through Werkzeug/Flask's test client,
  Starlette/FastAPI's ``TestClient`` or Django's ``Client``.
- ``FrozenClock``: a clock for ``Guard(clock=...)``, moved with ``advance``.
- ``build_wsgi_environ``, ``build_asgi_scope``, ``call_asgi``: drive an app directly.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from webhook_guard.core.scheme import Scheme
from webhook_guard.core.signing import SignedRequest, guess_content_type

__all__ = (
    "FrozenClock",
    "SignedRequest",
    "asgi_receive",
    "build_asgi_scope",
    "build_wsgi_environ",
    "call_asgi",
    "generate_private_key",
    "post_django",
    "post_signed",
    "post_starlette",
    "post_werkzeug",
    "public_key",
    "sign",
    "signature_fields",
    "sign_request",
    "timestamp_unit",
)


# -- the one signing interface: every provider's ``sign`` --------------------------------


def sign_request(
    provider_name: str,
    body: bytes | str,
    *,
    secret: str | bytes,
    timestamp: float | None = None,
    url: str | None = None,
    **options: Any,
) -> SignedRequest:
    """``body`` signed as provider ``provider_name`` signs it, ready to send.

    A thin wrapper over the provider's own ``sign`` (``Scheme.sign``): it builds the
    route's scheme from ``options`` and signs with it.

    - Works for every name in ``webhook_guard.providers.names()``.
    - ``secret`` is what the sender signs with: the shared secret, or for asymmetric
      providers (Discord, Telnyx, SendGrid, Standard Webhooks ``v1a``) the **private** key;
      configure the route with ``public_key(provider_name, secret)``. A literal, or an
      ``env:NAME``/``file:/path`` reference read now, as the guard reads it.
    - ``timestamp`` is in seconds (default: now), whatever unit the provider sends.
    - ``url`` is the public URL for URL-signed providers (Twilio, Square, Mandrill, Plivo,
      HubSpot): the route's ``public_url``, or the URL your test client calls
      (``http://localhost/hooks/twilio`` for Werkzeug's client). Without it they raise
      ``ValueError``.
    - ``options`` go to the provider's factory (e.g. WeCom's ``aes_key`` and ``corp_id``)
      or to its ``sign`` (e.g. Twitch's ``message_id``, a ``nonce``); ``content_type``
      replaces the guessed ``Content-Type`` header.

    Example::

        signed = sign_request("github", b'{"zen": "hi"}', secret="s3cret")
        client.post("/hooks/github", data=signed.body, headers=signed.headers)
    """
    from webhook_guard.providers import get

    row = get(provider_name)
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    value = _resolve(secret)
    taken = set(row.option_names())
    for_factory = {k: v for k, v in options.items() if k in taken}
    rest = {k: v for k, v in options.items() if k not in taken}
    scheme = row(**{**row.family.route_credentials(row, value), **for_factory})
    signs = _keywords(scheme.sign) - _OWN
    unknown = sorted(set(rest) - signs)
    if unknown:
        raise TypeError(f"{provider_name}: unknown option(s) {unknown}")
    if scheme.needs_url and not url:
        raise ValueError(
            f"{provider_name}: sign_request() needs url=: the public URL the provider calls"
            " (the route's public_url, or the URL the test client requests)"
        )
    now = time.time() if timestamp is None else float(timestamp)
    signed: SignedRequest = scheme.sign(data, secret=value, timestamp=now, url=url, **rest)
    headers = {**(rest.get("headers") or {}), **signed.headers}  # headers a template signs
    if not any(k.lower() == "content-type" for k in headers):
        kind = guess_content_type(signed.body, form=scheme.needs_url)
        headers = {"Content-Type": kind, **headers} if kind else headers
    return replace(signed, headers=headers)


#: Arguments ``sign_request`` passes itself; never taken from ``options``.
_OWN = frozenset({"body", "secret", "timestamp", "url"})


def _keywords(fn: Callable[..., Any]) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _resolve(secret: str | bytes) -> str | bytes:
    if isinstance(secret, str) and secret.startswith(("env:", "file:")):
        from webhook_guard.keysources import resolve_one

        raw = resolve_one(secret, route="sign_request", what="signing secret")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return secret


def public_key(provider_name: str, private_key: str | bytes) -> str:
    """The public key a route of ``provider_name`` verifies ``private_key``'s signatures
    with, in the form the provider's console shows it (Discord: hex; Telnyx: Base64;
    SendGrid: Base64 DER; Standard Webhooks ``v1a``: ``whpk_``)."""
    from webhook_guard.providers import get

    row = get(provider_name)
    return str(row.family.public_key(row, _resolve(private_key)))


def generate_private_key(provider_name: str) -> str:
    """A new private key in the form ``sign_request`` takes for an asymmetric provider."""
    from webhook_guard.providers import get

    row = get(provider_name)
    return str(row.family.generate_private_key(row))


def timestamp_unit(provider_name: str, **options: Any) -> str:
    """The unit of the timestamp ``provider_name`` sends: ``"s"``, ``"ms"``,
    or ``"rfc3339"`` (``"s"`` also for providers that sign no timestamp). ``options`` are
    the route's provider options (``hmac`` and ``zoom`` take ``timestamp_unit="ms"``)."""
    from webhook_guard.providers import get

    row = get(provider_name)
    return str(row.family.unit_of(row, options))


def sign(
    provider: Scheme,
    body: bytes,
    *,
    secret: str | bytes,
    timestamp: float | None = None,
    **extra: Any,
) -> dict[str, str]:
    """The headers that make ``body`` verify on a route using ``provider``: those
    ``provider.sign(...)`` adds (``timestamp`` in seconds, default now)."""
    if timestamp is None:
        timestamp = time.time()
    return dict(provider.sign(body, secret=secret, timestamp=timestamp, **extra).headers)


class FrozenClock:
    """A clock for tests: returns ``now`` until moved with ``advance``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def build_wsgi_environ(
    path: str,
    *,
    body: bytes = b"",
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    query: str = "",
    chunked: bool = False,
) -> dict[str, Any]:
    """A PEP 3333 environ for ``path`` with ``body`` and ``headers``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


def asgi_receive(*chunks: bytes) -> Any:
    """An ASGI ``receive`` yielding ``chunks`` as ``http.request`` messages, then disconnect."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks or (b"",))
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    return receive


def build_asgi_scope(
    path: str,
    *,
    body: bytes = b"",
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    query: str = "",
    client: tuple[str, int] = ("127.0.0.1", 40000),
    server: tuple[str, int] = ("127.0.0.1", 80),
) -> dict[str, Any]:
    """An ASGI HTTP scope for ``path`` with ``headers`` and a ``content-length`` for ``body``."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw.append((b"content-length", str(len(body)).encode("ascii")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": raw,
        "client": client,
        "server": server,
    }


async def call_asgi(
    app: Any, scope: dict[str, Any], body: bytes = b"", *, timeout: float = 10.0
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run ``app`` on ``scope`` with ``body`` as one message, like a server: nothing more
    arrives until the response is complete. Returns status, headers and the whole body."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(timeout)  # the client stays until the answer is sent
        return {"type": "http.disconnect"}

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=timeout)
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return int(start["status"]), list(start.get("headers", [])), content


# -- posting a signed request through a framework's test client -----------------------------


def _target(signed: SignedRequest, path: str | None) -> str:
    if path is None:
        if not signed.url:
            raise ValueError("give the path to post to (the request was signed without url=)")
        return signed.url
    return f"{path}?{signed.query}" if signed.query else path


def post_werkzeug(client: Any, signed: SignedRequest, path: str | None = None) -> Any:
    """Send ``signed`` with Werkzeug's or Flask's test client; returns its response.

    ``path`` is where to send it; without it, ``signed.url`` (host and scheme included).
    """
    return client.open(
        _target(signed, path), method=signed.method, data=signed.body, headers=signed.headers
    )


def post_starlette(client: Any, signed: SignedRequest, path: str | None = None) -> Any:
    """Send ``signed`` with Starlette's or FastAPI's ``TestClient`` (or any httpx client)."""
    return client.request(
        signed.method, _target(signed, path), content=signed.body, headers=signed.headers
    )


def post_django(client: Any, signed: SignedRequest, path: str | None = None) -> Any:
    """Send ``signed`` with Django's test ``Client``; the ``Host`` and scheme of
    ``signed.url`` are used when ``path`` is not given."""
    target = _target(signed, path)
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-type"}
    content_type = next(
        (v for k, v in signed.headers.items() if k.lower() == "content-type"),
        "application/octet-stream",
    )
    parts = urlsplit(target)
    secure = False
    if parts.scheme:
        secure = parts.scheme == "https"
        headers.setdefault("Host", parts.netloc)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return client.generic(
        signed.method,
        target,
        data=signed.body,
        content_type=content_type,
        secure=secure,
        headers=headers,
    )


def post_signed(client: Any, signed: SignedRequest, path: str | None = None) -> Any:
    """Send ``signed`` with ``client``: Werkzeug/Flask's test client, Starlette/FastAPI's
    ``TestClient`` (or an httpx client) or Django's test ``Client``; returns its response.

    ``path`` is where to send it (``signed.query`` is added); without it, ``signed.url``.
    """
    modules = {cls.__module__.split(".", 1)[0] for cls in type(client).__mro__}
    if modules & {"werkzeug", "flask"}:
        return post_werkzeug(client, signed, path)
    if modules & {"starlette", "fastapi", "httpx"}:
        return post_starlette(client, signed, path)
    if "django" in modules:
        return post_django(client, signed, path)
    raise TypeError(
        f"post_signed: unsupported client {type(client).__name__} (use Werkzeug/Flask's test"
        " client, Starlette/FastAPI's TestClient or Django's Client)"
    )


def signature_fields(scheme: Scheme) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The header names and query parameters a provider's signed request carries (for API
    documentation); empty when they cannot be found (e.g. Mailgun signs inside the body)."""
    from urllib.parse import parse_qsl

    from webhook_guard.providers import REGISTRY

    secret: str = "webhook-guard-documentation"  # noqa: S105 - signs a dummy request
    row = REGISTRY.get(scheme.name)
    try:
        if row is not None and getattr(scheme, "asymmetric", False):
            secret = row.family.generate_private_key(row)
        signed = scheme.sign(
            b"" if scheme.needs_url else b"{}",
            secret=secret,
            timestamp=time.time(),
            url="https://example.invalid/webhook",
        )
    except Exception:  # a scheme this cannot sign without real credentials: document nothing
        return (), ()
    headers = tuple(h for h in signed.headers if h.lower() != "content-type")
    query = () if scheme.needs_url else tuple(k for k, _ in parse_qsl(signed.query))
    return headers, query
