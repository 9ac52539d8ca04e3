"""The public URL a provider called, for URL-signed schemes (Twilio, Square, Mandrill, ...).

A route's ``public_url`` wins. Otherwise the URL is rebuilt from what the server saw;
``X-Forwarded-Proto``/``X-Forwarded-Host`` are honoured only when the peer is a configured
trusted proxy, so a client cannot make a request captured for one endpoint verify on
another by forging those headers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from webhook_guard.core.request import Headers

__all__ = ("public_url", "server_host")


def public_url(
    *,
    configured: str | None,
    scheme: str,
    host: str,
    root_path: str,
    path: str,
    query: str,
    headers: Headers,
    peer: str | None,
    trusted: Collection[str],
) -> str:
    """The URL to verify: ``configured`` (plus the query), or a rebuilt one."""
    suffix = f"?{query}" if query else ""
    if configured is not None:
        return configured + suffix
    if peer is not None and peer in trusted:
        proto = headers.get("x-forwarded-proto")
        fwd_host = headers.get("x-forwarded-host")
        if proto:
            scheme = proto.split(",")[0].strip()
        if fwd_host:
            host = fwd_host.split(",")[0].strip()
    return f"{scheme}://{host}{root_path}{path}{suffix}"


def server_host(environ: Mapping[str, Any]) -> str:
    """``SERVER_NAME[:SERVER_PORT]`` from a WSGI environ (or Django's ``META``), for requests
    without a ``Host`` header; the port is left out when it is the scheme's default."""
    name, port = environ.get("SERVER_NAME", ""), str(environ.get("SERVER_PORT", ""))
    default = "443" if environ.get("wsgi.url_scheme") == "https" else "80"
    return name if port in ("", default) else f"{name}:{port}"
