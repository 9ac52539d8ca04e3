"""The benchmarks drive the paths they claim to measure (counted, never timed)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from benchmarks import ceiling, inprocess_wsgi
from benchmarks.common import GUARDED_PATH, fresh_pool, make_guard
from benchmarks.profile import CASES, _unmeasured, count, drivers
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_profile_counts_the_guarded_flow_and_only_it(adapter: str) -> None:
    counted = {}
    with drivers(2) as every:
        for case in CASES:
            every[adapter][case](_unmeasured)  # warm
            counted[case] = count(every[adapter][case])
    guarded = counted["guarded"]
    # A verified request with a new delivery: the HMAC, the claim and its commit ran.
    assert guarded["keys.py:mac"] == 1
    assert guarded["memory.py:claim"] == 1
    assert guarded["memory.py:commit"] == 1
    assert "keys.py:mac" not in counted["unmatched"]
    # Seen once (the warm request), an unguarded path is one lookup in the adapter.
    assert "routes.py:match" not in counted["unmatched"]
    assert not any(name.startswith("C:setprofile") for name in guarded)
    python = {
        case: sum(v for k, v in c.items() if not k.startswith("C:")) for case, c in counted.items()
    }
    assert python["pass"] <= python["unmatched"] < python["guarded"]


def test_profile_counts_each_adapter_on_its_own_store() -> None:
    # Both adapters send the same pool: with one shared replay store the second one's
    # "guarded" request would be counted as a duplicate, never reaching the app.
    with drivers(2) as every:
        for adapter in ("wsgi", "asgi"):
            every[adapter]["guarded"](_unmeasured)
            counted = count(every[adapter]["guarded"])
            assert counted["memory.py:commit"] == 1, adapter
            assert counted[f"inprocess_{adapter}.py:bare"] == 1, adapter


# -- the ceiling cases measure the guard's rules, not fewer ------------------------------------


def _call(app: Any, body: bytes, signature: bytes, status: str = "200 OK") -> str:
    environ = inprocess_wsgi.make_environ(GUARDED_PATH, body, signature)
    environ["wsgi.input"] = io.BytesIO(body)
    seen: list[str] = []

    def endpoint(environ: Any, start_response: Any) -> Any:
        environ["wsgi.input"].read()
        start_response(status, [])
        return [b""]

    list(app(endpoint)(environ, lambda s, h, e=None: seen.append(s[:3])))
    return seen[0]


@pytest.mark.parametrize("factory", [ceiling.inlined, ceiling.inlined_no_replay], ids=["g", "h"])
def test_ceiling_refuses_what_the_guard_refuses(factory: Any) -> None:
    body, signature = fresh_pool(1)[0]
    apps = {"ceiling": lambda app: factory(app), "guard": lambda app: make_guard().wsgi(app)}
    for name, wrap in apps.items():
        assert _call(wrap, body, b"sha256=" + b"0" * 64) == "401", name
        assert _call(wrap, body[:-1] + b" ", signature) == "401", name
        assert _call(wrap, body, signature[:-1]) == "401", name
        assert _call(wrap, body, signature) == "200", name


def test_ceiling_claims_commits_and_releases() -> None:
    body, signature = fresh_pool(1)[0]
    app = ceiling.inlined
    shared = {}

    def wrap(endpoint: Any) -> Any:  # one guard (one store) for every call
        shared.setdefault("guarded", app(lambda e, s: shared["endpoint"](e, s)))
        shared["endpoint"] = endpoint
        return shared["guarded"]

    assert _call(wrap, body, signature, "500 Internal Server Error") == "500"  # released
    assert _call(wrap, body, signature) == "200"  # the retry is processed, and committed
    assert _call(wrap, body, signature) == "409"  # a copy is not


@pytest.mark.parametrize(
    ("name", "secret", "factory"),
    [
        ("stripe", "whsec_ceiling_test", ceiling.stripe_inlined),
        ("slack", "8f742231b10e8888abcd99yyyzzz85a5", ceiling.slack_inlined),
    ],
)
def test_inlined_checks_agree_with_the_schemes(name: str, secret: str, factory: Any) -> None:
    scheme = get(name)(secret=secret)
    keys = KeySet([Secret(secret, key_id="k0")])
    check = factory(secret)
    now = time.time()
    body = b'{"type":"event_callback","event_id":"Ev1"}'
    cases = {
        "genuine": (scheme.sign(body, secret=secret, timestamp=now), body),
        "other body": (scheme.sign(body, secret=secret, timestamp=now), body + b" "),
        "other key": (scheme.sign(body, secret=secret + "x", timestamp=now), body),
        "stale": (scheme.sign(body, secret=secret, timestamp=now - 301), body),
        "future": (scheme.sign(body, secret=secret, timestamp=now + 301), body),
    }
    for case, (signed, sent) in cases.items():
        request = WebhookRequest("POST", "/", Headers(signed.headers.items()), sent)
        ours = scheme.check(request, keys, now)[0] is Reason.VERIFIED
        assert check(request, now) is ours, case
        assert ours is (case == "genuine"), case
