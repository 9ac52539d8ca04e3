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
import base64
import inspect
import io
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from webhook_guard.core.scheme import Scheme

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


@dataclass(frozen=True)
class SignedRequest:
    """One request as the provider sends it (an immutable record).

    :param headers: the headers to send, signature headers and ``Content-Type`` included.
    :param body: the bytes to send. The body given to ``sign_request`` unless the provider
        changes it: encrypted callbacks (WeCom, DingTalk events, Feishu) send ciphertext,
        Mailgun wraps the event with its signature.
    :param query: the query string to send (without ``?``): the signature of providers that
        sign in the query (WeCom, WeChat, DingTalk events), a query token, or the query of
        the signed URL.
    :param url: the URL the request was signed for (URL-signed providers), with ``query``;
        empty when no ``url=`` was given.
    :param method: the HTTP method the signature is for.
    """

    headers: dict[str, str]
    body: bytes
    query: str = ""
    url: str = ""
    method: str = "POST"

    @property
    def target(self) -> str:
        """``url`` when there is one, else ``"?" + query`` (or ``""``)."""
        if self.url:
            return self.url
        return f"?{self.query}" if self.query else ""


# -- the one signing interface (adapter over each provider's own sign methods) ---------------


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
      or to its signer (e.g. Twitch's ``message_id``, a ``nonce``); ``content_type``
      replaces the guessed ``Content-Type`` header.

    Example::

        signed = sign_request("github", b'{"zen": "hi"}', secret="s3cret")
        client.post("/hooks/github", data=signed.body, headers=signed.headers)
    """
    from webhook_guard.providers import get

    factory = get(provider_name)
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    now = time.time() if timestamp is None else float(timestamp)
    value = _resolve(secret)
    how = _HOW.get(provider_name, _DEFAULT)
    route_key, route_kw = how.route_key(provider_name, value)
    content_type = options.pop("content_type", None)
    scheme, signer, sign_options = _build(
        provider_name, factory, how.signer, {route_kw: route_key}, options
    )
    if scheme.needs_url and not url:
        raise ValueError(
            f"{provider_name}: sign_request() needs url=: the public URL the provider calls"
            " (the route's public_url, or the URL the test client requests)"
        )
    return how.wire(
        _Job(
            name=provider_name,
            scheme=scheme,
            signer=signer,
            body=data,
            secret=value,
            timestamp=now,
            url=url or "",
            options=sign_options,
            content_type=content_type,
        )
    )


class _Job(NamedTuple):
    name: str
    scheme: Scheme
    signer: Callable[..., Any]
    body: bytes
    secret: str | bytes
    timestamp: float
    url: str
    options: dict[str, Any]
    content_type: str | None


def _resolve(secret: str | bytes) -> str | bytes:
    if isinstance(secret, str) and secret.startswith(("env:", "file:")):
        from webhook_guard.keysources import resolve_one

        raw = resolve_one(secret, route="sign_request", what="signing secret")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return secret


def _keywords(fn: Callable[..., Any]) -> tuple[set[str], bool]:
    """The keyword parameters ``fn`` takes, and whether it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


#: Arguments ``sign_request`` passes itself; never taken from ``options``.
_OWN = frozenset({"body", "plaintext", "event_data", "secret", "timestamp", "url"})


def _build(
    name: str,
    factory: Callable[..., Scheme],
    signer_name: str,
    key: dict[str, Any],
    options: dict[str, Any],
) -> tuple[Scheme, Callable[..., Any], dict[str, Any]]:
    """The scheme and its signer, with ``options`` split between the factory and the signer."""
    taken, open_ended = _keywords(factory)
    for_factory = {k: v for k, v in options.items() if k in taken}
    rest = {k: v for k, v in options.items() if k not in taken}
    scheme = factory(**key, **for_factory)
    signer = getattr(scheme, signer_name)
    signs = _keywords(signer)[0] - _OWN
    for_signer = {k: v for k, v in rest.items() if k in signs}
    leftover = {k: v for k, v in rest.items() if k not in signs}
    if leftover:
        if not open_ended:
            raise TypeError(f"{name}: unknown option(s) {sorted(leftover)}")
        scheme = factory(**key, **for_factory, **leftover)
        signer = getattr(scheme, signer_name)
    return scheme, signer, for_signer


_FORM = "application/x-www-form-urlencoded"
_FORM_BODY = re.compile(rb"[A-Za-z0-9_.~%+*\-]+=[^\s]*")


def _content_type(body: bytes, *, url_signed: bool) -> str | None:
    if not body:
        return None
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        return "application/json"
    if head == b"<":
        return "text/xml"
    if url_signed or _FORM_BODY.fullmatch(body):
        return _FORM
    return "application/octet-stream"


def _join(url: str, query: str) -> str:
    if not url or not query:
        return url
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def _headers_wire(job: _Job) -> SignedRequest:
    """Providers that sign into headers (most), URL-signed ones and query tokens."""
    scheme, options = job.scheme, dict(job.options)
    accepted = _keywords(job.signer)[0]
    content_type = job.content_type or _content_type(job.body, url_signed=scheme.needs_url)
    if "content_type" in accepted:
        options.setdefault("content_type", content_type)
    if "message_id" in accepted and getattr(scheme, "id_header", None):
        options.setdefault("message_id", "msg_" + secrets.token_hex(12))
    if "url" in accepted and job.url:
        options["url"] = job.url
    signed = job.signer(job.body, secret=job.secret, timestamp=job.timestamp, **options)
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(options.get("headers") or {})  # extra headers an HMAC template signs
    headers.update(signed)
    query = str(options.get("query", ""))
    if getattr(scheme, "query", None) and hasattr(scheme, "query_param"):
        secret = job.secret.decode() if isinstance(job.secret, bytes) else job.secret
        query = scheme.query_param(secret)  # a token carried in the query
    if scheme.needs_url:
        query = urlsplit(job.url).query
        url = job.url
    else:
        url = _join(job.url, query)
    return SignedRequest(
        headers=headers,
        body=job.body,
        query=query,
        url=url,
        method=str(options.get("method", "POST")),
    )


def _query_wire(job: _Job) -> SignedRequest:
    """Tencent-style callbacks (WeCom, WeChat, DingTalk events): the signature is in the
    query and, in encrypted mode, the body is the ciphertext envelope."""
    query, wire = job.signer(job.body, secret=job.secret, timestamp=job.timestamp, **job.options)
    content_type = job.content_type or _content_type(wire, url_signed=False)
    return SignedRequest(
        headers={"Content-Type": content_type} if content_type else {},
        body=wire,
        query=query,
        url=_join(job.url, query),
    )


def _feishu_wire(job: _Job) -> SignedRequest:
    """Feishu/Lark: the event is encrypted with the Encrypt Key, then the envelope signed.
    In token mode (no Encrypt Key) nothing is signed: the event carries the token."""
    from webhook_guard.providers.encrypted import feishu_encrypt

    scheme = job.scheme
    wire, headers = job.body, {}
    if getattr(scheme, "encrypted", True):
        wire = json.dumps({"encrypt": feishu_encrypt(job.secret, job.body)}).encode("ascii")
        headers = job.signer(wire, secret=job.secret, timestamp=job.timestamp, **job.options)
    return SignedRequest(
        headers={"Content-Type": job.content_type or "application/json", **headers},
        body=wire,
        url=job.url,
    )


def _mailgun_wire(job: _Job) -> SignedRequest:
    """Mailgun signs inside the body: the JSON event is wrapped as ``event-data``."""
    try:
        event = json.loads(job.body) if job.body.strip() else {}
    except ValueError:
        raise ValueError("mailgun: the body must be the JSON event data") from None
    options = dict(job.options)
    options.setdefault("token", secrets.token_hex(25))
    wire = job.signer(event, secret=job.secret, timestamp=job.timestamp, **options)
    return SignedRequest(
        headers={"Content-Type": job.content_type or "application/json"},
        body=wire,
        url=job.url,
    )


# -- asymmetric providers: the route verifies with the public key of the signing key -------


def _same_key(name: str, secret: str | bytes) -> tuple[Any, str]:
    return secret, "secret"


def _text(value: str | bytes) -> str:
    return (value.decode("utf-8") if isinstance(value, bytes) else value).strip()


def _ed25519(seed: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if len(seed) != 32:
        raise ValueError(f"an Ed25519 private key is a 32-byte seed, not {len(seed)} bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _discord_public(private: str | bytes) -> str:
    try:
        seed = bytes.fromhex(_text(private))
    except ValueError:
        raise ValueError("discord: the private key is the hex 32-byte Ed25519 seed") from None
    return str(_ed25519(seed).public_key().public_bytes_raw().hex())


def _telnyx_public(private: str | bytes) -> str:
    try:
        seed = base64.b64decode(_text(private), validate=True)
    except ValueError:
        raise ValueError("telnyx: the private key is the Base64 32-byte Ed25519 seed") from None
    return base64.b64encode(_ed25519(seed).public_key().public_bytes_raw()).decode("ascii")


def _sendgrid_public(private: str | bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    text = _text(private)
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    except ValueError:
        raise ValueError(
            "sendgrid: the private key is a P-256 key in PEM or Base64 DER (PKCS#8)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("sendgrid: the private key is not an EC (P-256) key")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _whsk_public(private: str | bytes) -> str:
    text = _text(private).removeprefix("whsk_")
    try:
        seed = base64.b64decode(text, validate=True)[:32]
    except ValueError:
        raise ValueError("standard_webhooks: a whsk_ key is whsk_ + Base64 of the seed") from None
    raw = _ed25519(seed).public_key().public_bytes_raw()
    return "whpk_" + base64.b64encode(raw).decode("ascii")


_PUBLIC: dict[str, Callable[[str | bytes], str]] = {
    "discord": _discord_public,
    "telnyx": _telnyx_public,
    "sendgrid": _sendgrid_public,
    "standard_webhooks": _whsk_public,
}


def _public_key(name: str, secret: str | bytes) -> tuple[Any, str]:
    if name == "standard_webhooks" and not _text(secret).startswith("whsk_"):
        return secret, "secret"  # v1 (HMAC): the whsec_ secret on both sides
    return _PUBLIC[name](secret), "public_key" if name == "standard_webhooks" else "secret"


def public_key(provider_name: str, private_key: str | bytes) -> str:
    """The public key a route of ``provider_name`` verifies ``private_key``'s signatures
    with, in the form the provider's console shows it (Discord: hex; Telnyx: Base64;
    SendGrid: Base64 DER; Standard Webhooks ``v1a``: ``whpk_``)."""
    if provider_name not in _PUBLIC:
        raise ValueError(f"{provider_name} signs with a shared secret, not a key pair")
    if provider_name == "standard_webhooks" and not _text(private_key).startswith("whsk_"):
        raise ValueError("standard_webhooks: a v1a private key starts with whsk_")
    return _PUBLIC[provider_name](_resolve(private_key))


def generate_private_key(provider_name: str) -> str:
    """A new private key in the form ``sign_request`` takes for an asymmetric provider."""
    if provider_name == "sendgrid":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
    seed = secrets.token_bytes(32)
    if provider_name == "discord":
        return seed.hex()
    if provider_name == "telnyx":
        return base64.b64encode(seed).decode("ascii")
    if provider_name == "standard_webhooks":
        return "whsk_" + base64.b64encode(seed).decode("ascii")
    raise ValueError(f"{provider_name} signs with a shared secret, not a key pair")


class _How(NamedTuple):
    """How one provider signs: its signer method, how it puts the signature on the wire,
    what the route is configured with, and the unit of the timestamp it sends."""

    signer: str = "sign"
    wire: Callable[[_Job], SignedRequest] = _headers_wire
    route_key: Callable[[str, str | bytes], tuple[Any, str]] = _same_key
    unit: str = "s"


_DEFAULT = _How()
_TENCENT = _How("sign_request", _query_wire)
_FEISHU = _How("sign", _feishu_wire, unit="s")
_ASYMMETRIC = _How(route_key=_public_key)

#: Every provider that does not sign like ``_DEFAULT`` (headers from ``sign()``, seconds).
#: This is the per-provider knowledge of the signing interface (see issue #13).
_HOW: dict[str, _How] = {
    "dingtalk": _How(unit="ms"),
    "dingtalk_events": _TENCENT._replace(unit="ms"),
    "wecom": _TENCENT,
    "wechat": _TENCENT,
    "feishu": _FEISHU,
    "lark": _FEISHU,
    "mailgun": _How("signed_body", _mailgun_wire),
    "discord": _ASYMMETRIC,
    "telnyx": _ASYMMETRIC,
    "sendgrid": _ASYMMETRIC,
    "standard_webhooks": _ASYMMETRIC,
    "hubspot": _How(unit="ms"),
    "linear": _How(unit="ms"),  # the signed webhookTimestamp body field
    "twitch": _How(unit="rfc3339"),
    "zendesk": _How(unit="rfc3339"),
    "box": _How(unit="rfc3339"),
}


def timestamp_unit(provider_name: str, **options: Any) -> str:
    """The unit of the timestamp ``provider_name`` sends: ``"s"``, ``"ms"``,
    or ``"rfc3339"`` (``"s"`` also for providers that sign no timestamp). ``options`` are
    the route's provider options (``hmac`` and ``zoom`` take ``timestamp_unit="ms"``)."""
    from webhook_guard.providers import get

    get(provider_name)  # unknown names raise
    if options.get("timestamp_unit") == "ms":
        return "ms"
    return _HOW.get(provider_name, _DEFAULT).unit


def sign(
    provider: Scheme,
    body: bytes,
    *,
    secret: str | bytes,
    timestamp: float | None = None,
    **extra: Any,
) -> dict[str, str]:
    """Headers that make ``body`` verify on a route using ``provider``.

    ``timestamp`` (seconds) defaults to now for schemes that sign one.
    """
    if timestamp is None:
        timestamp = time.time()
    return provider.sign(body, secret=secret, timestamp=timestamp, **extra)


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

    name = scheme.name
    how = _HOW.get(name, _DEFAULT)
    secret = "webhook-guard-documentation"  # noqa: S105 - signs a dummy request
    try:
        if name in _PUBLIC and (
            name != "standard_webhooks" or getattr(scheme, "asymmetric", False)
        ):
            secret = generate_private_key(name)
        signed = how.wire(
            _Job(
                name=name,
                scheme=scheme,
                signer=getattr(scheme, how.signer),
                body=b"" if scheme.needs_url else b"{}",
                secret=secret,
                timestamp=time.time(),
                url="https://example.invalid/webhook",
                options={},
                content_type=None,
            )
        )
    except Exception:  # a scheme this cannot sign without real credentials: document nothing
        return (), ()
    headers = tuple(h for h in signed.headers if h.lower() != "content-type")
    query = () if scheme.needs_url else tuple(k for k, _ in parse_qsl(signed.query))
    return headers, query
