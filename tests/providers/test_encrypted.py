"""Encrypted callbacks: ``dingtalk_events``, ``wecom``, ``wechat``, ``feishu``/``lark``.

The reference functions below are written from the published specifications
(providers.md 1b, 10, 11) with ``cryptography`` primitives only, independent of the module.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.providers.helpers import provider_headers
from webhook_guard import Guard, Route, get_verdict
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import dingtalk_events, feishu, lark, wechat, wecom
from webhook_guard.providers.feishu_events import feishu_decrypt, feishu_encrypt
from webhook_guard.providers.tencent import TencentCipher, dingtalk_reply
from webhook_guard.testing import FrozenClock, build_asgi_scope, call_asgi

# -- independent reference implementation (from the spec) ----------------------------------


def ref_sig(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - protocol


def ref_encrypt(aes_key: str, receive_id: str, message: bytes, pad_block: int = 32) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + len(message).to_bytes(4, "big") + message + receive_id.encode()
    n = pad_block - len(plain) % pad_block
    plain += bytes([n]) * n
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def ref_encrypt_raw(aes_key: str, plain: bytes) -> str:
    """Encrypt an arbitrary (already padded) plaintext block sequence."""
    key = base64.b64decode(aes_key + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def ref_decrypt(aes_key: str, encrypted: str) -> tuple[bytes, bytes]:
    key = base64.b64decode(aes_key + "=")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    plain = plain[: -plain[-1]]
    size = int.from_bytes(plain[16:20], "big")
    return plain[20 : 20 + size], plain[20 + size :]


def ref_feishu_encrypt(encrypt_key: str, message: bytes) -> str:
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    n = 16 - len(message) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(message + bytes([n]) * n) + enc.finalize()).decode()


def ref_feishu_headers(
    encrypt_key: str, body: bytes, ts: str, nonce: str = "abc"
) -> dict[str, str]:
    digest = hashlib.sha256((ts + nonce + encrypt_key).encode() + body).hexdigest()
    return {
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": digest,
    }


#: The encrypted providers this module tests.
FACTORIES = {
    "dingtalk_events": dingtalk_events, "feishu": feishu, "lark": lark, "wechat": wechat,
    "wecom": wecom,
}  # fmt: skip


def push(scheme: Any, message: str | bytes, **options: Any) -> tuple[str, bytes]:
    """(query, body) of a genuine push of ``message``, signed by the scheme's ``sign``."""
    data = message.encode() if isinstance(message, str) else message
    signed = scheme.sign(data, **options)
    return signed.query, signed.body


def keys(*values: str) -> KeySet:
    return KeySet(Secret(v, key_id=f"k{i}") for i, v in enumerate(values))


