"""vault_kv against a stand-in Vault KV v2 server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webhook_guard.core.keys import KeySet
from webhook_guard.keysources import resolve
from webhook_guard.testing import FrozenClock
from webhook_guard.vault import VaultError, vault_kv

TOKEN = "vault-test-token"


class Vault:
    def __init__(self) -> None:
        self.data: dict[str, str] = {"current": "secret-one"}
        self.up = True
        self.requests = 0
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                vault.requests += 1
                if not vault.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.headers.get("X-Vault-Token") != TOKEN:
                    self.send_response(403)
                    self.end_headers()
                    return
                if self.path != "/v1/secret/data/webhooks/github":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps({"data": {"data": vault.data}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def vault() -> Iterator[Vault]:
    stand_in = Vault()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


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
    source = resolve(source_fn, route="/hooks/github", grace=300, clock=clock)
    assert ids(source.current()) == [b"secret-one"]
    vault.data = {"current": "secret-two", "previous": "secret-one"}
    clock.advance(30)
    assert ids(source.current()) == [b"secret-one"]  # cached within the ttl
    clock.advance(31)
    assert ids(source.current()) == [b"secret-two", b"secret-one"]
    vault.up = False
    clock.advance(61)
    assert ids(source.current()) == [b"secret-two", b"secret-one"]  # last good, in grace
    clock.advance(301)
    assert ids(source.current()) == []  # grace over: fail closed
    vault.up = True
    clock.advance(61)
    assert ids(source.current()) == [b"secret-two", b"secret-one"]


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
