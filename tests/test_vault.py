"""vault_kv against a stand-in Vault KV v2 server on 127.0.0.1.

Refreshes are driven with ``refresh_now()`` and a scheduler that starts nothing, except in
the hung-Vault test, which uses the real refresher thread with bounded waits."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webhook_guard.core.keys import KeySet
from webhook_guard.keysources import KeySource, resolve
from webhook_guard.testing import FrozenClock
from webhook_guard.vault import AppRole, Kubernetes, VaultError, vault_kv

TOKEN = "vault-test-token"
ROLE_ID = "role-id-1"
SECRET_ID = "secret-id-1"
JWT = "eyJhbGciOiJSUzI1NiJ9.service-account.sig"


class Vault:
    """A stand-in for Vault on 127.0.0.1 following its documented HTTP API: KV v2 reads
    (``GET /v1/<mount>/data/<path>`` with ``X-Vault-Token``), and the AppRole and
    Kubernetes logins (``POST /v1/auth/<mount>/login`` answering ``auth.client_token``
    and ``auth.lease_duration``). Unknown or revoked tokens get 403, as in Vault."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.data: dict[str, str] = {"current": "secret-one"}
        self.up = True
        self.requests = 0
        self.logins = 0
        self.lease = 3600
        self.tokens = {TOKEN}
        self.namespaces: list[str | None] = []
        self.hang: threading.Event | None = None  # set: requests wait (bounded) for it
        self.trickle: float | None = None  # seconds between the bytes of an answer's body
        self.hit = threading.Event()
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, document: Any = None) -> None:
                body = json.dumps(document).encode() if document is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if vault.trickle is None:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):  # bounded; ends when the client hangs up
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(vault.trickle)

            def do_GET(self) -> None:
                vault.requests += 1
                vault.hit.set()
                vault.namespaces.append(self.headers.get("X-Vault-Namespace"))
                if vault.hang is not None:
                    vault.hang.wait(10)
                if not vault.up:
                    return self._answer(503, {"errors": ["Vault is sealed"]})
                if self.headers.get("X-Vault-Token") not in vault.tokens:
                    return self._answer(403, {"errors": ["permission denied"]})
                if self.path != "/v1/secret/data/webhooks/github":
                    return self._answer(404, {"errors": []})
                self._answer(200, {"data": {"data": vault.data, "metadata": {"version": 1}}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    sent = json.loads(self.rfile.read(length))
                except ValueError:
                    return self._answer(400, {"errors": ["invalid JSON"]})
                expected = {
                    "/v1/auth/approle/login": {"role_id": ROLE_ID, "secret_id": SECRET_ID},
                    "/v1/auth/kubernetes/login": {"role": "webhooks", "jwt": JWT},
                }.get(self.path)
                if expected is None:
                    return self._answer(404, {"errors": []})
                if sent != expected:
                    return self._answer(400, {"errors": ["invalid role or secret id"]})
                vault.logins += 1
                token = f"hvs.login-{vault.logins}"
                vault.tokens.add(token)
                auth = {"client_token": token, "lease_duration": vault.lease, "renewable": True}
                self._answer(200, {"auth": auth})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.address = f"{scheme}://127.0.0.1:{self.server.server_port}"


def _serve(stand_in: Vault) -> Iterator[Vault]:
    thread = threading.Thread(target=stand_in.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    if stand_in.hang is not None:
        stand_in.hang.set()
    stand_in.server.shutdown()
    stand_in.server.server_close()
    thread.join(5)


@pytest.fixture
def vault() -> Iterator[Vault]:
    yield from _serve(Vault())


def no_thread(source: KeySource) -> Callable[[], None]:
    """A scheduler that starts nothing: the test refreshes with ``refresh_now()``."""
    return lambda: None


def ids(keys: KeySet) -> list[bytes]:
    return [k.value for k in keys]


def test_rotation_followed_after_ttl_and_grace_then_fail_closed(vault: Vault) -> None:
    clock = FrozenClock(0.0)
    source_fn = vault_kv(
        vault.address,
        "webhooks/github",
        fields=["current", "previous"],
        token=TOKEN,
        ttl=60,
        clock=clock,
    )
    source = resolve(source_fn, route="/hooks/github", grace=300, clock=clock, scheduler=no_thread)
    assert ids(source.current()) == [b"secret-one"]
    assert (vault.requests, source.next_refresh) == (1, 60)  # start-up read; ttl = interval
    vault.data = {"current": "secret-two", "previous": "secret-one"}
    clock.advance(61)
    assert ids(source.current()) == [b"secret-one"]  # the request path never calls Vault
    assert vault.requests == 1
    assert source.refresh_now() is True  # what the background thread does when due
    assert ids(source.current()) == [b"secret-two", b"secret-one"]
    vault.up = False
    clock.advance(61)
    assert source.refresh_now() is False
    assert ids(source.current()) == [b"secret-two", b"secret-one"]  # last good, in grace
    assert 0.5 <= source.next_refresh - clock() <= 1  # retried after a back-off, not the ttl
    clock.advance(301)
    assert ids(source.current()) == []  # grace over: fail closed
    vault.up = True
    assert source.refresh_now() is True
    assert ids(source.current()) == [b"secret-two", b"secret-one"]


def test_grace_option_is_the_sources_grace(vault: Vault) -> None:
    clock = FrozenClock(0.0)
    fetch = vault_kv(vault.address, "webhooks/github", field="current", token=TOKEN, grace=30)
    source = resolve(fetch, route="/hooks/github", clock=clock, scheduler=no_thread)
    vault.up = False
    source.refresh_now()
    clock.advance(30)
    assert ids(source.current()) == [b"secret-one"]
    clock.advance(1)
    assert ids(source.current()) == []


def test_hung_vault_never_blocks_the_request_path(vault: Vault) -> None:
    """The issue's scenario (real refresher thread): Vault accepts and never answers."""
    clock = FrozenClock(0.0)
    fetch = vault_kv(vault.address, "webhooks/github", field="current", token=TOKEN, ttl=60)
    source = resolve(fetch, route="/hooks/github", clock=clock)
    assert ids(source.current()) == [b"secret-one"]
    vault.hang, vault.hit = threading.Event(), threading.Event()
    vault.data = {"current": "secret-two"}
    clock.advance(60)
    slowest = 0.0
    for _ in range(20):
        started = time.perf_counter()
        assert ids(source.current()) == [b"secret-one"]
        slowest = max(slowest, time.perf_counter() - started)
    assert vault.hit.wait(5)  # the refresher thread is inside the Vault request
    for _ in range(20):
        started = time.perf_counter()
        assert ids(source.current()) == [b"secret-one"]
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.1  # nothing waits for Vault (it would take the test's 10 s)
    assert vault.requests == 2  # one refresh in flight, however many requests
    vault.hang.set()
    deadline = time.monotonic() + 5
    while ids(source.current()) != [b"secret-two"] and time.monotonic() < deadline:
        vault.hit.wait(0.01)
    assert ids(source.current()) == [b"secret-two"]


def test_timeout_bounds_the_whole_answer_not_each_byte(vault: Vault) -> None:
    """A Vault that sends a byte every 0.1 s never leaves a socket idle for the 0.5 s
    timeout; the answer (about 80 bytes, 8 s) must still not hold the fetch past it."""
    fetch = vault_kv(vault.address, "webhooks/github", token=TOKEN, field="current", timeout=0.5)
    assert fetch() == "secret-one"
    vault.trickle = 0.1
    started = time.monotonic()
    with pytest.raises(VaultError, match="TimeoutError"):
        fetch.refresh()
    assert time.monotonic() - started < 2.0


def test_wrong_token_fails_without_leaking(vault: Vault) -> None:
    fetch = vault_kv(vault.address, "webhooks/github", token="not-the-token", field="current")
    with pytest.raises(VaultError) as info:
        fetch()
    assert "not-the-token" not in str(info.value)
    assert "403" in str(info.value)


def test_missing_field_and_unreachable(vault: Vault) -> None:
    with pytest.raises(VaultError):
        vault_kv(vault.address, "webhooks/github", token=TOKEN, field="nope")()
    with pytest.raises(VaultError):
        vault_kv("http://127.0.0.1:9", "webhooks/github", token=TOKEN, timeout=0.5)()


def test_token_from_env_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook_guard.exceptions import ConfigurationError

    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(ConfigurationError):
        vault_kv("http://127.0.0.1:9", "x")


# -- authentication, read again at every refresh ---------------------------------------------


def refreshed(source_fn: Any, clock: FrozenClock) -> KeySource:
    return resolve(source_fn, route="/hooks/github", clock=clock, scheduler=no_thread)


def test_token_file_is_reread_at_every_refresh(vault: Vault, tmp_path: Any) -> None:
    """Vault Agent rewrites its sink file when it renews or re-authenticates."""
    sink = tmp_path / "agent-token"
    sink.write_text(TOKEN + "\n")
    clock = FrozenClock(0.0)
    source = refreshed(
        vault_kv(vault.address, "webhooks/github", field="current", token=f"file:{sink}"), clock
    )
    assert ids(source.current()) == [b"secret-one"]
    vault.tokens = {"hvs.renewed"}  # the old token expired
    vault.data = {"current": "secret-two"}
    assert source.refresh_now() is False  # still the old token in the file: 403
    sink.write_text("hvs.renewed\n")
    assert source.refresh_now() is True
    assert ids(source.current()) == [b"secret-two"]


def test_token_callable(vault: Vault) -> None:
    tokens = iter([TOKEN, "not-valid"])
    fetch = vault_kv(vault.address, "webhooks/github", field="current", token=lambda: next(tokens))
    assert fetch.refresh() == "secret-one"
    with pytest.raises(VaultError, match="403"):
        fetch.refresh()


def test_approle_login_is_kept_for_its_lease_then_renewed(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WG_VAULT_SECRET_ID", SECRET_ID)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)  # no token needed with auth=
    clock = FrozenClock(0.0)
    vault.lease = 300
    fetch = vault_kv(
        vault.address,
        "webhooks/github",
        field="current",
        auth=AppRole(role_id=ROLE_ID, secret_id="env:WG_VAULT_SECRET_ID"),
        clock=clock,
    )
    assert fetch.refresh() == "secret-one"
    assert fetch.refresh() == "secret-one"
    assert vault.logins == 1  # one login serves many fetches
    clock.advance(201)  # two thirds of the 300 s lease
    assert fetch.refresh() == "secret-one"
    assert vault.logins == 2
    vault.tokens = {TOKEN}  # every login token revoked early
    assert fetch.refresh() == "secret-one"  # 403, then one fresh login
    assert vault.logins == 3


def test_kubernetes_login_reads_the_service_account_token(vault: Vault, tmp_path: Any) -> None:
    jwt = tmp_path / "token"
    jwt.write_text(JWT)
    auth = Kubernetes(role="webhooks", jwt=f"file:{jwt}")
    fetch = vault_kv(vault.address, "webhooks/github", field="current", auth=auth)
    assert fetch.refresh() == "secret-one"
    jwt.write_text("a-rotated-but-unknown-jwt")
    vault.tokens = {TOKEN}
    with pytest.raises(VaultError) as info:
        fetch.refresh()
    assert "400" in str(info.value)
    assert "rotated" not in str(info.value)
    assert "kubernetes" in repr(auth).lower()


def test_namespace_header(vault: Vault) -> None:
    fetch = vault_kv(
        vault.address, "webhooks/github", field="current", token=TOKEN, namespace="team-a"
    )
    fetch.refresh()
    assert vault.namespaces[-1] == "team-a"


def _tls(tmp_path: Any) -> tuple[ssl.SSLContext, str]:
    """A CA and a server certificate for 127.0.0.1; returns the server context and the CA file."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test vault CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, str(ca_file)


@pytest.fixture
def tls_vault(tmp_path: Any) -> Iterator[tuple[Vault, str]]:
    pytest.importorskip("cryptography")
    context, ca_file = _tls(tmp_path)
    for stand_in in _serve(Vault(tls=context)):
        yield stand_in, ca_file


def test_ca_bundle(tls_vault: tuple[Vault, str], monkeypatch: pytest.MonkeyPatch) -> None:
    vault, ca_file = tls_vault
    monkeypatch.delenv("VAULT_CACERT", raising=False)
    trusted = vault_kv(
        vault.address, "webhooks/github", field="current", token=TOKEN, ca_bundle=ca_file
    )
    assert trusted.refresh() == "secret-one"
    untrusted = vault_kv(vault.address, "webhooks/github", field="current", token=TOKEN)
    with pytest.raises(VaultError, match="unreachable"):
        untrusted.refresh()
    monkeypatch.setenv("VAULT_CACERT", ca_file)  # as the vault CLI reads it
    from_env = vault_kv(vault.address, "webhooks/github", field="current", token=TOKEN)
    assert from_env.refresh() == "secret-one"


def test_bad_configuration_fails_at_start_up(tmp_path: Any) -> None:
    from webhook_guard.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="CA bundle"):
        vault_kv("https://127.0.0.1:9", "x", token=TOKEN, ca_bundle=str(tmp_path / "none.pem"))
    with pytest.raises(ConfigurationError, match="http"):
        vault_kv("vault:8200", "x", token=TOKEN)