def request(
    query: str = "",
    body: bytes = b"",
    method: str = "POST",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> WebhookRequest:
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    return WebhookRequest(method=method, path="/cb", headers=Headers(items), body=body, query=query)


# -- DingTalk event subscription ------------------------------------------------------------

DT_TOKEN = "mryue"
DT_AES = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
DT_OWNER = "ding6ccabc44d2c8d38b"
DT_VECTOR_ENCRYPT = (
    "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDC"
    "YxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"
)
DT_VECTOR_QUERY = urlencode(
    {
        "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
        "timestamp": "1608001896814",
        "nonce": "WL4PK6yA",
    }
)
DT_NOW = 1608001897.0
DT = dingtalk_events(secret=DT_TOKEN, aes_key=DT_AES, owner_key=DT_OWNER)
DT_EVENT = '{"EventType":"user_add_org","UserId":["u1"],"Name":"张三"}'


def dt_push(
    message: str | bytes,
    *,
    ts: str = "1608001896814",
    nonce: str = "n0nce",
    token: str = DT_TOKEN,
    owner: str = DT_OWNER,
    sig_param: str = "signature",
    ts_param: str = "timestamp",
) -> tuple[str, bytes]:
    data = message.encode() if isinstance(message, str) else message
    encrypted = ref_encrypt(DT_AES, owner, data)
    query = urlencode(
        {sig_param: ref_sig(token, ts, nonce, encrypted), ts_param: ts, "nonce": nonce}
    )
    return query, json.dumps({"encrypt": encrypted}).encode()


def dt_check(query: str, body: bytes, now: float = DT_NOW, scheme: Any = DT) -> Check:
    return scheme.check(request(query, body), keys(DT_TOKEN), now)  # type: ignore[no-any-return]


def test_dingtalk_official_vector_check_url_is_answered_encrypted_success() -> None:
    body = json.dumps({"encrypt": DT_VECTOR_ENCRYPT}).encode()
    result = dt_check(DT_VECTOR_QUERY, body)
    assert result.reason is Reason.VERIFIED
    assert result.details["plaintext"] == '{"EventType":"check_url"}'
    assert result.response is not None
    status, headers, content = result.response
    assert status == 200
    assert ("Content-Type", "application/json") in headers
    reply = json.loads(content)
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert reply["msg_signature"] == ref_sig(
        DT_TOKEN, reply["timeStamp"], reply["nonce"], reply["encrypt"]
    )
    assert ref_decrypt(DT_AES, reply["encrypt"]) == (b"success", DT_OWNER.encode())
    assert result.replay_material is None  # a handshake: no replay claim


def test_dingtalk_official_vector_signature_alone() -> None:
    assert (
        ref_sig(DT_TOKEN, "1608001896814", "WL4PK6yA", DT_VECTOR_ENCRYPT)
        == "03044561471240d4a14bb09372dfcfd4fd0e40cb"
    )


@pytest.mark.parametrize(
    ("sig_param", "ts_param"),
    [
        pytest.param("signature", "timestamp", id="current-names"),
        pytest.param("msg_signature", "timeStamp", id="legacy-names"),
    ],
)
def test_dingtalk_event_round_trip(sig_param: str, ts_param: str) -> None:
    query, body = dt_push(DT_EVENT, sig_param=sig_param, ts_param=ts_param)
    result = dt_check(query, body)
    assert result.reason is Reason.VERIFIED
    assert result.details["plaintext"] == DT_EVENT  # non-ASCII: length prefix on bytes
    assert result.response is None
    assert result.timestamp == 1608001896814
    assert result.replay_material is not None
    reply = result.details["reply"]
    assert ref_decrypt(DT_AES, reply["encrypt"]) == (b"success", DT_OWNER.encode())
    assert reply["msg_signature"] == ref_sig(
        DT_TOKEN, reply["timeStamp"], reply["nonce"], reply["encrypt"]
    )


def test_dingtalk_sign_request_and_public_reply_helper() -> None:
    query, body = push(DT, DT_EVENT, secret=DT_TOKEN, timestamp=DT_NOW)
    assert dt_check(query, body).details["plaintext"] == DT_EVENT
    reply = dingtalk_reply(
        token=DT_TOKEN, aes_key=DT_AES, owner_key=DT_OWNER, timestamp_ms=1, nonce="abc"
    )
    assert (reply["timeStamp"], reply["nonce"]) == ("1", "abc")
    assert reply["msg_signature"] == ref_sig(DT_TOKEN, "1", "abc", reply["encrypt"])
    assert ref_decrypt(DT_AES, reply["encrypt"]) == (b"success", DT_OWNER.encode())
    signed = DT.sign(DT_EVENT.encode(), secret=DT_TOKEN, timestamp=DT_NOW)
    assert signed.body != DT_EVENT.encode()  # sent encrypted
    assert "signature=" in signed.query
    assert dt_check(signed.query, signed.body).details["plaintext"] == DT_EVENT


def _bad_padding(owner: str = DT_OWNER) -> str:
    msg = b'{"EventType":"x"}'
    plain = os.urandom(16) + len(msg).to_bytes(4, "big") + msg + owner.encode()
    n = 32 - len(plain) % 32
    return ref_encrypt_raw(DT_AES, plain + bytes([n]) * (n - 1) + bytes([n ^ 1]))


def _padding_over_32() -> str:
    plain = os.urandom(16) + (3).to_bytes(4, "big") + b"abc" + DT_OWNER.encode()
    plain += b"\x00" * (48 - len(plain) - 1) + bytes([33])
    return ref_encrypt_raw(DT_AES, plain)


def _length_beyond() -> str:
    plain = os.urandom(16) + (9999).to_bytes(4, "big") + b"abc"
    n = 32 - len(plain) % 32
    return ref_encrypt_raw(DT_AES, plain + bytes([n]) * n)


def _signed_encrypt(encrypted: str) -> tuple[str, bytes]:
    ts, nonce = "1608001896814", "n0nce"
    query = urlencode(
        {"signature": ref_sig(DT_TOKEN, ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
    )
    return query, json.dumps({"encrypt": encrypted}).encode()


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        pytest.param(
            lambda: dt_push(DT_EVENT, token="wrong"), Reason.BAD_SIGNATURE, id="wrong-token"
        ),
        pytest.param(
            lambda: (
                dt_push(DT_EVENT)[0],
                json.dumps({"encrypt": ref_encrypt(DT_AES, DT_OWNER, b"{}")}).encode(),
            ),
            Reason.BAD_SIGNATURE,
            id="swapped-ciphertext",
        ),
        pytest.param(
            lambda: dt_push(DT_EVENT, owner="dingOTHER"),
            Reason.BAD_SIGNATURE,
            id="receive-id-mismatch",
        ),
        pytest.param(
            lambda: _signed_encrypt(_bad_padding()), Reason.BAD_SIGNATURE, id="bad-padding-bytes"
        ),
        pytest.param(
            lambda: _signed_encrypt(_padding_over_32()), Reason.BAD_SIGNATURE, id="padding-over-32"
        ),
        pytest.param(
            lambda: _signed_encrypt(_length_beyond()),
            Reason.BAD_SIGNATURE,
            id="length-beyond-plaintext",
        ),
        pytest.param(
            lambda: _signed_encrypt("not base64!!"), Reason.BAD_SIGNATURE, id="encrypt-not-base64"
        ),
        pytest.param(
            lambda: _signed_encrypt("QUJD"), Reason.BAD_SIGNATURE, id="encrypt-not-block-size"
        ),
        pytest.param(
            lambda: _signed_encrypt(ref_encrypt(DT_AES, DT_OWNER, b"\xff\xfe")),
            Reason.BAD_SIGNATURE,
            id="plaintext-not-utf8",
        ),
        pytest.param(lambda: ("", dt_push(DT_EVENT)[1]), Reason.MISSING_SIGNATURE, id="no-query"),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0].replace("timestamp=", "ts="), dt_push(DT_EVENT)[1]),
            Reason.MISSING_TIMESTAMP,
            id="missing-timestamp",
        ),
        pytest.param(
            lambda: dt_push(DT_EVENT, ts="1608001896814.0"),
            Reason.MALFORMED_TIMESTAMP,
            id="float-timestamp",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0] + "&signature=" + "0" * 40, dt_push(DT_EVENT)[1]),
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-signature",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0] + "&msg_signature=" + "0" * 40, dt_push(DT_EVENT)[1]),
            Reason.MALFORMED_SIGNATURE,
            id="both-signature-aliases",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0] + "&timeStamp=1", dt_push(DT_EVENT)[1]),
            Reason.MALFORMED_TIMESTAMP,
            id="both-timestamp-aliases",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0].replace("nonce=", "x="), dt_push(DT_EVENT)[1]),
            Reason.MALFORMED_SIGNATURE,
            id="missing-nonce",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0], b"not json"), Reason.BAD_REQUEST, id="body-not-json"
        ),
        pytest.param(lambda: (dt_push(DT_EVENT)[0], b"[]"), Reason.BAD_REQUEST, id="body-array"),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0], b'{"encrypt": 5}'),
            Reason.BAD_REQUEST,
            id="encrypt-not-string",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0], b'{"encrypt": "a", "encrypt": "b"}'),
            Reason.BAD_REQUEST,
            id="duplicate-json-key",
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0], b"[" * 100000), Reason.BAD_REQUEST, id="deep-json"
        ),
        pytest.param(
            lambda: (dt_push(DT_EVENT)[0], b"\xff\xfe{"), Reason.BAD_REQUEST, id="body-not-utf8"
        ),
    ],
)
def test_dingtalk_rejections(build: Any, reason: Reason) -> None:
    query, body = build()
    result = dt_check(query, body)
    assert result.reason is reason
    assert reason.status in (400, 401)
    assert "plaintext" not in result.details


