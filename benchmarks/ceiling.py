"""The pure-Python ceiling: the guarded request's promised steps, inlined for one route.

Not a product path. ``inlined`` does, in one function with every value precomputed, what
the guard promises on a guarded WSGI request, for the benchmark's one GitHub route and
one key, so that ``python -m benchmarks`` shows how close plain Python can come:

1. look the path up (an exact route);
2. check the framing (``Content-Length`` only, plain digits, within the limit);
3. read exactly the declared body;
4. snapshot the headers (``dict(environ)``, as ``Headers.from_environ``);
5. check the signature header's shape, HMAC-SHA256 from precomputed pad states, compare
   in constant time;
6. derive the replay key (BLAKE2s of namespace and MAC) and claim it in a dict with a
   lease;
7. put a verdict tuple in the environ and hand the app a fresh ``wsgi.input``;
8. note the status the app chose and commit the claim on 2xx.

``inlined_no_replay`` stops after step 5 and skips 6 and 8: the flow with
``replay_store=None``.

Everything the guard also does and these skip: a route table with ``{param}`` patterns
and disguised-path refusals, schemes as objects (72 providers), key rotation and
refreshed key sources, ``Verdict`` as a class, hooks and logging, the store behind a
protocol (Redis), failures turned into 4xx/503 refusals, chunked bodies.
"""

from __future__ import annotations

import hashlib
import io
import time
from binascii import hexlify
from hashlib import blake2s
from hmac import compare_digest
from typing import Any

from benchmarks.common import GUARDED_PATH, SECRET_BYTES

_BLOCK = hashlib.sha256().block_size


