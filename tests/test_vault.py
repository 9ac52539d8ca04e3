"""vault_kv against a stand-in Vault KV v2 server on 127.0.0.1.

Refreshes are driven with ``refresh_now()`` and a scheduler that starts nothing, except in
the hung-Vault test, which uses the real refresher thread with bounded waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webhook_guard.core.keys import KeySet
from webhook_guard.keysources import KeySource, resolve
from webhook_guard.testing import FrozenClock
from webhook_guard.vault import VaultError, vault_kv

TOKEN = "vault-test-token"


class Vault:
    def __init__(self) -> None:
        self.data: dict[str, str] = {"current": "secret-one"}
        self.up = True
        self.requests = 0
        self.hang: threading.Event | None = None  # set: requests wait (bounded) for it
        self.hit = threading.Event()
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                vault.requests += 1
                vault.hit.set()
                if vault.hang is not None:
                    vault.hang.wait(10)
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
    thread = threading.Thread(target=stand_in.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    if stand_in.hang is not None:
        stand_in.hang.set()
    stand_in.server.shutdown()
    stand_in.server.server_close()


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