def test_dingtalk_signature_checked_before_decryption() -> None:
    """A body whose ciphertext is garbage but whose signature is wrong says bad_signature,
    and decryption errors are indistinguishable from a wrong signature (no padding oracle)."""
    bad = dt_check(*_signed_encrypt(_bad_padding()))
    forged = dt_check(*dt_push(DT_EVENT, token="wrong"))
    assert bad.reason is forged.reason is Reason.BAD_SIGNATURE


def test_dingtalk_optional_window() -> None:
    windowed = dingtalk_events(secret=DT_TOKEN, aes_key=DT_AES, owner_key=DT_OWNER, window=60)
    ts_ms = int(DT_NOW * 1000)
    assert (
        dt_check(*dt_push(DT_EVENT, ts=str(ts_ms - 61_000)), scheme=windowed).reason
        is Reason.STALE_TIMESTAMP
    )
    assert (
        dt_check(*dt_push(DT_EVENT, ts=str(ts_ms + 61_000)), scheme=windowed).reason
        is Reason.FUTURE_TIMESTAMP
    )
    assert (
        dt_check(*dt_push(DT_EVENT, ts=str(ts_ms - 60_000)), scheme=windowed).reason
        is Reason.VERIFIED
    )
    assert windowed.replay_ttl() == 120
    assert DT.replay_ttl() is None  # no documented window: the route's replay TTL applies
    # without a window an old timestamp still verifies (DingTalk documents none)
    assert dt_check(*dt_push(DT_EVENT, ts="1000")).reason is Reason.VERIFIED


def test_dingtalk_token_rotation() -> None:
    query, body = dt_push(DT_EVENT, token="old-token")
    result = DT.check(
        request(query, body),
        KeySet([Secret("new-token", key_id="new"), Secret("old-token", key_id="old")]),
        DT_NOW,
    )
    assert (result.reason, result.key_id) == (Reason.VERIFIED, "old")
    assert ref_decrypt(DT_AES, result.details["reply"]["encrypt"])[0] == b"success"


# -- configuration of the extra credentials -----------------------------------------------------


@pytest.mark.parametrize(
    "aes_key",
    [
        pytest.param(DT_AES[:-1], id="42-chars"),
        pytest.param(DT_AES + "A", id="44-chars"),
        pytest.param("!" * 43, id="not-base64"),
        pytest.param("", id="empty"),
    ],
)
@pytest.mark.parametrize("provider", ["dingtalk_events", "wecom", "wechat"])
def test_bad_aes_key_is_a_startup_error(provider: str, aes_key: str) -> None:
    extra = {"dingtalk_events": "owner_key", "wecom": "corp_id", "wechat": "app_id"}[provider]
    with pytest.raises(ConfigurationError) as info:
        FACTORIES[provider](secret="tok", aes_key=aes_key, **{extra: "rid"})
    assert info.value.code == "webhook_guard.E002"


