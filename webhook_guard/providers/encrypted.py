"""Encrypted callbacks: DingTalk event subscription, WeCom, WeChat Official Accounts, Feishu/Lark.

Tencent style (``dingtalk_events``, ``wecom``, ``wechat`` safe mode):

- signature = hex(SHA1(join(sorted([token, timestamp, nonce, encrypt])))) in the query;
- payload: AES-256-CBC, key = Base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 with a
  32-byte block; plaintext = 16 random bytes | 4-byte big-endian length | message | receive id;
- the receive id (DingTalk owner key, WeCom CorpID, WeChat AppID) must equal the configured one.

Feishu/Lark: ``X-Lark-Signature = hex(SHA256(timestamp + nonce + encrypt_key + body))`` and
``{"encrypt": ...}`` decrypted with AES-256-CBC, key = SHA256(encrypt_key), IV = the first 16
bytes of the decoded ciphertext, PKCS#7 (16-byte block).

Common rules:

- ``secret=`` is the signing credential (the callback token; Feishu: the Encrypt Key); the
  other credentials are keyword options taking a literal, ``env:NAME`` or ``file:/path``
  and are read when the factory is called (a missing variable is a start-up error);
- the signature is checked **before** anything is decrypted; every decryption failure
  (Base64, block size, padding, length prefix, receive id, UTF-8) is one reason,
  ``BAD_SIGNATURE``, so there is no padding oracle; a malformed envelope (XML/JSON) is
  ``BAD_REQUEST``; ``check`` never raises;
- XML envelopes are size-bounded and any ``<!`` other than ``<![CDATA[`` (DOCTYPE, ENTITY)
  is refused before parsing, so entity-expansion bombs never reach the parser;
- the decrypted message goes to ``verdict.details["plaintext"]`` (a ``str``); the raw body
  reaches the app untouched;
- no provider documents a timestamp window; none is enforced unless ``window=`` is set.
  The replay key is the verified signature (which covers timestamp, nonce and ciphertext),
  kept for the route's replay TTL;
- handshakes the provider signs are answered by the guard after verification (DingTalk
  ``check_url``: the encrypted ``success`` map; WeCom/WeChat GET ``echostr``).

The ``crypto`` extra (``cryptography``) is needed for the encrypted schemes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import string
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from webhook_guard.core.keys import KeySet, Secret, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import (
    MAX_HEADER_LENGTH,
    Check,
    Response,
    Scheme,
    SecretSpec,
    check_window,
    parse_timestamp,
    single_header,
    validate_window,
)
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError, MissingExtraError

__all__ = (
    "FACTORIES",
    "DingTalkEvents",
    "Feishu",
    "TencentCipher",
    "WeChat",
    "WeCom",
    "dingtalk_events",
    "dingtalk_reply",
    "feishu",
    "lark",
    "tencent_reply_xml",
    "tencent_signature",
    "wechat",
    "wecom",
)

#: Largest envelope (XML or JSON) parsed before the signature is known to be valid.
MAX_ENVELOPE = 4 * 1024 * 1024
_MAX_XML_CHILDREN = 64
_JSON_TYPE = (("Content-Type", "application/json"),)
_TEXT_TYPE = (("Content-Type", "text/plain; charset=utf-8"),)
_NONCE_ALPHABET = string.ascii_letters + string.digits


# -- primitives ---------------------------------------------------------------------------


def _require_crypto() -> None:
    try:
        import cryptography.hazmat.primitives.ciphers  # noqa: F401
    except ImportError:  # pragma: no cover - cryptography is a test dependency
        raise MissingExtraError("crypto", "cryptography") from None


def _aes_cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def _unpad(data: bytes, block: int) -> bytes | None:
    if not data:
        return None
    n = data[-1]
    if not 1 <= n <= block or len(data) < n or data[-n:] != bytes([n]) * n:
        return None
    return data[:-n]


def _b64_strict(text: str, limit: int = MAX_ENVELOPE) -> bytes | None:
    if not text or len(text) > limit or not text.isascii():
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def tencent_signature(token: str | bytes, timestamp: str, nonce: str, *parts: str) -> str:
    """hex(SHA1(join(sorted([token, timestamp, nonce, *parts])))) (Tencent/DingTalk)."""
    items = [token.encode("utf-8") if isinstance(token, str) else token]
    items += [p.encode("utf-8") for p in (timestamp, nonce, *parts)]
    return hashlib.sha1(b"".join(sorted(items))).hexdigest()  # noqa: S324 - the protocol's hash


def _decode_aes_key(text: str | bytes, *, what: str) -> bytes:
    raw = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    raw = raw.strip()
    key = _b64_strict(raw + "=") if len(raw) == 43 else None
    if key is None or len(key) != 32:
        raise ConfigurationError(
            f"{what}: the EncodingAESKey must be 43 Base64 characters (32 bytes)",
            code="webhook_guard.E002",
        )
    return key


class TencentCipher:
    """WXBizMsgCrypt / DingCallbackCrypto payload encryption with one receive id."""

    __slots__ = ("_key", "receive_id")

    def __init__(self, key: bytes, receive_id: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the AES key must be 32 bytes")
        self._key = key
        self.receive_id = receive_id

    @classmethod
    def from_encoding_aes_key(cls, encoding_aes_key: str, receive_id: str | bytes) -> TencentCipher:
        rid = receive_id.encode("utf-8") if isinstance(receive_id, str) else receive_id
        return cls(_decode_aes_key(encoding_aes_key, what="TencentCipher"), rid)

    def encrypt(self, message: bytes, *, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``message`` (length prefix computed on bytes)."""
        prefix = os.urandom(16) if random16 is None else random16
        plain = prefix + len(message).to_bytes(4, "big") + message + self.receive_id
        data = _aes_cbc(self._key, self._key[:16], _pad(plain, 32), encrypt=True)
        return base64.b64encode(data).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes | None:
        """The message, or None for any failure (encoding, padding, length, receive id)."""
        data = _b64_strict(encrypted)
        if data is None or not data or len(data) % 16:
            return None
        try:
            plain = _unpad(_aes_cbc(self._key, self._key[:16], data, encrypt=False), 32)
        except Exception:
            return None
        if plain is None or len(plain) < 20:
            return None
        size = int.from_bytes(plain[16:20], "big")
        if 20 + size > len(plain):
            return None
        message, rid = plain[20 : 20 + size], plain[20 + size :]
        if not hmac.compare_digest(rid, self.receive_id):
            return None
        return message


