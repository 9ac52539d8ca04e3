"""Every registered provider, through the WSGI adapter: what its ``sign`` produces verifies,
the app receives exactly those bytes with the provider's verdict, and a tampered body or a
wrong key is refused before the app.

Each provider's own module tests its scheme in depth against SDKs and published vectors;
this table makes sure no provider is registered without a working signer, and that the
signer and the verifier agree on the wire (headers, query, URL), not only in memory.
"""

from __future__ import annotations

import ast
import base64
import inspect
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import webhook_guard.providers
from tests.providers.helpers import guard_for, send_wsgi
from webhook_guard import Guard, Route, Verdict
from webhook_guard.core.scheme import Scheme
from webhook_guard.core.signing import guess_content_type
from webhook_guard.providers import REGISTRY, names
from webhook_guard.providers.sns import TEST_CERT_URL, TEST_TOPIC, self_signed_certificate
from webhook_guard.testing import FrozenClock, SignedRequest

NOW = 1_790_000_000.0
PATH = "/hooks/p"
PUBLIC_URL = "https://hooks.example.com/hooks/p"
JSON_BODY = b'{"id":"evt_1","amount":100,"name":"Zo\xc3\xab"}'
FORM_BODY = b"CallSid=CA1&Body=hello+world&To=%2B14155550100"
FORM = "application/x-www-form-urlencoded"

HMAC_KEY = "registry-secret"
WHSEC = "whsec_" + base64.b64encode(b"registry-secret-24-bytes").decode()
OTHER_WHSEC = "whsec_" + base64.b64encode(b"another-secret-24-bytes!").decode()
AIRTABLE_KEY = base64.b64encode(b"\x01airtable mac secret\xff").decode()
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"

_ED = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_RSA_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = ec.derive_private_key(0x5EC12E7, ec.SECP256R1())
_EC_OTHER = ec.derive_private_key(0x0DD, ec.SECP256R1())


def _ed_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes_raw().hex()


def _ed_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def _ec_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


#: One request as sent: headers, body, query, URL and method (what ``sign`` returns).
Wire = SignedRequest

Signer = Callable[[Scheme, bytes, str], Wire]


def _headers(**sign: Any) -> Signer:
    """Signs with the provider's own ``sign`` (the one signing interface)."""

    def make(scheme: Scheme, body: bytes, secret: str) -> Wire:
        url = PUBLIC_URL if scheme.needs_url else None
        signed = scheme.sign(body, secret=secret, timestamp=NOW, url=url, **sign)
        if "Content-Type" not in signed.headers:  # the sender's own header, as the test kit adds it
            kind = guess_content_type(signed.body, form=scheme.needs_url)
            signed = replace(signed, headers={"Content-Type": kind or "text/plain", **signed.headers})
        return signed

    return make


@dataclass
class Case:
    #: The secret the route is configured with (a public key for asymmetric schemes).
    secret: str = HMAC_KEY
    #: What the sender signs with (a private key for asymmetric schemes).
    signing: str | None = None
    #: A different sender key: its signatures must be refused.
    wrong: str = "some-other-secret"
    options: dict[str, Any] = field(default_factory=dict)
    signer: Signer = field(default_factory=_headers)
    body: bytes = JSON_BODY
    #: Whether a tampered body must be refused (the signature covers the body, or for the
    #: encrypted callbacks its ``encrypt`` field).
    body_signed: bool = True


_ENCRYPTED_BODY = b'{"EventType":"user_add_org","UserId":["u1"]}'
ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
_ADYEN_BODY = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": {
    "amount": {"currency": "EUR", "value": 1130}, "eventCode": "AUTHORISATION",
    "merchantAccountCode": "TestMerchant", "merchantReference": "Zo\u00eb-1",
    "pspReference": "7914073381342284", "success": "true", "additionalData": {}}}]}).encode()
_GRAPH_BODY = b'{"value":[{"changeType":"created","resource":"Users/1/messages/2"}]}'
_FEISHU_EVENT = b'{"schema":"2.0","header":{"token":"vt","event_type":"im.message.receive_v1"}}'
_WXML = b"<xml><ToUserName>toUser</ToUserName><Content>hi</Content></xml>"