@pytest.mark.parametrize("provider", ["dingtalk_events", "wecom", "wechat"])
def test_credentials_resolved_from_env_and_file(
    provider: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    extra = {"dingtalk_events": "owner_key", "wecom": "corp_id", "wechat": "app_id"}[provider]
    monkeypatch.setenv("WG_AES", DT_AES)
    path = tmp_path / "rid"
    path.write_text(DT_OWNER + "\n")
    # References are resolved by the configuration layer when the guard is built.
    scheme = FACTORIES[provider](secret="tok", aes_key="env:WG_AES", **{extra: f"file:{path}"})
    assert scheme._cipher_list() == []  # type: ignore[attr-defined] # nothing resolved yet
    Guard([Route("/cb", scheme)], check_store=False)
    [cipher] = scheme._cipher_list()  # type: ignore[attr-defined]
    assert cipher.receive_id == DT_OWNER.encode()
    monkeypatch.delenv("WG_AES")
    with pytest.raises(ConfigurationError) as info:
        Guard(
            [Route("/cb", FACTORIES[provider](secret="tok", aes_key="env:WG_AES", **{extra: "rid"}))],
            check_store=False,
        )
    assert info.value.code == "webhook_guard.E002"
    missing = FACTORIES[provider](secret="tok", aes_key=DT_AES, **{extra: f"file:{tmp_path}/missing"})
    with pytest.raises(ConfigurationError):
        Guard([Route("/cb", missing)], check_store=False)


def test_missing_receive_id_is_a_startup_error() -> None:
    with pytest.raises(ConfigurationError):
        dingtalk_events(secret="tok", aes_key=DT_AES, owner_key=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        wechat(secret="tok", aes_key=DT_AES)  # safe mode needs app_id
    with pytest.raises(ConfigurationError) as info:
        dingtalk_events(secret="tok", aes_key=DT_AES, owner_key="o", window=0)
    assert info.value.code == "webhook_guard.E005"


def test_secret_values_never_in_describe() -> None:
    described = json.dumps(DT.describe())
    assert DT_AES not in described
    assert DT_OWNER not in described


# -- WeCom --------------------------------------------------------------------------------------

WC_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
WC_AES = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
WC_CORP = "ww1436e0e65a779aee"
WC = wecom(secret=WC_TOKEN, aes_key=WC_AES, corp_id=WC_CORP)

# sbzhu/weworkapi_python callback/Sample.py (Tencent's official sample values)
WC_POST_VECTOR = (
    b"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    b"Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGz"
    b"BhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
    b"WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQH"
    b"E7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYu"
    b"PDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
WC_POST_QUERY = (
    "msg_signature=0c3914025cb4b4d68103f6bfc8db550f79dcf48e&timestamp=1476422779&nonce=1597212914"
)


@pytest.mark.parametrize(
    ("token", "aes", "corp", "query", "answer"),
    [
        pytest.param(
            WC_TOKEN,
            WC_AES,
            WC_CORP,
            urlencode(
                {
                    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
                    "timestamp": "1476416373",
                    "nonce": "47744683",
                    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
                }
            ),
            b"1288432023552776189",
            id="official-vector-ww1436",
        ),
        pytest.param(
            "QDG6eK",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "wx5823bf96d3bd56c7",
            "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780"
            "&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D",
            b"1616140317555161061",
            id="official-vector-wx5823",
        ),
    ],
)
def test_wecom_official_echostr_vectors(
    token: str, aes: str, corp: str, query: str, answer: bytes
) -> None:
    scheme = wecom(secret=token, aes_key=aes, corp_id=corp)
    result = scheme.check(request(query, method="GET"), keys(token), 1_500_000_000)
    assert result.reason is Reason.VERIFIED
    assert result.response == (200, (("Content-Type", "text/plain; charset=utf-8"),), answer)
    # wrong token: not answered
    assert (
        scheme.check(request(query, method="GET"), keys("nope"), 0).reason is Reason.BAD_SIGNATURE
    )


def test_wecom_official_post_vector() -> None:
    result = WC.check(request(WC_POST_QUERY, WC_POST_VECTOR), keys(WC_TOKEN), 1_476_422_780)
    assert result.reason is Reason.VERIFIED
    assert "<Content>你好</Content>" in result.details["plaintext"]
    assert result.response is None
    assert result.timestamp == 1476422779


def test_wecom_round_trip_xml_and_json_and_reply() -> None:
    message = "<xml><Content><![CDATA[hi ✓]]></Content></xml>"
    query, body = push(WC, message, secret=WC_TOKEN, timestamp=1_700_000_000)
    assert WC.check(request(query, body), keys(WC_TOKEN), 0).details["plaintext"] == message
    encrypted = ref_encrypt(WC_AES, WC_CORP, message.encode())
    q = urlencode(
        {"msg_signature": ref_sig(WC_TOKEN, "1", "n", encrypted), "timestamp": "1", "nonce": "n"}
    )
    json_body = json.dumps({"tousername": WC_CORP, "encrypt": encrypted, "agentid": 1}).encode()
    assert WC.check(request(q, json_body), keys(WC_TOKEN), 0).details["plaintext"] == message
    reply = WC.reply_xml(WC_TOKEN, "<xml>ok</xml>", timestamp="5", nonce="x")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(reply)  # noqa: S314 - our own output
    enc = root.findtext("Encrypt") or ""
    assert root.findtext("MsgSignature") == ref_sig(WC_TOKEN, "5", "x", enc)
    assert ref_decrypt(WC_AES, enc) == (b"<xml>ok</xml>", WC_CORP.encode())


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Encrypt>&lol3;</Encrypt></xml>"""
XXE = b"""<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BOMB, id="billion-laughs"),
        pytest.param(XXE, id="external-entity"),
        pytest.param(b"<xml><Encrypt>abc", id="truncated-xml"),
        pytest.param(
            b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", id="duplicate-encrypt"
        ),
        pytest.param(b"<xml><ToUserName>x</ToUserName></xml>", id="no-encrypt"),
        pytest.param(b"<xml><Encrypt></Encrypt></xml>", id="empty-encrypt"),
        pytest.param(b"<root><Encrypt>abc</Encrypt></root>", id="wrong-root"),
        pytest.param(b"<xml><Encrypt><b>x</b></Encrypt></xml>", id="nested-encrypt"),
        pytest.param(b"<xml>" + b"<a>1</a>" * 100 + b"</xml>", id="too-many-children"),
        pytest.param(b"<xml><!-- c --><Encrypt>abc</Encrypt></xml>", id="comment"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b"\x00\x01garbage", id="binary"),
        pytest.param(b'{"encrypt": "a", "Encrypt": "b"}', id="json-both-cases"),
    ],
)
def test_wecom_malformed_envelope_is_400_never_an_exception(body: bytes) -> None:
    query = "msg_signature=" + "0" * 40 + "&timestamp=1&nonce=2"
    result = WC.check(request(query, body), keys(WC_TOKEN), 0)
    assert result.reason is Reason.BAD_REQUEST


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(
            lambda q: q.replace("msg_signature=", "sig="),
            Reason.MISSING_SIGNATURE,
            id="no-signature",
        ),
        pytest.param(
            lambda q: q + "&msg_signature=" + "1" * 40,
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-signature",
        ),
        pytest.param(
            lambda q: q.replace("timestamp=", "timestamp=x"),
            Reason.MALFORMED_TIMESTAMP,
            id="bad-timestamp",
        ),
        pytest.param(lambda q: q + "&nonce=2", Reason.MALFORMED_SIGNATURE, id="duplicate-nonce"),
        pytest.param(
            lambda q: q.replace("msg_signature=0c", "msg_signature=0C"),
            Reason.BAD_SIGNATURE,
            id="uppercase-hex",
        ),
        pytest.param(
            lambda q: q.replace("msg_signature=0c", "msg_signature=0"),
            Reason.MALFORMED_SIGNATURE,
            id="truncated-signature",
        ),
    ],
)
def test_wecom_query_rejections(mutate: Any, reason: Reason) -> None:
    result = WC.check(request(mutate(WC_POST_QUERY), WC_POST_VECTOR), keys(WC_TOKEN), 0)
    assert result.reason is reason