def _nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(8))


def _credential(ref: Any, *, scheme: str, what: str) -> bytes:
    """Resolve an extra credential (literal, ``env:``, ``file:``) now."""
    from webhook_guard.keysources import resolve_one

    if ref is None:
        raise ConfigurationError(f"{scheme}: {what}= is required", code="webhook_guard.E003")
    if not isinstance(ref, (str, bytes)):
        raise ConfigurationError(
            f"{scheme}: {what}= must be a literal, env: or file: reference",
            code="webhook_guard.E002",
        )
    return resolve_one(ref, route=scheme, what=what)


def _query_one(request: WebhookRequest, *names: str) -> tuple[str | None, bool]:
    """The one value of a query parameter sent under any of ``names`` (aliases)."""
    if not request.query:
        return None, True
    values = [v for name in names for v in request.query_values(name)]
    if not values:
        return None, True
    if len(values) > 1 or len(values[0]) > MAX_HEADER_LENGTH:
        return values[0], False
    return values[0], True


class _BadEnvelope(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _BadEnvelope(f"duplicate key {key!r}")
        out[key] = value
    return out


def _json_object(body: bytes | str) -> dict[str, Any] | None:
    """A JSON object with unique keys, or None."""
    if len(body) > MAX_ENVELOPE:
        return None
    try:
        data = json.loads(body, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _json_encrypt(body: bytes, field: str = "encrypt") -> str | None:
    data = _json_object(body)
    if data is None:
        return None
    value = data.get(field)
    return value if isinstance(value, str) and value else None


def _xml_fields(body: bytes) -> dict[str, str] | None:
    """The text of the direct children of ``<xml>``; None for anything unsafe or malformed."""
    if not body or len(body) > MAX_ENVELOPE:
        return None
    if b"<!" in body.replace(b"<![CDATA[", b""):
        return None  # DOCTYPE / ENTITY / comments: refused before parsing
    try:
        parser = ET.XMLParser()  # noqa: S314 - no DTD reaches it (refused above)
        parser.feed(body)
        root = parser.close()
    except (ET.ParseError, ValueError, RecursionError):
        return None
    if root.tag != "xml" or len(root) > _MAX_XML_CHILDREN:
        return None
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields or len(child):
            return None  # repeated or nested: not the envelope grammar
        fields[child.tag] = child.text or ""
    return fields


def tencent_reply_xml(
    cipher: TencentCipher,
    token: str | bytes,
    message: str | bytes,
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> str:
    """An encrypted passive reply (WeCom / WeChat safe mode):
    ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
    import time

    data = message.encode("utf-8") if isinstance(message, str) else message
    ts = timestamp if timestamp is not None else str(int(time.time()))
    nc = nonce if nonce is not None else _nonce()
    encrypted = cipher.encrypt(data)
    sig = tencent_signature(token, ts, nc, encrypted)
    return (
        f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
        f"<TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nc}]]></Nonce></xml>"
    )


# -- Tencent-style base ---------------------------------------------------------------------


class _OptionalWindow(Scheme):
    """A scheme whose timestamp window is optional: ``window=None`` checks no freshness and
    the route's replay TTL applies; otherwise ``future_window`` defaults to ``window``."""

    def __init__(
        self, *, secret: SecretSpec, window: float | None, future_window: float | None
    ) -> None:
        super().__init__(secret=secret)
        self.window = None if window is None else float(window)
        self.future_window = (
            None
            if self.window is None
            else float(self.window if future_window is None else future_window)
        )
        self.validate()

    def validate(self) -> None:
        if self.window is not None:
            validate_window(self.name, self.window, self.future_window)

    def replay_ttl(self) -> float | None:
        if self.window is None or self.future_window is None:
            return None  # the route's replay TTL applies
        return self.window + self.future_window


class _Tencent(_OptionalWindow):
    """Shared query parsing, signature and decryption for DingTalk events, WeCom and WeChat."""

    body_signed = False  # the signature covers the ciphertext, not the envelope around it
    signature_params: tuple[str, ...] = ("msg_signature",)
    timestamp_params: tuple[str, ...] = ("timestamp",)
    #: Timestamp unit in the query (1 = seconds, 1000 = milliseconds).
    unit = 1

    def __init__(
        self,
        *,
        secret: SecretSpec,
        cipher: TencentCipher | None,
        window: float | None,
        future_window: float | None,
    ) -> None:
        self._cipher = cipher
        super().__init__(secret=secret, window=window, future_window=future_window)

    def _timestamp(self, request: WebhookRequest) -> tuple[str | None, int | None, Reason | None]:
        raw, ok = _query_one(request, *self.timestamp_params)
        if raw is None:
            return None, None, Reason.MISSING_TIMESTAMP
        value = parse_timestamp(raw) if ok else None
        if value is None:
            return raw, None, Reason.MALFORMED_TIMESTAMP
        return raw, value, None

    def _signed_query(
        self, request: WebhookRequest, now: float, params: tuple[str, ...]
    ) -> tuple[str, str, str, int] | Reason:
        """(signature, timestamp, nonce, timestamp value) from the query, or why not."""
        signature, sig_ok = _query_one(request, *params)
        if signature is None:
            return Reason.MISSING_SIGNATURE
        if not sig_ok or len(signature) != 40:
            return Reason.MALFORMED_SIGNATURE
        raw_ts, ts, problem = self._timestamp(request)
        if problem is not None or raw_ts is None or ts is None:
            return problem or Reason.MALFORMED_TIMESTAMP
        if self.window is not None and self.future_window is not None:
            late = check_window(ts / self.unit, now, self.window, self.future_window)
            if late is not None:
                return late
        nonce, nonce_ok = _query_one(request, "nonce")
        if nonce is None or not nonce_ok:
            return Reason.MALFORMED_SIGNATURE
        return signature, raw_ts, nonce, ts

    @staticmethod
    def _match(
        keys: KeySet, signature: str, timestamp: str, nonce: str, *parts: str
    ) -> tuple[Secret, str] | None:
        """The matching key and the message's identity: the signature under the first
        key, whichever key matches (a copy signed with another key is the same message)."""
        identity = None
        for key in keys:
            expected = tencent_signature(key.value, timestamp, nonce, *parts)
            if identity is None:
                identity = expected
            if compare(expected.encode("ascii"), signature):
                return key, identity
        return None

    def _decrypt(self, encrypted: str) -> str | None:
        if self._cipher is None:
            return None
        message = self._cipher.decrypt(encrypted)
        if message is None:
            return None
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def _verify_encrypted(
        self,
        request: WebhookRequest,
        keys: KeySet,
        now: float,
        encrypted: str,
        params: tuple[str, ...] | None = None,
    ) -> tuple[Check, str, Secret] | Check:
        """Signature over [token, ts, nonce, encrypted], then decryption."""
        found = self._signed_query(request, now, params or self.signature_params)
        if isinstance(found, Reason):
            return Check(found)
        signature, raw_ts, nonce, ts = found
        matched = self._match(keys, signature, raw_ts, nonce, encrypted)
        if matched is None:
            return Check(Reason.BAD_SIGNATURE)
        key, expected = matched
        plaintext = self._decrypt(encrypted)
        if plaintext is None:
            return Check(Reason.BAD_SIGNATURE)
        check = Check(
            Reason.VERIFIED,
            key_id=key.key_id,
            replay_material=expected.encode("ascii"),
            timestamp=ts,
            details={"plaintext": plaintext},
        )
        return check, plaintext, key

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """Not available: these signatures travel in the query string and cover the
        ciphertext; use ``sign_request(plaintext, secret=..., timestamp=...)``."""
        raise ValueError(f"{self.name}: the signature is in the query; use sign_request()")


# -- DingTalk event subscription ---------------------------------------------------------------


def dingtalk_reply(
    *,
    token: str | bytes,
    aes_key: str,
    owner_key: str | bytes,
    message: str | bytes = "success",
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The encrypted reply map DingTalk expects: ``{msg_signature, timeStamp, nonce, encrypt}``.

    Every verified DingTalk event also carries this map for ``"success"`` in
    ``verdict.details["reply"]``, so the app can answer without the credentials.
    """
    import time

    cipher = TencentCipher.from_encoding_aes_key(aes_key, owner_key)
    return _dingtalk_reply(cipher, token, message, timestamp_ms or int(time.time() * 1000), nonce)


def _dingtalk_reply(
    cipher: TencentCipher,
    token: str | bytes,
    message: str | bytes,
    timestamp_ms: int,
    nonce: str | None,
) -> dict[str, str]:
    data = message.encode("utf-8") if isinstance(message, str) else message
    ts = str(timestamp_ms)
    nc = nonce if nonce is not None else _nonce()
    encrypted = cipher.encrypt(data)
    return {
        "msg_signature": tencent_signature(token, ts, nc, encrypted),
        "timeStamp": ts,
        "nonce": nc,
        "encrypt": encrypted,
    }


class DingTalkEvents(_Tencent):
    """DingTalk event subscription, HTTP push mode (see ``dingtalk_events``)."""

    name = "dingtalk_events"
    signature_params = ("signature", "msg_signature")
    timestamp_params = ("timestamp", "timeStamp")
    unit = 1000

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if _query_one(request, *self.signature_params)[0] is None:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _json_encrypt(request.body)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)
        result = self._verify_encrypted(request, keys, now, encrypted)
        if isinstance(result, Check):
            return result
        check, plaintext, key = result
        assert self._cipher is not None
        reply = _dingtalk_reply(self._cipher, key.value, "success", int(now * 1000), None)
        event = _json_object(plaintext)
        details = {"plaintext": plaintext, "reply": reply}
        if event is not None and event.get("EventType") == "check_url":
            body = json.dumps(reply, separators=(",", ":")).encode("ascii")
            return Check(
                Reason.VERIFIED,
                key_id=check.key_id,
                timestamp=check.timestamp,
                details={**details, "handshake": "check_url"},
                response=(200, _JSON_TYPE, body),
            )
        return Check(
            Reason.VERIFIED,
            key_id=check.key_id,
            replay_material=check.replay_material,
            timestamp=check.timestamp,
            details=details,
        )

    def sign_request(
        self,
        plaintext: str | bytes,
        *,
        secret: str | bytes,
        timestamp: float,
        nonce: str = "nonce123",
    ) -> tuple[str, bytes]:
        """(query string, JSON body) of a genuine push of ``plaintext`` (tests, CLI)."""
        from urllib.parse import urlencode

        assert self._cipher is not None
        reply = _dingtalk_reply(self._cipher, secret, plaintext, int(timestamp * 1000), nonce)
        query = urlencode(
            {"signature": reply["msg_signature"], "timestamp": reply["timeStamp"], "nonce": nonce}
        )
        return query, json.dumps({"encrypt": reply["encrypt"]}).encode("ascii")


def dingtalk_events(
    *,
    secret: SecretSpec,
    aes_key: str | bytes,
    owner_key: str | bytes,
    window: float | None = None,
    future_window: float | None = None,
) -> DingTalkEvents:
    """DingTalk event subscription (HTTP push): query ``signature`` (or ``msg_signature``),
    ``timestamp`` (or ``timeStamp``, milliseconds) and ``nonce``; JSON body ``{"encrypt": ...}``.

    :param secret: the callback token(s) you chose in the DingTalk console.
    :param aes_key: the 43-character EncodingAESKey (literal, ``env:`` or ``file:``).
    :param owner_key: the receive id the plaintext must end with: the app's AppKey for
        internal apps, the CorpId for API-registered callbacks, the SuiteKey for ISV apps.
    :param window: optional seconds a timestamp may be old (DingTalk documents none).
    :param future_window: seconds it may be ahead (default: ``window``).

    The decrypted event is in ``verdict.details["plaintext"]`` and the encrypted
    ``"success"`` reply map in ``verdict.details["reply"]`` (return it as JSON). The
    ``check_url`` event is answered by the guard itself.
    """
    _require_crypto()
    key = _decode_aes_key(
        _credential(aes_key, scheme="dingtalk_events", what="aes_key"), what="dingtalk_events"
    )
    owner = _credential(owner_key, scheme="dingtalk_events", what="owner_key")
    return DingTalkEvents(
        secret=secret,
        cipher=TencentCipher(key, owner),
        window=window,
        future_window=future_window,
    )


# -- WeCom ----------------------------------------------------------------------------------


class WeCom(_Tencent):
    """WeCom (企业微信) callbacks: GET echostr verification and encrypted POSTs."""

    name = "wecom"

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        echostr, echo_ok = _query_one(request, "echostr")
        if request.method in ("GET", "HEAD") and echostr is not None:
            if not echo_ok:
                return Check(Reason.BAD_REQUEST)
            result = self._verify_encrypted(request, keys, now, echostr)
            if isinstance(result, Check):
                return result
            check, plaintext, _ = result
            return Check(
                Reason.VERIFIED,
                key_id=check.key_id,
                timestamp=check.timestamp,
                details={"plaintext": plaintext, "handshake": "echostr"},
                response=(200, _TEXT_TYPE, plaintext.encode("utf-8")),
            )
        if _query_one(request, *self.signature_params)[0] is None:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _envelope_encrypt(request.body)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)
        result = self._verify_encrypted(request, keys, now, encrypted)
        return result if isinstance(result, Check) else result[0]

    def sign_request(
        self,
        plaintext: str | bytes,
        *,
        secret: str | bytes,
        timestamp: float,
        nonce: str = "nonce123",
        to_user: str = "",
        agent_id: str = "",
    ) -> tuple[str, bytes]:
        """(query string, XML body) of a genuine encrypted POST (tests, CLI)."""
        from urllib.parse import urlencode

        assert self._cipher is not None
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        encrypted = self._cipher.encrypt(data)
        ts = str(int(timestamp))
        sig = tencent_signature(secret, ts, nonce, encrypted)
        body = (
            f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
        ).encode()
        return urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce}), body

    def reply_xml(self, token: str | bytes, message: str | bytes, **kw: Any) -> str:
        """An encrypted passive reply (see ``tencent_reply_xml``)."""
        assert self._cipher is not None
        return tencent_reply_xml(self._cipher, token, message, **kw)


def _envelope_encrypt(body: bytes) -> str | None:
    """``<Encrypt>`` of an XML envelope, or ``encrypt`` of a JSON one."""
    head = body.lstrip()[:1]
    if head == b"{":
        data = _json_object(body)
        if data is None:
            return None
        value = data.get("encrypt", data.get("Encrypt"))
        if "encrypt" in data and "Encrypt" in data:
            return None
        return value if isinstance(value, str) and value else None
    fields = _xml_fields(body)
    if fields is None:
        return None
    return fields.get("Encrypt") or None


def wecom(
    *,
    secret: SecretSpec,
    aes_key: str | bytes,
    corp_id: str | bytes,
    window: float | None = None,
    future_window: float | None = None,
) -> WeCom:
    """WeCom (企业微信) callbacks: query ``msg_signature``, ``timestamp`` (s), ``nonce``.

    GET with ``echostr`` (URL verification): signature over the echostr, which is decrypted
    and answered as plain text by the guard. POST: XML ``<Encrypt>`` (or JSON ``encrypt``),
    decrypted into ``verdict.details["plaintext"]``.

    :param secret: the callback Token(s).
    :param aes_key: the 43-character EncodingAESKey (literal, ``env:`` or ``file:``).
    :param corp_id: the receive id: CorpID (or SuiteID / app id for third-party flows).
    :param window: optional seconds a timestamp may be old (WeCom documents none).
    """
    _require_crypto()
    key = _decode_aes_key(_credential(aes_key, scheme="wecom", what="aes_key"), what="wecom")
    rid = _credential(corp_id, scheme="wecom", what="corp_id")
    return WeCom(
        secret=secret, cipher=TencentCipher(key, rid), window=window, future_window=future_window
    )


# -- WeChat Official Accounts ------------------------------------------------------------------


class WeChat(_Tencent):
    """WeChat Official Account server callbacks (plain or safe mode)."""

    name = "wechat"

    def __init__(
        self,
        *,
        secret: SecretSpec,
        cipher: TencentCipher | None,
        window: float | None,
        future_window: float | None,
    ) -> None:
        super().__init__(secret=secret, cipher=cipher, window=window, future_window=future_window)
        self.mode = "plain" if cipher is None else "safe"
        # Plain mode signs only (token, timestamp, nonce): the body is not covered.
        self.body_signed = False

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        echostr, echo_ok = _query_one(request, "echostr")
        if request.method in ("GET", "HEAD") and echostr is not None:
            # URL verification is always plain: signature over (token, timestamp, nonce).
            if not echo_ok:
                return Check(Reason.BAD_REQUEST)
            found = self._signed_query(request, now, ("signature",))
            if isinstance(found, Reason):
                return Check(found)
            signature, raw_ts, nonce, ts = found
            matched = self._match(keys, signature, raw_ts, nonce)
            if matched is None:
                return Check(Reason.BAD_SIGNATURE)
            return Check(
                Reason.VERIFIED,
                key_id=matched[0].key_id,
                timestamp=ts,
                details={"handshake": "echostr"},
                response=(200, _TEXT_TYPE, echostr.encode("utf-8")),
            )
        if self._cipher is None:
            found = self._signed_query(request, now, ("signature",))
            if isinstance(found, Reason):
                return Check(found)
            signature, raw_ts, nonce, ts = found
            matched = self._match(keys, signature, raw_ts, nonce)
            if matched is None:
                return Check(Reason.BAD_SIGNATURE)
            return Check(
                Reason.VERIFIED,
                key_id=matched[0].key_id,
                replay_material=matched[1].encode("ascii"),
                timestamp=ts,
            )
        # Safe mode: msg_signature over the ciphertext is required (no plain-mode downgrade).
        if _query_one(request, "msg_signature")[0] is None:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _envelope_encrypt(request.body)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)
        result = self._verify_encrypted(request, keys, now, encrypted, ("msg_signature",))
        return result if isinstance(result, Check) else result[0]

    def sign_request(
        self,
        plaintext: str | bytes,
        *,
        secret: str | bytes,
        timestamp: float,
        nonce: str = "nonce123",
    ) -> tuple[str, bytes]:
        """(query string, body) of a genuine POST: plain mode sends ``plaintext`` as is."""
        from urllib.parse import urlencode

        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        ts = str(int(timestamp))
        query = {
            "signature": tencent_signature(secret, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
        }
        if self._cipher is None:
            return urlencode(query), data
        encrypted = self._cipher.encrypt(data)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = tencent_signature(secret, ts, nonce, encrypted)
        body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return urlencode(query), body.encode()

    def reply_xml(self, token: str | bytes, message: str | bytes, **kw: Any) -> str:
        """An encrypted passive reply in safe mode (see ``tencent_reply_xml``)."""
        if self._cipher is None:
            raise ValueError("wechat: encrypted replies need aes_key= (safe mode)")
        return tencent_reply_xml(self._cipher, token, message, **kw)


def wechat(
    *,
    secret: SecretSpec,
    aes_key: str | bytes | None = None,
    app_id: str | bytes | None = None,
    window: float | None = None,
    future_window: float | None = None,
) -> WeChat:
    """WeChat Official Account server callbacks.

    GET with ``echostr``: ``signature = hex(SHA1(sorted([token, timestamp, nonce])))``;
    the guard answers ``echostr`` unchanged.

    - Plain mode (no ``aes_key``): POSTs carry the same query ``signature``, which does **not**
      cover the body (``verdict.body_signed`` is False).
    - Safe mode (``aes_key`` and ``app_id``): POSTs need ``msg_signature`` over the XML
      ``<Encrypt>``; the message is decrypted into ``verdict.details["plaintext"]``.

    :param secret: the server configuration Token(s).
    :param aes_key: the EncodingAESKey (safe mode).
    :param app_id: the AppID, the receive id in safe mode.
    """
    cipher = None
    if aes_key is not None or app_id is not None:
        _require_crypto()
        key = _decode_aes_key(_credential(aes_key, scheme="wechat", what="aes_key"), what="wechat")
        rid = _credential(app_id, scheme="wechat", what="app_id")
        cipher = TencentCipher(key, rid)
    return WeChat(secret=secret, cipher=cipher, window=window, future_window=future_window)


# -- Feishu / Lark ------------------------------------------------------------------------------


def _feishu_decrypt(encrypt_key: bytes, encrypted: str) -> str | None:
    data = _b64_strict(encrypted)
    if data is None or len(data) < 32 or len(data) % 16:
        return None
    key = hashlib.sha256(encrypt_key).digest()
    try:
        plain = _unpad(_aes_cbc(key, data[:16], data[16:], encrypt=False), 16)
        return None if plain is None else plain.decode("utf-8")
    except Exception:
        return None


def feishu_encrypt(
    encrypt_key: str | bytes, message: str | bytes, *, iv: bytes | None = None
) -> str:
    """Feishu's event encryption (for tests): Base64(IV | AES-256-CBC(SHA256(key), IV, msg))."""
    key_bytes = encrypt_key.encode("utf-8") if isinstance(encrypt_key, str) else encrypt_key
    data = message.encode("utf-8") if isinstance(message, str) else message
    vector = os.urandom(16) if iv is None else iv
    key = hashlib.sha256(key_bytes).digest()
    return base64.b64encode(vector + _aes_cbc(key, vector, _pad(data, 16), encrypt=True)).decode()


def _event_token(event: dict[str, Any]) -> Any:
    header = event.get("header")
    if isinstance(header, dict) and "token" in header:
        return header.get("token")  # schema 2.0
    return event.get("token")  # schema 1.0 and url_verification


def _feishu_event_id(event: dict[str, Any]) -> str | None:
    """``header.event_id`` (schema 2.0) or ``uuid`` (1.0) of a decrypted Feishu event."""
    header = event.get("header")
    value = header.get("event_id") if isinstance(header, dict) else event.get("uuid")
    if isinstance(value, str) and 0 < len(value) <= 256 and value.isascii() and value.isprintable():
        return value
    return None


class Feishu(_OptionalWindow):
    """Feishu / Lark event subscription (see ``feishu``)."""

    #: Feishu re-pushes an unacknowledged event after 15 s, 5 min, 1 h and 6 h.
    retry_horizon = 8 * 3600.0

    name = "feishu"
    body_signed = True

    def __init__(
        self,
        *,
        secret: SecretSpec,
        verification_token: bytes | None,
        encrypted: bool,
        window: float | None,
        future_window: float | None,
        name: str = "feishu",
    ) -> None:
        self.name = name
        self._token = verification_token
        self.encrypted = encrypted
        self.checks_token = verification_token is not None
        self.body_signed = encrypted  # token mode: nothing is signed
        super().__init__(secret=secret, window=window, future_window=future_window)

    def _token_ok(self, event: dict[str, Any], keys: KeySet | None = None) -> str | None:
        """The key id whose token the event carries (``"verification_token"`` when configured)."""
        value = _event_token(event)
        if not isinstance(value, str):
            return None
        if keys is not None:  # token mode: the route's keys are the tokens
            matched = None
            for key in keys:
                if compare(key.value, value) and matched is None:
                    matched = key.key_id
            return matched
        if self._token is None:
            return "unchecked"
        return "verification_token" if compare(self._token, value) else None

    @staticmethod
    def _challenge(event: dict[str, Any]) -> Response | None:
        if event.get("type") != "url_verification":
            return None
        challenge = event.get("challenge")
        if not isinstance(challenge, str):
            return None
        body = json.dumps({"challenge": challenge}, separators=(",", ":")).encode("utf-8")
        return (200, _JSON_TYPE, body)

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if not self.encrypted:
            return self._check_token_mode(request, keys)
        signature, sig_ok = single_header(request.headers, "X-Lark-Signature")
        if signature is None:
            return self._unsigned_challenge(request, keys)
        if not sig_ok or len(signature) != 64:
            return Check(Reason.MALFORMED_SIGNATURE)
        raw_ts, ts_ok = single_header(request.headers, "X-Lark-Request-Timestamp")
        if raw_ts is None:
            return Check(Reason.MISSING_TIMESTAMP)
        ts = parse_timestamp(raw_ts) if ts_ok else None
        if ts is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        if self.window is not None and self.future_window is not None:
            late = check_window(ts, now, self.window, self.future_window)
            if late is not None:
                return Check(late)
        nonce, nonce_ok = single_header(request.headers, "X-Lark-Request-Nonce")
        if nonce is None or not nonce_ok:
            return Check(Reason.MALFORMED_SIGNATURE)
        head = raw_ts.encode("latin-1") + nonce.encode("latin-1")
        matched: tuple[Secret, str] | None = None
        identity = None  # the signature under the first key, whichever key matches
        for key in keys:
            expected = hashlib.sha256(head + key.value + request.body).hexdigest()
            if identity is None:
                identity = expected
            if compare(expected.encode("ascii"), signature):
                matched = (key, identity)
                break
        if matched is None:
            return Check(Reason.BAD_SIGNATURE)
        key, expected = matched
        encrypted = _json_encrypt(request.body)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)  # an Encrypt Key is set: events are encrypted
        plaintext = _feishu_decrypt(key.value, encrypted)
        if plaintext is None:
            return Check(Reason.BAD_SIGNATURE)
        event = _json_object(plaintext)
        if event is None:
            return Check(Reason.BAD_REQUEST)
        if self._token_ok(event) is None:
            return Check(Reason.BAD_SIGNATURE)
        response = self._challenge(event)
        details: dict[str, Any] = {"plaintext": plaintext}
        if response is not None:
            details["handshake"] = "url_verification"
        # Feishu re-pushes an unacknowledged event (15 s, 5 min, 1 h, 6 h) under a new
        # timestamp and signature; its signed event id (schema 2.0 header.event_id, 1.0
        # uuid) ties the copies together.
        event_id = _feishu_event_id(event)
        return Check(
            Reason.VERIFIED,
            key_id=key.key_id,
            replay_material=(
                b"id:" + event_id.encode("ascii")
                if event_id is not None
                else expected.encode("ascii")
            ),
            timestamp=ts,
            message_id=event_id,
            details=details,
            response=response,
        )

    def _unsigned_challenge(self, request: WebhookRequest, keys: KeySet) -> Check:
        """Feishu sends url_verification without signature headers; accept it only when the
        decrypted challenge carries the configured verification token."""
        if self._token is None:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _json_encrypt(request.body)
        if encrypted is None:
            return Check(Reason.MISSING_SIGNATURE)
        for key in keys:
            plaintext = _feishu_decrypt(key.value, encrypted)
            event = _json_object(plaintext) if plaintext is not None else None
            if event is None:
                continue
            response = self._challenge(event)
            if response is not None and self._token_ok(event) is not None:
                return Check(
                    Reason.VERIFIED,
                    key_id=key.key_id,
                    details={"plaintext": plaintext, "handshake": "url_verification"},
                    response=response,
                )
        return Check(Reason.MISSING_SIGNATURE)

    def _check_token_mode(self, request: WebhookRequest, keys: KeySet) -> Check:
        event = _json_object(request.body)
        if event is None:
            return Check(Reason.BAD_REQUEST)
        if "encrypt" in event:
            return Check(Reason.BAD_REQUEST)  # encrypted, but no Encrypt Key configured
        token = _event_token(event)
        if token is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not isinstance(token, str):
            return Check(Reason.MALFORMED_SIGNATURE)
        key_id = self._token_ok(event, keys)
        if key_id is None:
            return Check(Reason.BAD_SIGNATURE)
        response = self._challenge(event)
        return Check(
            Reason.VERIFIED,
            key_id=key_id,
            details={"handshake": "url_verification"} if response is not None else {},
            response=response,
        )

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        nonce: str = "n0nce",
    ) -> dict[str, str]:
        """Signature headers for an (already encrypted) body; ``secret`` is the Encrypt Key."""
        if timestamp is None:
            raise ValueError(f"{self.name}: sign() needs a timestamp")
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        ts = str(int(timestamp))
        digest = hashlib.sha256(ts.encode() + nonce.encode() + key + body).hexdigest()
        return {
            "X-Lark-Request-Timestamp": ts,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": digest,
        }


def feishu(
    *,
    secret: SecretSpec = None,
    encrypt_key: SecretSpec = None,
    verification_token: str | bytes | None = None,
    window: float | None = None,
    future_window: float | None = None,
    _name: str = "feishu",
) -> Feishu:
    """Feishu (飞书) / Lark event subscription (developer-server webhook mode).

    With an Encrypt Key (``secret=`` or its alias ``encrypt_key=``): ``X-Lark-Signature =
    hex(SHA256(timestamp + nonce + encrypt_key + body))`` is required, the body must be
    ``{"encrypt": ...}``, and the decrypted event goes to ``verdict.details["plaintext"]``.
    ``url_verification`` is answered ``{"challenge": ...}`` by the guard after verification
    and decryption. Feishu sends that one request **without** signature headers; it is then
    accepted only when ``verification_token`` is configured and the decrypted challenge
    carries it (otherwise 401).

    Without an Encrypt Key (``verification_token`` only): nothing is signed; the event's
    token (``header.token``, or ``token`` in schema 1.0) must equal the verification token.

    :param secret: the Encrypt Key(s); rotation lists are tried in order.
    :param encrypt_key: an alias of ``secret``.
    :param verification_token: the Verification Token (literal, ``env:`` or ``file:``); when
        set it is also checked inside every decrypted event.
    :param window: optional seconds ``X-Lark-Request-Timestamp`` may be old (none documented).
    """
    if secret is not None and encrypt_key is not None:
        raise ConfigurationError(
            f"{_name}: secret= and encrypt_key= are aliases; set one", code="webhook_guard.E004"
        )
    key_spec = secret if secret is not None else encrypt_key
    token = None
    if verification_token is not None:
        token = _credential(verification_token, scheme=_name, what="verification_token")
    if key_spec is None:
        if verification_token is None:
            raise ConfigurationError(
                f"{_name}: set the Encrypt Key (secret=) or a verification_token=",
                code="webhook_guard.E003",
            )
        # Token mode: the guard resolves the token(s) as the route's keys.
        return Feishu(
            secret=verification_token,
            verification_token=None,
            encrypted=False,
            window=window,
            future_window=future_window,
            name=_name,
        )
    _require_crypto()
    return Feishu(
        secret=key_spec,
        verification_token=token,
        encrypted=True,
        window=window,
        future_window=future_window,
        name=_name,
    )


def lark(
    *,
    secret: SecretSpec = None,
    encrypt_key: SecretSpec = None,
    verification_token: str | bytes | None = None,
    window: float | None = None,
    future_window: float | None = None,
) -> Feishu:
    """Lark (the international Feishu): the same scheme as ``feishu``, named ``lark``."""
    return feishu(
        secret=secret,
        encrypt_key=encrypt_key,
        verification_token=verification_token,
        window=window,
        future_window=future_window,
        _name="lark",
    )


#: Every factory of this module by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    "dingtalk_events": dingtalk_events,
    "feishu": feishu,
    "lark": lark,
    "wechat": wechat,
    "wecom": wecom,
}
