"""Tencent-style encrypted callbacks: DingTalk event subscription, WeCom, WeChat Official Accounts.

- signature = hex(SHA1(join(sorted([token, timestamp, nonce, encrypt])))) in the query;
- payload: AES-256-CBC, key = Base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 with a
  32-byte block; plaintext = 16 random bytes | 4-byte big-endian length | message |
  receive id, which must equal the configured one (DingTalk owner key, WeCom CorpID,
  WeChat AppID).

Rules:

- ``secret=`` is the callback token (rotation lists are tried in order); the
  EncodingAESKey and the receive id are declared credentials (a literal, or an ``env:``/
  ``file:`` reference the guard resolves at start-up);
- the signature is checked **before** anything is decrypted; every decryption failure
  (Base64, block size, padding, length prefix, receive id, UTF-8) is one reason,
  ``BAD_SIGNATURE``, so there is no padding oracle; a malformed envelope is
  ``BAD_REQUEST``; XML envelopes are size-bounded and any ``<!`` other than
  ``<![CDATA[`` (DOCTYPE, ENTITY) is refused before parsing;
- the decrypted message goes to ``verdict.details["plaintext"]``; the raw body reaches
  the app untouched;
- no provider documents a window; none is enforced unless ``window=`` is set. The
  replay key is the signature's identity (it covers timestamp, nonce and ciphertext);
- the handshakes the provider signs are answered after verification: DingTalk's
  ``check_url`` (the encrypted ``success`` map), WeCom's and WeChat's GET ``echostr``.

Parameters (``Provider.spec``): ``signature_params``, ``timestamp_params`` (aliases, in
order), ``unit`` (``s`` or ``ms``), ``envelope`` (``json`` or ``xml``: XML or JSON),
``receive_id`` (the credential naming the receive id), ``echostr`` (``decrypt``,
``plain`` or None), ``check_url`` (answer DingTalk's ``check_url``), ``plain_mode``
(WeChat: POSTs without an AES key carry a signature that does not cover the body).
The ``crypto`` extra (``cryptography``) is needed for the encrypted schemes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, Credential, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import parse_timestamp
from webhook_guard.core.verdict import Reason
from webhook_guard.providers._base import Family, now_or
from webhook_guard.providers._cipher import (
    MAX_ENVELOPE,
    TencentCipher,
    aes_key_problem,
    decode_aes_key,
    dingtalk_reply,
    reply_map,
    require_crypto,
    tencent_reply_xml,
    tencent_signature,
    xml_fields,
)
from webhook_guard.providers._parse import JSON_TYPE, TEXT_TYPE, json_object, one_query
from webhook_guard.providers.handshakes import answered

__all__ = (
    "MAX_ENVELOPE",
    "Tencent",
    "TencentCipher",
    "aes_key_problem",
    "decode_aes_key",
    "dingtalk_reply",
    "tencent_reply_xml",
    "tencent_signature",
)

_VERIFIED = Reason.VERIFIED


def _envelope(body: bytes, kind: str) -> str | None:
    """``encrypt`` of a JSON envelope, or (``xml``) ``<Encrypt>`` of an XML one."""
    if kind == "xml" and body.lstrip()[:1] != b"{":
        fields = xml_fields(body)
        return (fields.get("Encrypt") or None) if fields is not None else None
    data = json_object(body, limit=MAX_ENVELOPE, unique=True)
    if data is None:
        return None
    if kind == "xml":
        if "encrypt" in data and "Encrypt" in data:
            return None
        value = data.get("encrypt", data.get("Encrypt"))
    else:
        value = data.get("encrypt")
    return value if isinstance(value, str) and value else None


def _expected(key: Secret, message: tuple[str, ...]) -> str:
    return tencent_signature(key.value, *message)


class Tencent(Family):
    """SHA-1 query signatures over AES-encrypted envelopes (see the module docstring)."""

    body_signed = False  # the signature covers the ciphertext, not the envelope around it
    optional_window = True
    credentials = (
        Credential("aes_key", "the EncodingAESKey", required=False, check=aes_key_problem),
    )

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        self._signature_params: tuple[str, ...] = spec.get("signature_params", ("msg_signature",))
        self._timestamp_params: tuple[str, ...] = spec.get("timestamp_params", ("timestamp",))
        self.timestamp_unit = spec.get("unit", "s")
        self._scale = 1000 if self.timestamp_unit == "ms" else 1
        self._kind = spec.get("envelope", "json")
        self._rid_name: str = spec["receive_id"]
        self._echostr = spec.get("echostr")
        self._check_url = bool(spec.get("check_url"))
        self._plain_mode = bool(spec.get("plain_mode"))
        self._ciphers: tuple[tuple[bytes, ...], list[TencentCipher]] | None = None
        configured = self.has_credential("aes_key"), self.has_credential(self._rid_name)
        if configured[0] != configured[1] or not (any(configured) or self._plain_mode):
            from webhook_guard.exceptions import ConfigurationError

            missing = "aes_key" if not configured[0] else self._rid_name
            raise ConfigurationError(
                f"{self.name}: {missing}= is required", code="webhook_guard.E003"
            )
        self.encrypted = configured[0]
        if self._plain_mode:
            self.mode = "safe" if self.encrypted else "plain"
        if self.encrypted:
            require_crypto()

    def handshake_table(self) -> tuple[str, str, str, str] | None:
        if self._check_url:
            summary = '`check_url` answered with the encrypted "success" (on by default)'
            return summary, "on", "`check_url`", "after the signature verifies, answered encrypted"
        if self._echostr == "decrypt":
            summary = "GET `echostr` decrypted and answered after verification (on by default)"
            return summary, "on", "GET `echostr`", "after the signature verifies, decrypted"
        summary = "GET `echostr` answered after verification (on by default)"
        return summary, "on", "GET `echostr`", "after the signature verifies"

    def _cipher_list(self) -> list[TencentCipher]:
        """Ciphers for the current credentials (rebuilt when a rotation changes them)."""
        aes = self.credential("aes_key")
        rids = self.credential(self._rid_name)
        stamp = (*(k.value for k in aes), b"\x00", *(r.value for r in rids))
        cached = self._ciphers
        if cached is not None and cached[0] == stamp:
            return cached[1]
        ciphers = [
            TencentCipher(key, rid.value)
            for key in (decode_aes_key(k.value) for k in aes)
            if key is not None
            for rid in rids
        ]
        self._ciphers = (stamp, ciphers)
        return ciphers

    def _decrypt(self, encrypted: str) -> tuple[str, TencentCipher] | None:
        for cipher in self._cipher_list():
            message = cipher.decrypt(encrypted)
            if message is not None:
                try:
                    return message.decode("utf-8"), cipher
                except UnicodeDecodeError:
                    return None
        return None

    def signature_present(self, request: WebhookRequest) -> bool:
        return one_query(request, *self._signature_params)[0] is not None

    # -- verification ------------------------------------------------------------------

    def _signed_query(
        self, request: WebhookRequest, now: float, params: tuple[str, ...]
    ) -> tuple[str, str, str, int] | Reason:
        """(signature, timestamp, nonce, timestamp value) from the query, or why not."""
        signature, sig_ok = one_query(request, *params)
        if signature is None:
            return Reason.MISSING_SIGNATURE
        if not sig_ok or len(signature) != 40:
            return Reason.MALFORMED_SIGNATURE
        raw_ts, ts_ok = one_query(request, *self._timestamp_params)
        if raw_ts is None:
            return Reason.MISSING_TIMESTAMP
        ts = parse_timestamp(raw_ts) if ts_ok else None
        if ts is None:
            return Reason.MALFORMED_TIMESTAMP
        if self._window is not None:
            late = self._window.check(ts / self._scale, now)
            if late is not None:
                return late
        nonce, nonce_ok = one_query(request, "nonce")
        if nonce is None or not nonce_ok:
            return Reason.MALFORMED_SIGNATURE
        return signature, raw_ts, nonce, ts

    def _verify(
        self, request: WebhookRequest, keys: KeySet, now: float, params: tuple[str, ...], *parts: str
    ) -> Check:
        found = self._signed_query(request, now, params)
        if isinstance(found, Reason):
            return Check(found)
        signature, raw_ts, nonce, ts = found
        return try_keys(keys, _expected, (raw_ts, nonce, *parts), signature, ts)

    def _decrypted(self, result: Check, encrypted: str) -> Check:
        if result[0] is not _VERIFIED:
            return result
        found = self._decrypt(encrypted)
        if found is None:
            return Check(Reason.BAD_SIGNATURE)
        return result._replace(details={"plaintext": found[0]})

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        if self._echostr and request.method in ("GET", "HEAD"):
            echostr, echo_ok = one_query(request, "echostr")
            if echostr is not None:
                if not echo_ok:
                    return Check(Reason.BAD_REQUEST)
                return self._echo(request, keys, now, echostr)
        if self._plain_mode and not self.encrypted:
            return self._verify(request, keys, now, ("signature",))
        params = ("msg_signature",) if self._plain_mode else self._signature_params
        if one_query(request, *params)[0] is None:
            return Check(Reason.MISSING_SIGNATURE)
        encrypted = _envelope(request.body, self._kind)
        if encrypted is None:
            return Check(Reason.BAD_REQUEST)
        result = self._decrypted(self._verify(request, keys, now, params, encrypted), encrypted)
        if result[0] is _VERIFIED and self._check_url:
            return self._dingtalk(result, keys, now)
        return result

    def _echo(self, request: WebhookRequest, keys: KeySet, now: float, echostr: str) -> Check:
        """URL verification: WeCom signs and encrypts ``echostr`` (answered decrypted);
        WeChat signs (token, timestamp, nonce) only (answered as sent)."""
        if self._echostr == "plain":
            result = self._verify(request, keys, now, ("signature",))
            answer = echostr
        else:
            result = self._decrypted(
                self._verify(request, keys, now, self._signature_params, echostr), echostr
            )
            answer = result.details.get("plaintext", "")
        if result[0] is not _VERIFIED:
            return result
        return answered(result, (200, TEXT_TYPE, answer.encode("utf-8")), "echostr", **result.details)

    def _dingtalk(self, result: Check, keys: KeySet, now: float) -> Check:
        """DingTalk: the encrypted ``success`` reply for the app, and ``check_url`` answered."""
        plaintext = result.details["plaintext"]
        key = next(k for k in keys if k.key_id == result.key_id)
        cipher = self._cipher_list()[0]
        reply = reply_map(cipher, key.value, "success", str(int(now * 1000)), None)
        details = {"plaintext": plaintext, "reply": reply}
        event = json_object(plaintext, limit=MAX_ENVELOPE, unique=True)
        if event is not None and event.get("EventType") == "check_url":
            body = json.dumps(reply, separators=(",", ":")).encode("ascii")
            return answered(result, (200, JSON_TYPE, body), "check_url", **details)
        return result._replace(details=details)

    # -- signing and replies --------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        nonce: str = "nonce123",
        to_user: str = "",
        agent_id: str = "",
        content_type: str | None = None,
    ) -> SignedRequest:
        """A genuine push of the plaintext ``body``: the signature in the query and, when
        encrypted, the envelope as the body (``secret`` is the callback token)."""
        ts = str(int(now_or(timestamp) * self._scale))
        if not self.encrypted:  # WeChat plain mode: the body as is, signed query
            query = urlencode({"signature": tencent_signature(secret, ts, nonce), "timestamp": ts,
                               "nonce": nonce})  # fmt: skip
            return self.signed({}, body, url=url, content_type=content_type, query=query, typed=True)
        ciphers = self._cipher_list()
        if not ciphers:
            raise ValueError(f"{self.name}: sign() needs literal aes_key= and {self._rid_name}=")
        encrypted = ciphers[0].encrypt(body)
        signature = tencent_signature(secret, ts, nonce, encrypted)
        if self._check_url:  # DingTalk: JSON envelope, signature and timestamp names
            query = urlencode({"signature": signature, "timestamp": ts, "nonce": nonce})
            wire = json.dumps({"encrypt": encrypted}).encode("ascii")
        elif self._plain_mode:  # WeChat safe mode
            query = urlencode({"signature": tencent_signature(secret, ts, nonce), "timestamp": ts,
                               "nonce": nonce, "encrypt_type": "aes", "msg_signature": signature})  # fmt: skip
            wire = (
                "<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            ).encode()
        else:  # WeCom
            query = urlencode({"msg_signature": signature, "timestamp": ts, "nonce": nonce})
            wire = (
                f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
            ).encode()
        return self.signed({}, wire, url=url, content_type=content_type, query=query, typed=True)

    def reply_xml(self, token: str | bytes, message: str | bytes, **kw: Any) -> str:
        """An encrypted passive reply (see ``tencent_reply_xml``)."""
        ciphers = self._cipher_list()
        if not ciphers:
            raise ValueError(f"{self.name}: encrypted replies need aes_key= (safe mode)")
        return tencent_reply_xml(ciphers[0], token, message, **kw)