CASES: dict[str, Case] = {
    "adyen": Case(ADYEN_KEY, wrong="00" * 32, body=_ADYEN_BODY, body_signed=False),
    # AWS SNS: the route pins the signing key's certificate under the URL sign() names.
    "aws_sns": Case(
        {TEST_CERT_URL: self_signed_certificate(_pem(_RSA))},  # type: ignore[arg-type]
        signing=_pem(_RSA),
        wrong=_pem(_RSA_OTHER),
        options={"topics": [TEST_TOPIC]},
        body_signed=False,  # only the named fields are signed (UnsubscribeURL is not)
    ),
    "airtable": Case(AIRTABLE_KEY, wrong=base64.b64encode(b"nope").decode()),
    "clerk": Case(WHSEC, wrong=OTHER_WHSEC),
    "dingtalk": Case(body_signed=False),
    "dingtalk_events": Case(
        options={"aes_key": AES_KEY, "owner_key": "ding-corp"}, body=_ENCRYPTED_BODY
    ),
    "dingtalk_token": Case(options={"query": "access_token"}),
    "discord": Case(_ed_hex(_ED), signing=bytes(range(32)).hex(), wrong=bytes(range(1, 33)).hex()),
    "feishu": Case("feishu-encrypt-key", body=_FEISHU_EVENT),
    "gitlab_signed": Case(WHSEC, wrong=OTHER_WHSEC),
    "hmac": Case(options={"header": "X-Signature"}),
    "lark": Case("lark-encrypt-key", body=_FEISHU_EVENT),
    "linear": Case(body=b'{"action":"create","webhookTimestamp":1790000000000}'),
    "mailgun": Case(signer=_headers(token="a" * 50), body_signed=False),
    "mandrill": Case(body=FORM_BODY),
    "microsoft_graph": Case(body=_GRAPH_BODY, body_signed=False),
    "plivo": Case(body=FORM_BODY),
    "polar": Case(WHSEC, wrong=OTHER_WHSEC),
    "resend": Case(WHSEC, wrong=OTHER_WHSEC),
    "seatable_legacy": Case(body_signed=False),
    "sendgrid": Case(_ec_b64(_EC), signing=_pem(_EC), wrong=_pem(_EC_OTHER)),
    "shopify_app_proxy": Case(body_signed=False),  # signs the query; a proxied body is not
    "standard_webhooks": Case(WHSEC, wrong=OTHER_WHSEC),
    "svix": Case(WHSEC, wrong=OTHER_WHSEC),
    "telnyx": Case(
        _ed_b64(_ED),
        signing=base64.b64encode(bytes(range(32))).decode(),
        wrong=base64.b64encode(bytes(range(1, 33))).decode(),
    ),
    "token": Case(options={"header": "X-Token"}),
    "twilio": Case(body=FORM_BODY),
    "wechat": Case(options={"aes_key": AES_KEY, "app_id": "wx-app"}, body=_WXML),
    "wecom": Case(options={"aes_key": AES_KEY, "corp_id": "ww-corp"}, body=_WXML),
}
#: Static-token schemes: the token is all there is (the body is not signed).
for _name in ("cloudflare", "gitlab", "okta", "telegram", "token", "dingtalk_token"):
    CASES.setdefault(_name, Case()).body_signed = False


def case(name: str) -> Case:
    return CASES.get(name, Case())


def _send(guard: Guard, wire: Wire) -> tuple[int, bytes, list[tuple[bytes, Verdict]]]:
    return send_wsgi(guard, wire, PATH)


def _guard(name: str, *, replay: bool = True) -> Guard:
    c = case(name)
    scheme = REGISTRY[name](secret=c.secret, **c.options)
    route = Route(PATH, scheme, public_url=PUBLIC_URL, replay=replay)
    return guard_for(route, clock=FrozenClock(NOW))  # checks a legacy scheme's warning


def _signed(name: str, *, key: str | None = None, body: bytes | None = None) -> Wire:
    c = case(name)
    scheme = REGISTRY[name](secret=c.secret, **c.options)
    signing = key if key is not None else (c.signing or c.secret)
    return c.signer(scheme, c.body if body is None else body, signing)


def test_every_registered_provider_has_a_case() -> None:
    """The table covers the registry (a new provider defaults to a plain HMAC case)."""
    assert set(CASES) <= set(names())
    assert len(names()) >= 70


@pytest.mark.parametrize("name", names())
def test_signed_request_reaches_the_app_with_exact_bytes(name: str) -> None:
    wire = _signed(name)
    status, out, seen = _send(_guard(name), wire)
    assert status == 200, out
    [(body, verdict)] = seen
    assert body == wire.body
    assert verdict.verified
    scheme = REGISTRY[name](secret=case(name).secret, **case(name).options)
    assert (verdict.provider, verdict.body_signed) == (scheme.name, scheme.body_signed)


@pytest.mark.parametrize("name", names())
def test_wrong_key_is_refused_before_the_app(name: str) -> None:
    status, out, seen = _send(_guard(name), _signed(name, key=case(name).wrong))
    assert 400 <= status < 500, out
    assert seen == []