def test_wecom_echostr_failures() -> None:
    echostr = ref_encrypt(WC_AES, "wwOTHER", b"12345")
    query = urlencode(
        {
            "msg_signature": ref_sig(WC_TOKEN, "1", "n", echostr),
            "timestamp": "1",
            "nonce": "n",
            "echostr": echostr,
        }
    )
    mismatch = WC.check(request(query, method="GET"), keys(WC_TOKEN), 0)
    assert (mismatch.reason, mismatch.response) == (Reason.BAD_SIGNATURE, None)
    unsigned = WC.check(request("echostr=abc", method="GET"), keys(WC_TOKEN), 0)
    assert (unsigned.reason, unsigned.response) == (Reason.MISSING_SIGNATURE, None)
    twice = WC.check(request(query + "&echostr=x", method="GET"), keys(WC_TOKEN), 0)
    assert twice.reason is Reason.BAD_REQUEST


def test_tencent_cipher_round_trip_against_reference() -> None:
    cipher = TencentCipher.from_encoding_aes_key(WC_AES, WC_CORP)
    assert ref_decrypt(WC_AES, cipher.encrypt("多字节".encode())) == (
        "多字节".encode(),
        WC_CORP.encode(),
    )
    assert cipher.decrypt(ref_encrypt(WC_AES, WC_CORP, b"x" * 1000)) == b"x" * 1000
    assert cipher.decrypt(ref_encrypt(WC_AES, WC_CORP + "x", b"m")) is None
    assert cipher.decrypt(ref_encrypt(WC_AES, WC_CORP[:-1], b"m")) is None


# -- WeChat Official Accounts --------------------------------------------------------------------

WX_TOKEN = "wxtoken"
WX_APPID = "wx5823bf96d3bd56c7"
WX_PLAIN = wechat(secret=WX_TOKEN)
WX_SAFE = wechat(secret=WX_TOKEN, aes_key=WC_AES, app_id=WX_APPID)


@pytest.mark.parametrize("scheme", [WX_PLAIN, WX_SAFE], ids=["plain", "safe"])
def test_wechat_echostr_answered_after_plain_signature(scheme: Any) -> None:
    query = urlencode(
        {
            "signature": ref_sig(WX_TOKEN, "1700000000", "42"),
            "timestamp": "1700000000",
            "nonce": "42",
            "echostr": "7012345",
        }
    )
    result = scheme.check(request(query, method="GET"), keys(WX_TOKEN), 0)
    assert result.response == (200, (("Content-Type", "text/plain; charset=utf-8"),), b"7012345")
    forged = query.replace("signature=", "signature=0", 1)
    assert scheme.check(request(forged, method="GET"), keys(WX_TOKEN), 0).response is None
    assert (
        scheme.check(request("echostr=1", method="GET"), keys(WX_TOKEN), 0).reason
        is Reason.MISSING_SIGNATURE
    )


def test_wechat_plain_mode_post() -> None:
    body = b"<xml><Content>hi</Content></xml>"
    query, sent = push(WX_PLAIN, body, secret=WX_TOKEN, timestamp=1_700_000_000)
    result = WX_PLAIN.check(request(query, sent), keys(WX_TOKEN), 0)
    assert result.reason is Reason.VERIFIED
    assert WX_PLAIN.body_signed is False
    assert WX_PLAIN.check(request(query, sent), keys("other"), 0).reason is Reason.BAD_SIGNATURE


