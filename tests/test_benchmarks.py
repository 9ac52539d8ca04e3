"""The benchmarks drive the paths they claim to measure (counted, never timed)."""

from __future__ import annotations

import pytest

from benchmarks.profile import CASES, _unmeasured, count, drivers


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