@pytest.mark.parametrize("name", [n for n in names() if case(n).body_signed])
def test_tampered_body_is_refused_before_the_app(name: str) -> None:
    wire = _signed(name)
    # One byte changed in the middle of the body the signature covers.
    middle = len(wire.body) // 2
    flipped = wire.body[:middle] + bytes([wire.body[middle] ^ 0x01]) + wire.body[middle + 1 :]
    tampered = Wire(wire.headers, flipped, wire.query, wire.url, wire.method)
    status, out, seen = _send(_guard(name, replay=False), tampered)
    assert 400 <= status < 500, out
    assert seen == []


@pytest.mark.parametrize("name", names())
def test_unsigned_request_is_refused_before_the_app(name: str) -> None:
    c = case(name)
    wire = Wire({"Content-Type": "application/json"}, c.body)  # signed by no one
    status, out, seen = _send(_guard(name), wire)
    assert 400 <= status < 500, out
    assert seen == []


def test_url_signed_request_does_not_verify_at_another_url() -> None:
    """The URL is part of what is signed: the table's URL-signed cases really use it."""
    for name in ("twilio", "square", "mandrill", "plivo", "hubspot"):
        c = case(name)
        scheme = REGISTRY[name](secret=c.secret)
        guard = Guard(
            [Route(PATH, scheme, public_url=PUBLIC_URL.replace("hooks.", "other."))],
            clock=FrozenClock(NOW),
        )
        status, _, seen = _send(guard, _signed(name))
        assert (status, seen) == (401, []), name


@pytest.mark.parametrize("name", ["twilio", "square", "mandrill", "plivo", "hubspot"])
def test_url_signed_sign_needs_the_url(name: str) -> None:
    scheme = REGISTRY[name](secret=HMAC_KEY)
    with pytest.raises(ValueError, match="needs url="):
        scheme.sign(FORM_BODY, secret=HMAC_KEY, timestamp=NOW)


@pytest.mark.parametrize("name", names())
def test_every_provider_signs_through_one_interface(name: str) -> None:
    """``sign(body, *, secret, timestamp=None, url=None, **options) -> SignedRequest``."""
    c = case(name)
    scheme = REGISTRY[name](secret=c.secret, **c.options)
    parameters = inspect.signature(scheme.sign).parameters
    assert list(parameters)[:4] == ["body", "secret", "timestamp", "url"]
    assert parameters["timestamp"].default is None
    assert parameters["url"].default is None
    assert all(p.kind is p.KEYWORD_ONLY for n, p in parameters.items() if n != "body")
    wire = _signed(name)
    assert isinstance(wire, SignedRequest)
    assert dict(wire) == wire.headers  # also a mapping of its headers


# -- the registry: static names, and what providers may import ----------------------------

PROVIDERS_DIR = Path(webhook_guard.providers.__file__).parent


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_name_is_bound_statically_in_the_package() -> None:
    """Each registered name is a plain module-level import of ``webhook_guard.providers``
    (not a ``__getattr__`` lookup), so type checkers see it; ``__all__`` lists it."""
    bound = _module_level_imports(PROVIDERS_DIR / "__init__.py")
    missing = sorted(set(names()) - bound)
    assert not missing, f"add to the import list of providers/__init__.py: {missing}"
    assert set(names()) <= set(webhook_guard.providers.__all__)
    assert "__getattr__" not in vars(webhook_guard.providers)


@pytest.mark.parametrize("name", names())
def test_from_providers_import_name(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from webhook_guard.providers import {name}", namespace)  # noqa: S102 - the test
    assert namespace[name] is REGISTRY[name]
    assert namespace[name].name == name


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top or _in_type_checking(tree, node)))
    return found


def _in_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    return any(
        isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        and any(child is target for child in ast.walk(node))
        for node in tree.body
    )  # fmt: skip


def _allowed(module: str, *, lazy: bool) -> bool:
    root = module.partition(".")[0]
    if module.startswith(("webhook_guard.core", "webhook_guard.providers")):
        return True
    if module == "webhook_guard.exceptions" or root in sys.stdlib_module_names:
        return True
    return lazy and root == "cryptography"


@pytest.mark.parametrize("path", sorted(PROVIDERS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_providers_import_only_core_stdlib_and_lazily_cryptography(path: Path) -> None:
    bad = [m for m, top in _imports(path) if not _allowed(m, lazy=not top)]
    assert bad == []


def test_import_rule_can_fail(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import cryptography\ndef f():\n    from webhook_guard import keysources\n")
    assert [m for m, top in _imports(module) if not _allowed(m, lazy=not top)] == [
        "cryptography",
        "webhook_guard",
    ]


def test_importing_the_providers_does_no_io_and_loads_no_extra() -> None:
    code = (
        "import sys, json, webhook_guard.providers\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('webhook_guard', "
        "'cryptography', 'logging')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not {m for m in loaded if m.startswith(("cryptography", "logging"))}
    assert not {"webhook_guard.keysources", "webhook_guard.guard", "webhook_guard.testing"} & loaded