def test_wechat_safe_mode_post_and_no_downgrade() -> None:
    message = "<xml><MsgType><![CDATA[text]]></MsgType></xml>"
    query, body = push(WX_SAFE, message, secret=WX_TOKEN, timestamp=1_700_000_000)
    result = WX_SAFE.check(request(query, body), keys(WX_TOKEN), 0)
    assert (result.reason, result.details["plaintext"]) == (Reason.VERIFIED, message)
    # a plain-mode request (valid `signature`, no msg_signature) is refused in safe mode
    plain_query, plain_body = push(WX_PLAIN, message, secret=WX_TOKEN, timestamp=1_700_000_000)
    assert (
        WX_SAFE.check(request(plain_query, plain_body), keys(WX_TOKEN), 0).reason
        is Reason.MISSING_SIGNATURE
    )
    # encrypted for another app id
    encrypted = ref_encrypt(WC_AES, "wxOTHER", message.encode())
    q = urlencode(
        {"msg_signature": ref_sig(WX_TOKEN, "1", "n", encrypted), "timestamp": "1", "nonce": "n"}
    )
    xml = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    assert WX_SAFE.check(request(q, xml), keys(WX_TOKEN), 0).reason is Reason.BAD_SIGNATURE
    with pytest.raises(ValueError, match="aes_key"):
        WX_PLAIN.reply_xml(WX_TOKEN, "x")


# -- Feishu / Lark ----------------------------------------------------------------------------------

FS_KEY = "feishu-encrypt-key"
FS_TOKEN = "feishu-verification-token"
FS = feishu(secret=FS_KEY, verification_token=FS_TOKEN)
FS_NOW = 1_700_000_000
FS_EVENT = {
    "schema": "2.0",
    "header": {"event_id": "e1", "event_type": "im.message.receive_v1", "token": FS_TOKEN},
    "event": {"message": {"content": "你好"}},
}


def fs_body(event: dict[str, Any], key: str = FS_KEY) -> bytes:
    return json.dumps({"encrypt": ref_feishu_encrypt(key, json.dumps(event).encode())}).encode()


def fs_check(
    headers: dict[str, str] | list[tuple[str, str]],
    body: bytes,
    scheme: Any = FS,
    key_set: KeySet | None = None,
) -> Check:
    return scheme.check(request(body=body, headers=headers), key_set or keys(FS_KEY), FS_NOW)  # type: ignore[no-any-return]


def test_feishu_official_decryption_vector() -> None:

    assert (
        feishu_decrypt(b"test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
        == "hello world"
    )


def test_feishu_signed_event_round_trip() -> None:
    body = fs_body(FS_EVENT)
    result = fs_check(ref_feishu_headers(FS_KEY, body, str(FS_NOW)), body)
    assert result.reason is Reason.VERIFIED
    assert json.loads(result.details["plaintext"]) == FS_EVENT
    assert result.response is None
    assert result.replay_material is not None
    ours = FS.sign(json.dumps(FS_EVENT).encode(), secret=FS_KEY, timestamp=FS_NOW)
    assert ours.body != json.dumps(FS_EVENT).encode()  # sent encrypted
    assert fs_check(ours, ours.body).reason is Reason.VERIFIED
    assert ref_feishu_headers(FS_KEY, ours.body, str(FS_NOW), "n0nce") == provider_headers(ours)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(
            lambda h, b: ({**h, "X-Lark-Signature": "0" * 64}, b),
            Reason.BAD_SIGNATURE,
            id="wrong-signature",
        ),
        pytest.param(lambda h, b: (h, b + b" "), Reason.BAD_SIGNATURE, id="tampered-body"),
        pytest.param(
            lambda h, b: ({**h, "X-Lark-Request-Nonce": "zzz"}, b),
            Reason.BAD_SIGNATURE,
            id="nonce-changed",
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Lark-Signature": h["X-Lark-Signature"].upper()}, b),
            Reason.BAD_SIGNATURE,
            id="uppercase-hex",
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Lark-Signature": h["X-Lark-Signature"][:-2]}, b),
            Reason.MALFORMED_SIGNATURE,
            id="truncated",
        ),
        pytest.param(
            lambda h, b: ([*h.items(), ("X-Lark-Signature", h["X-Lark-Signature"])], b),
            Reason.MALFORMED_SIGNATURE,
            id="duplicate-signature",
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "X-Lark-Request-Timestamp"}, b),
            Reason.MISSING_TIMESTAMP,
            id="missing-timestamp",
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Lark-Request-Timestamp": "1e9"}, b),
            Reason.MALFORMED_TIMESTAMP,
            id="bad-timestamp",
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "X-Lark-Request-Nonce"}, b),
            Reason.MALFORMED_SIGNATURE,
            id="missing-nonce",
        ),
        pytest.param(lambda h, b: ({}, b), Reason.MISSING_SIGNATURE, id="unsigned-event"),
    ],
)
def test_feishu_rejections(mutate: Any, reason: Reason) -> None:
    body = fs_body(FS_EVENT)
    headers, sent = mutate(ref_feishu_headers(FS_KEY, body, str(FS_NOW)), body)
    assert fs_check(headers, sent).reason is reason


