"""The in-memory replay store: bounded, refuses when full, expires by its clock, and warns
when several worker processes would each have their own."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.exceptions import StoreError, WebhookGuardWarning
from webhook_guard.providers import github
from webhook_guard.stores import Claim, MemoryReplayStore
from webhook_guard.testing import FrozenClock, build_wsgi_environ

SECRET = "memory-store-secret"


def send(app: Any, body: bytes, **environ: Any) -> tuple[str, dict[str, str], bytes]:
    headers = github(secret=SECRET).sign(body, secret=SECRET)
    env = build_wsgi_environ("/hooks/github", body=body, headers=headers)
    env.update(environ)
    seen: list[tuple[str, dict[str, str]]] = []
    content = b"".join(app(env, lambda s, h, e=None: seen.append((s, dict(h)))))
    return seen[0][0], seen[0][1], content


def ok_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def test_a_request_never_fails_for_the_warning_even_with_warnings_as_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Found at the first guarded request, the warning is logged; with warnings turned into
    errors it must not turn that request into an exception (a 500 for a genuine webhook)."""
    import warnings

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = Guard([Route("/hooks/github", github(secret=SECRET))]).wsgi(ok_app)
    with caplog.at_level(logging.WARNING, logger="webhook_guard"), warnings.catch_warnings():
        warnings.simplefilter("error")
        status, _, content = send(app, b'{"n":1}', **{"wsgi.multiprocess": True})
    assert (status, content) == ("200 OK", b"ok")
    assert len(warnings_in(caplog)) == 1


def test_full_store_refuses_instead_of_evicting() -> None:
    clock = FrozenClock(0)
    store = MemoryReplayStore(max_entries=2, clock=clock)
    assert store.claim("a", 60) is Claim.NEW
    assert store.claim("b", 60) is Claim.NEW
    with pytest.raises(StoreError):
        store.claim("c", 60)
    assert store.claim("a", 60) is Claim.IN_FLIGHT  # live keys were kept
    clock.advance(60)  # both expire: room again
    assert store.claim("c", 60) is Claim.NEW
    assert len(store) == 1


def test_full_store_answers_503_with_retry_after() -> None:
    store = MemoryReplayStore(max_entries=1, clock=FrozenClock(0))
    app = Guard([Route("/hooks/github", github(secret=SECRET))], replay_store=store).wsgi(ok_app)
    assert send(app, b'{"n":1}')[0].startswith("200")
    status, headers, content = send(app, b'{"n":2}')
    assert status.startswith("503")
    assert "Retry-After" in headers
    assert b"store_unavailable" in content


def test_expiry_follows_the_injected_clock() -> None:
    clock = FrozenClock(100)
    store = MemoryReplayStore(clock=clock)
    store.claim("k", 10)
    store.commit("k", 10)
    clock.advance(9.999)
    assert store.claim("k", 10) is Claim.DONE
    clock.advance(0.001)
    assert store.claim("k", 10) is Claim.NEW


@pytest.mark.parametrize("bound", [0, float("nan")], ids=["zero", "nan"])
def test_max_entries_must_be_positive(bound: Any) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryReplayStore(max_entries=bound)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "in-memory replay store" in r.getMessage()]


def test_warns_under_web_concurrency(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        with pytest.warns(WebhookGuardWarning, match="protects one process only") as warned:
            Guard([Route("/hooks/github", github(secret=SECRET))])
        Guard([Route("/hooks/github", github(secret=SECRET))], replay_store=None)
    assert len(warned) == 1
    [message] = warnings_in(caplog)
    assert "redis://" in message


def test_warns_once_under_a_multiprocess_wsgi_server(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = Guard([Route("/hooks/github", github(secret=SECRET))]).wsgi(ok_app)
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        send(app, b'{"n":1}')
        assert warnings_in(caplog) == []
        with pytest.warns(WebhookGuardWarning, match="several processes") as warned:
            send(app, b'{"n":2}', **{"wsgi.multiprocess": True})
        send(app, b'{"n":3}', **{"wsgi.multiprocess": True})  # once only: no warning
    assert len(warned) == 1
    assert len(warnings_in(caplog)) == 1
