"""Payload cryptography of the encrypted callbacks (Tencent style and Feishu): AES-256-CBC
with PKCS#7, the WXBizMsgCrypt/DingCallbackCrypto envelope (``TencentCipher``), the SHA-1
query signature, safe XML envelope parsing and the encrypted replies an app sends back.

``cryptography`` is imported lazily (the ``crypto`` extra).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import string
import time
import xml.etree.ElementTree as ET
from hmac import compare_digest

from webhook_guard.exceptions import MissingExtraError
from webhook_guard.providers._parse import b64_strict

__all__ = (
    "MAX_ENVELOPE",
    "TencentCipher",
    "aes_cbc",
    "aes_key_problem",
    "decode_aes_key",
    "dingtalk_reply",
    "pad",
    "reply_map",
    "require_crypto",
    "tencent_reply_xml",
    "tencent_signature",
    "unpad",
    "xml_fields",
)

#: Largest envelope (XML or JSON) parsed before the signature is known to be valid.
MAX_ENVELOPE = 4 * 1024 * 1024
_MAX_XML_CHILDREN = 64
_NONCE_ALPHABET = string.ascii_letters + string.digits


def require_crypto() -> None:
    """Import ``cryptography`` or raise ``MissingExtraError`` (at configuration time)."""
    try:
        import cryptography.hazmat.primitives.ciphers  # noqa: F401
    except ImportError:  # pragma: no cover - cryptography is a test dependency
        raise MissingExtraError("crypto", "cryptography") from None


def aes_cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def unpad(data: bytes, block: int) -> bytes | None:
    if not data:
        return None
    n = data[-1]
    if not 1 <= n <= block or len(data) < n or data[-n:] != bytes([n]) * n:
        return None
    return data[:-n]


def tencent_signature(token: str | bytes, timestamp: str, nonce: str, *parts: str) -> str:
    """hex(SHA1(join(sorted([token, timestamp, nonce, *parts])))) (Tencent/DingTalk)."""
    items = [token.encode("utf-8") if isinstance(token, str) else token]
    items += [p.encode("utf-8") for p in (timestamp, nonce, *parts)]
    return hashlib.sha1(b"".join(sorted(items))).hexdigest()  # noqa: S324 - the protocol's hash


def decode_aes_key(text: str | bytes) -> bytes | None:
    """The 32-byte AES key of a 43-character EncodingAESKey, or None."""
    raw = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    raw = raw.strip()
    key = b64_strict(raw + "=") if len(raw) == 43 else None
    return key if key is not None and len(key) == 32 else None


def aes_key_problem(value: bytes) -> str | None:
    if decode_aes_key(value) is None:
        return "the EncodingAESKey must be 43 Base64 characters (32 bytes)"
    return None


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
        key = decode_aes_key(encoding_aes_key)
        if key is None:
            raise ValueError("the EncodingAESKey must be 43 Base64 characters (32 bytes)")
        return cls(key, rid)

    def encrypt(self, message: bytes, *, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``message`` (length prefix computed on bytes)."""
        prefix = os.urandom(16) if random16 is None else random16
        plain = prefix + len(message).to_bytes(4, "big") + message + self.receive_id
        data = aes_cbc(self._key, self._key[:16], pad(plain, 32), encrypt=True)
        return base64.b64encode(data).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes | None:
        """The message, or None for any failure (encoding, padding, length, receive id)."""
        data = b64_strict(encrypted, MAX_ENVELOPE)
        if data is None or not data or len(data) % 16:
            return None
        try:
            plain = unpad(aes_cbc(self._key, self._key[:16], data, encrypt=False), 32)
        except Exception:
            return None
        if plain is None or len(plain) < 20:
            return None
        size = int.from_bytes(plain[16:20], "big")
        if 20 + size > len(plain):
            return None
        message, rid = plain[20 : 20 + size], plain[20 + size :]
        if not compare_digest(rid, self.receive_id):
            return None
        return message


def _nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(8))


def xml_fields(body: bytes) -> dict[str, str] | None:
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


def reply_map(
    cipher: TencentCipher, token: str | bytes, message: str | bytes, ts: str, nonce: str | None
) -> dict[str, str]:
    data = message.encode("utf-8") if isinstance(message, str) else message
    nc = nonce if nonce is not None else _nonce()
    encrypted = cipher.encrypt(data)
    return {
        "msg_signature": tencent_signature(token, ts, nc, encrypted),
        "timeStamp": ts,
        "nonce": nc,
        "encrypt": encrypted,
    }


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
    cipher = TencentCipher.from_encoding_aes_key(aes_key, owner_key)
    ts = str(timestamp_ms or int(time.time() * 1000))
    return reply_map(cipher, token, message, ts, nonce)