@pytest.mark.parametrize(
    ("plain_body", "reason"),
    [
        pytest.param(
            json.dumps(FS_EVENT).encode(), Reason.BAD_REQUEST, id="signed-but-not-encrypted"
        ),
        pytest.param(b"{]", Reason.BAD_REQUEST, id="signed-not-json"),
        pytest.param(
            json.dumps({"encrypt": "!!!"}).encode(), Reason.BAD_SIGNATURE, id="encrypt-not-base64"
        ),
        pytest.param(
            json.dumps({"encrypt": ref_feishu_encrypt("other", b"{}")}).encode(),
            Reason.BAD_SIGNATURE,
            id="encrypted-with-other-key",
        ),
        pytest.param(
            json.dumps({"encrypt": ref_feishu_encrypt(FS_KEY, b"not json")}).encode(),
            Reason.BAD_REQUEST,
            id="plaintext-not-json",
        ),
        pytest.param(
            fs_body({**FS_EVENT, "header": {**FS_EVENT["header"], "token": "wrong"}}),
            Reason.BAD_SIGNATURE,
            id="wrong-verification-token",
        ),
    ],
)
def test_feishu_signed_but_bad_payload(plain_body: bytes, reason: Reason) -> None:
    assert (
        fs_check(ref_feishu_headers(FS_KEY, plain_body, str(FS_NOW)), plain_body).reason is reason
    )


CHALLENGE = {"challenge": "ajls384kdjx98XX", "token": FS_TOKEN, "type": "url_verification"}


def test_feishu_signed_url_verification_answered() -> None:
    body = fs_body(CHALLENGE)
    result = fs_check(ref_feishu_headers(FS_KEY, body, str(FS_NOW)), body)
    assert result.reason is Reason.VERIFIED
    assert result.response is not None
    assert json.loads(result.response[2]) == {"challenge": "ajls384kdjx98XX"}


def test_feishu_unsigned_url_verification_needs_the_token() -> None:
    """Feishu sends url_verification without X-Lark-* headers (openclaw#58905, larksuite/node-sdk#67):
    it is answered only when the decrypted challenge carries the verification token."""
    body = fs_body(CHALLENGE)
    answered = fs_check({}, body)
    assert answered.response is not None
    assert json.loads(answered.response[2]) == {"challenge": "ajls384kdjx98XX"}
    wrong_token = fs_body({**CHALLENGE, "token": "guess"})
    assert fs_check({}, wrong_token).reason is Reason.MISSING_SIGNATURE
    other_key = fs_body(CHALLENGE, key="attacker-key")
    assert fs_check({}, other_key).reason is Reason.MISSING_SIGNATURE
    plaintext_challenge = json.dumps(CHALLENGE).encode()
    assert fs_check({}, plaintext_challenge).reason is Reason.MISSING_SIGNATURE
    no_token_configured = feishu(secret=FS_KEY)
    assert fs_check({}, body, scheme=no_token_configured).reason is Reason.MISSING_SIGNATURE
    # an unsigned *event* is never accepted, even with the right token inside
    assert fs_check({}, fs_body(FS_EVENT)).reason is Reason.MISSING_SIGNATURE


def test_feishu_token_mode_without_encrypt_key() -> None:
    scheme = feishu(verification_token=FS_TOKEN)
    assert scheme.body_signed is False
    token_keys = keys(FS_TOKEN)
    event = json.dumps(FS_EVENT).encode()
    assert fs_check({}, event, scheme=scheme, key_set=token_keys).reason is Reason.VERIFIED
    v1 = json.dumps({"uuid": "u", "token": FS_TOKEN, "event": {"type": "message"}}).encode()
    assert fs_check({}, v1, scheme=scheme, key_set=token_keys).reason is Reason.VERIFIED
    challenge = fs_check({}, json.dumps(CHALLENGE).encode(), scheme=scheme, key_set=token_keys)
    assert challenge.response is not None
    assert json.loads(challenge.response[2]) == {"challenge": "ajls384kdjx98XX"}
    bad = json.dumps({**CHALLENGE, "token": "nope"}).encode()
    assert fs_check({}, bad, scheme=scheme, key_set=token_keys).reason is Reason.BAD_SIGNATURE
    assert (
        fs_check({}, b'{"schema":"2.0"}', scheme=scheme, key_set=token_keys).reason
        is Reason.MISSING_SIGNATURE
    )
    assert fs_check({}, b"nope", scheme=scheme, key_set=token_keys).reason is Reason.BAD_REQUEST
    assert (
        fs_check({}, fs_body(FS_EVENT), scheme=scheme, key_set=token_keys).reason
        is Reason.BAD_REQUEST
    )


def test_feishu_configuration() -> None:
    with pytest.raises(ConfigurationError) as info:
        feishu()
    assert info.value.code == "webhook_guard.E003"
    with pytest.raises(ConfigurationError):
        feishu(secret="a", encrypt_key="b")
    assert feishu(encrypt_key=FS_KEY).secret == FS_KEY
    assert lark(secret=FS_KEY).name == "lark"
    unset = feishu(secret=FS_KEY, verification_token="env:WG_SURELY_UNSET_TOKEN")
    with pytest.raises(ConfigurationError) as raised:  # resolved when the guard is built
        Guard([Route("/cb", unset)], check_store=False)
    assert raised.value.code == "webhook_guard.E002"
    windowed = feishu(secret=FS_KEY, window=300)
    body = fs_body(FS_EVENT)
    stale = ref_feishu_headers(FS_KEY, body, str(FS_NOW - 301))
    assert fs_check(stale, body, scheme=windowed).reason is Reason.STALE_TIMESTAMP
    assert fs_check(stale, body).reason is Reason.VERIFIED  # no window by default (SDK has none)