def _pads(secret: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after the inner and outer padded key (RFC 2104; a key shorter
    than a block, as every benchmark secret is)."""
    key = secret.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(bytes(x ^ 0x36 for x in range(256))))
    return inner, hashlib.sha256(key.translate(bytes(x ^ 0x5C for x in range(256))))


_INNER, _OUTER = _pads(SECRET_BYTES)
_ROUTES = {GUARDED_PATH: 1024 * 1024}  # path -> body limit
_NAMESPACE = b"wg2\x00" + GUARDED_PATH.encode() + b"\x00"
_LEASE, _KEEP = 300.0, 86400.0
_REFUSED = [b'{"error":"refused"}']
_REFUSED_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "19")]


def _refuse(start_response: Any, status: str) -> list[bytes]:
    start_response(status, _REFUSED_HEADERS)
    return _REFUSED


def _verified(environ: Any, start_response: Any) -> tuple[bytes, bytes] | list[bytes]:
    """Steps 1 to 5: ``(body, mac)`` or the refusal."""
    limit = _ROUTES[environ.get("PATH_INFO", "")]
    declared = environ.get("CONTENT_LENGTH")
    if (
        environ.get("HTTP_TRANSFER_ENCODING") is not None
        or not declared
        or len(declared) > 18
        or not (declared.isascii() and declared.isdigit())
    ):
        return _refuse(start_response, "400 Bad Request")
    length = int(declared)
    if length > limit:
        return _refuse(start_response, "413 Content Too Large")
    body = environ["wsgi.input"].read(length)
    if len(body) != length:
        return _refuse(start_response, "400 Bad Request")
    headers = dict(environ)
    signature = headers.get("HTTP_X_HUB_SIGNATURE_256")
    if (
        signature is None
        or len(signature) != 71
        or not signature.startswith("sha256=")
        or not signature.isascii()
    ):
        return _refuse(start_response, "401 Unauthorized")
    inner = _INNER.copy()
    inner.update(body)
    outer = _OUTER.copy()
    outer.update(inner.digest())
    mac = b"sha256=" + hexlify(outer.digest())
    if not compare_digest(mac, signature.encode("ascii")):
        return _refuse(start_response, "401 Unauthorized")
    return body, mac


def inlined(app: Any) -> Any:
    """(g): steps 1 to 8 around ``app``."""
    entries: dict[str, tuple[float, bool, float]] = {}

    def guarded(environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") not in _ROUTES:
            return app(environ, start_response)
        checked = _verified(environ, start_response)
        if checked.__class__ is list:
            return checked
        body, mac = checked  # type: ignore[misc]
        key = blake2s(_NAMESPACE + mac, digest_size=20).hexdigest()
        now = time.monotonic()
        fresh = (now + _LEASE, False, now)
        if entries.setdefault(key, fresh) is not fresh:
            return _refuse(start_response, "409 Conflict")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["webhook_guard.verdict"] = (True, "verified", 200, "github", GUARDED_PATH, key)
        status = ""

        def noting(line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = line
            return start_response(line, headers, exc_info)

        result = app(environ, noting)
        if status[:1] == "2":
            entries[key] = (now + _KEEP, True, now)
        else:
            del entries[key]
        return result

    return guarded


def inlined_no_replay(app: Any) -> Any:
    """(h): steps 1 to 5 and 7 around ``app`` (no replay store)."""

    def guarded(environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") not in _ROUTES:
            return app(environ, start_response)
        checked = _verified(environ, start_response)
        if checked.__class__ is list:
            return checked
        body, _ = checked  # type: ignore[misc]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["webhook_guard.verdict"] = (True, "verified", 200, "github", GUARDED_PATH)
        return app(environ, start_response)

    return guarded


# -- verify only: one provider's check inlined (for ``benchmarks.verify_vs_sdk``) -------------

_HEX = "0123456789abcdef"


def stripe_inlined(secret: str) -> Any:
    """Stripe's check with our rules (one header, strict pairs, ``t`` once, at least one
    ``v1`` of 64 lowercase hex digits, the window both ways), inlined for one key."""
    inner_pad, outer_pad = _pads(secret.encode("utf-8"))

    def check(request: Any, now: float) -> bool:
        values = request.headers.getlist("Stripe-Signature")
        if len(values) != 1 or len(values[0]) > 4096:
            return False
        stamp, signatures = None, []
        for part in values[0].split(","):
            name, eq, item = part.partition("=")
            if name == "v1":
                if len(item) != 64 or item.strip(_HEX):
                    return False
                signatures.append(item)
            elif name == "t":
                if stamp is not None or not (item.isascii() and item.isdigit() and len(item) <= 16):
                    return False
                stamp = item
            elif not eq:
                return False
        if stamp is None or not signatures or not now - 300 <= int(stamp) <= now + 300:
            return False
        inner = inner_pad.copy()
        inner.update((stamp + ".").encode("ascii"))
        inner.update(request.body)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        expected = outer.digest().hex()
        found = False
        for signature in signatures:
            found |= compare_digest(expected, signature)
        return found

    return check


def slack_inlined(secret: str) -> Any:
    """Slack's check with our rules (one signature and one timestamp header, exact
    length and prefix, the window both ways), inlined for one key; no handshake."""
    inner_pad, outer_pad = _pads(secret.encode("utf-8"))

    def check(request: Any, now: float) -> bool:
        headers = request.headers
        values = headers.getlist("X-Slack-Signature")
        stamps = headers.getlist("X-Slack-Request-Timestamp")
        if len(values) != 1 or len(stamps) != 1:
            return False
        signature, stamp = values[0], stamps[0]
        if len(signature) != 67 or not signature.startswith("v0=") or not signature.isascii():
            return False
        if not stamp or len(stamp) > 16 or not (stamp.isascii() and stamp.isdigit()):
            return False
        if not now - 300 <= int(stamp) <= now + 300:
            return False
        inner = inner_pad.copy()
        inner.update(("v0:" + stamp + ":").encode("ascii"))
        inner.update(request.body)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return compare_digest(b"v0=" + hexlify(outer.digest()), signature.encode("ascii"))

    return check