def test_feishu_encrypt_helper_matches_reference() -> None:

    assert feishu_decrypt(FS_KEY.encode(), feishu_encrypt(FS_KEY, "héllo")) == "héllo"


def test_feishu_lark_oapi_both_ways() -> None:
    lark_oapi = pytest.importorskip("lark_oapi")
    from lark_oapi.core.utils.decryptor import AESCipher

    # encrypted by us, decrypted by the SDK; encrypted by the SDK's peer format, decrypted by us
    assert AESCipher(FS_KEY).decrypt_str(feishu_encrypt(FS_KEY, "héllo")) == "héllo"
    assert (
        AESCipher("test key").decrypt_str("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
        == "hello world"
    )
    seen: list[Any] = []
    handler = (
        lark_oapi.EventDispatcherHandler.builder(FS_KEY, FS_TOKEN)
        .register_p2_customized_event("im.message.receive_v1", seen.append)
        .build()
    )
    signed = FS.sign(json.dumps(FS_EVENT).encode(), secret=FS_KEY, timestamp=FS_NOW)  # by us
    body, ours = signed.body, provider_headers(signed)
    raw = lark_oapi.RawRequest()
    raw.uri, raw.headers, raw.body = "/cb", ours, body
    assert handler.do(raw).status_code == 200
    assert len(seen) == 1
    raw.headers = {**ours, "X-Lark-Signature": "0" * 64}
    assert handler.do(raw).status_code != 200
    assert len(seen) == 1
    # the SDK computes the signature exactly like our independent reference
    ref = ref_feishu_headers(FS_KEY, body, str(FS_NOW), nonce="n0nce")
    assert ref == ours
    assert fs_check(ref, body).reason is Reason.VERIFIED


# -- registry ------------------------------------------------------------------------------


def test_factories_registry() -> None:
    assert sorted(FACTORIES) == ["dingtalk_events", "feishu", "lark", "wechat", "wecom"]
    assert DT.name == "dingtalk_events"
    assert WC.name == "wecom"
    assert WX_PLAIN.name == "wechat"
    assert FS.name == "feishu"


# -- end to end through the ASGI adapter ----------------------------------------------------------


async def _call(
    app: Any, path: str, query: str, body: bytes, method: str = "POST"
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    scope = build_asgi_scope(path, body=body, method=method, headers=headers, query=query)
    status, _, content = await call_asgi(app, scope, body)
    return status, content


def test_dingtalk_events_end_to_end_asgi() -> None:
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        verdict = get_verdict(scope)
        message = await receive()
        seen.append(
            (verdict.provider, verdict.verified, verdict.details.get("plaintext"), message["body"])
        )
        reply = json.dumps(verdict.details["reply"]).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    guard = Guard(
        [
            Route(
                "/hooks/dingtalk/events",
                dingtalk_events(secret=DT_TOKEN, aes_key=DT_AES, owner_key=DT_OWNER),
            )
        ],
        clock=FrozenClock(DT_NOW),
    )
    wrapped = guard.asgi(app)

    async def scenario() -> None:
        query, body = dt_push(DT_EVENT)
        status, content = await _call(wrapped, "/hooks/dingtalk/events", query, body)
        assert status == 200
        assert seen == [("dingtalk_events", True, DT_EVENT, body)]  # raw body untouched
        assert ref_decrypt(DT_AES, json.loads(content)["encrypt"])[0] == b"success"

        forged_query, forged_body = dt_push(DT_EVENT, token="forged", nonce="other")
        status, content = await _call(wrapped, "/hooks/dingtalk/events", forged_query, forged_body)
        assert status == 401
        assert json.loads(content)["error"] == "bad_signature"

        status, content = await _call(
            wrapped,
            "/hooks/dingtalk/events",
            DT_VECTOR_QUERY,
            json.dumps({"encrypt": DT_VECTOR_ENCRYPT}).encode(),
        )
        assert status == 200
        assert ref_decrypt(DT_AES, json.loads(content)["encrypt"])[0] == b"success"

        status, content = await _call(wrapped, "/hooks/dingtalk/events", query, b"<not json>")
        assert status == 400
        assert len(seen) == 1  # forged, handshake and malformed requests never reached the app

    asyncio.run(scenario())


def test_wecom_echostr_end_to_end_wsgi_without_body() -> None:
    """WeCom's URL check is a GET with no body and no Content-Length: the guard answers it."""
    from webhook_guard.testing import build_wsgi_environ

    called: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        called.append(1)
        start_response("200 OK", [])
        return [b"app"]

    wrapped = Guard([Route("/hooks/wecom", WC)], clock=FrozenClock(1_476_416_373)).wsgi(app)
    echostr = (
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    )
    params = {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        "echostr": echostr,
    }

    def get(query: str) -> tuple[str, bytes]:
        environ = build_wsgi_environ("/hooks/wecom", method="GET", query=query)
        del environ["CONTENT_LENGTH"]
        status: list[str] = []
        body = b"".join(wrapped(environ, lambda s, h, e=None: status.append(s)))
        return status[0], body

    assert get(urlencode(params)) == ("200 OK", b"1288432023552776189")
    status, _ = get(urlencode({**params, "nonce": "1"}))
    assert status.startswith("401")
    assert called == []
