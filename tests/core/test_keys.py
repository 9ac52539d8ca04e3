"""Secret (masked, precomputed HMAC), KeySet and compare()."""

from __future__ import annotations

import hashlib
import hmac
import hmac as std_hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook_guard.core.keys import DerivedKeys, KeySet, Secret, compare


def test_repr_and_str_are_masked() -> None:
    secret = Secret("hunter2-topsecret", key_id="2026-q4")
    for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert "hunter2" not in text
        assert "2026-q4" in text
    assert secret.value == b"hunter2-topsecret"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty-str"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param(" ", id="space"),
        pytest.param("\t\r\n ", id="whitespace"),
        pytest.param(b"  \n", id="blank-bytes"),
    ],
)
def test_empty_or_blank_secrets_raise(value: str | bytes) -> None:
    with pytest.raises(ValueError, match="empty"):
        Secret(value, key_id="k")


def test_str_is_utf8() -> None:
    assert Secret("clé", key_id="k").value == "clé".encode()
    assert Secret(bytearray(b"abc"), key_id="k").value == b"abc"  # type: ignore[arg-type]


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_hmac_copies_equal_fresh_hmac(digest: str) -> None:
    secret = Secret("key", key_id="k")
    first = secret.hmac(digest)
    first.update(b"message one")
    assert first.digest() == hmac.new(b"key", b"message one", digest).digest()
    # The precomputed state must not carry the previous message.
    second = secret.hmac(digest)
    second.update(b"message two")
    assert second.digest() == hmac.new(b"key", b"message two", digest).digest()
    assert secret.hmac(digest).digest() == hmac.new(b"key", b"", digest).digest()


def test_hmac_long_key_is_hashed_like_hmac_new() -> None:
    key = b"k" * 200  # longer than the block size
    assert Secret(key, key_id="k").hmac("sha256").digest() == hmac.new(key, b"", hashlib.sha256).digest()


def test_equality_and_hash() -> None:
    assert Secret("a", key_id="k") == Secret(b"a", key_id="k")
    assert Secret("a", key_id="k") != Secret("b", key_id="k")
    assert Secret("a", key_id="k") != Secret("a", key_id="j")
    assert Secret("a", key_id="k") != "a"
    assert hash(Secret("a", key_id="k")) == hash(Secret("b", key_id="k"))


def test_keyset() -> None:
    keys = KeySet([Secret("new-value", key_id="new"), Secret("old-value", key_id="old")])
    assert [k.key_id for k in keys] == ["new", "old"]
    assert len(keys) == 2
    assert keys
    assert not KeySet(())
    assert "value" not in repr(keys)
    assert "new" in repr(keys)


@pytest.mark.parametrize(
    ("expected", "received", "result"),
    [
        pytest.param(b"abc", "abc", True, id="equal"),
        pytest.param(b"abc", "abd", False, id="different"),
        pytest.param(b"abc", "ab", False, id="prefix"),
        pytest.param(b"abc", "abcd", False, id="longer"),
        pytest.param(b"abc", "", False, id="empty"),
        pytest.param(b"abc", "ABC", False, id="case"),
        pytest.param(b"abc", "ab\xe9", False, id="latin1"),
        pytest.param(b"abc", "\u0430bc", False, id="cyrillic-a"),
        pytest.param(b"abc", "\ud800bc", False, id="lone-surrogate"),
        pytest.param(b"abc", "\x00bc", False, id="nul"),
    ],
)
def test_compare(expected: bytes, received: str, result: bool) -> None:
    assert compare(expected, received) is result


# -- the precomputed-pad HMAC is the standard HMAC ------------------------------------------

#: RFC 4231 test cases 2-4, 6 and 7 (HMAC-SHA256 and -SHA512; case 5 truncates its output,
#: case 1's key is twenty 0x0b bytes, which ``Secret`` refuses as blank text).
RFC4231 = [
    pytest.param(
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        id="case-2",
    ),
    pytest.param(
        bytes([0xAA] * 20),
        bytes([0xDD] * 50),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
        "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        id="case-3",
    ),
    pytest.param(
        bytes(range(1, 26)),
        bytes([0xCD] * 50),
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
        "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        id="case-4",
    ),
    pytest.param(
        bytes([0xAA] * 131),
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
        "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        id="case-6",
    ),
    pytest.param(
        bytes([0xAA] * 131),
        b"This is a test using a larger than block-size key and a larger than block-size"
        b" data. The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
        "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
        id="case-7",
    ),
]


@pytest.mark.parametrize(("key", "data", "sha256", "sha512"), RFC4231)
def test_mac_matches_rfc4231(key: bytes, data: bytes, sha256: str, sha512: str) -> None:
    secret = Secret(key, key_id="rfc4231")
    assert secret.mac("sha256", data).hex() == sha256
    assert secret.mac("sha512", data).hex() == sha512
    mac = secret.hmac("sha256")
    mac.update(data)
    assert mac.hexdigest() == sha256


@given(
    key=st.binary(min_size=1, max_size=300).filter(lambda k: bool(k.strip())),
    parts=st.lists(st.binary(max_size=200), max_size=4),
    digest=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_mac_equals_the_hmac_module(key: bytes, parts: list[bytes], digest: str) -> None:
    secret = Secret(key, key_id="k")
    expected = std_hmac.new(key, b"".join(parts), digest).digest()
    assert secret.mac(digest, *parts) == expected
    assert secret.mac(digest, *parts) == expected  # the pad states are copied, not consumed
    mac = secret.hmac(digest)
    for part in parts:
        mac.update(part)
    assert mac.digest() == expected


def test_derived_keys_derive_once_per_value_remember_none_and_stay_bounded() -> None:
    calls: list[bytes] = []

    def derive(key: Secret) -> bytes | None:
        calls.append(key.value)
        return None if key.value == b"junk" else key.value.upper()

    derived = DerivedKeys(derive, limit=2)
    good, junk = Secret("good", key_id="a"), Secret("junk", key_id="b")
    assert [derived(good), derived(good), derived(junk), derived(junk)] == [b"GOOD", b"GOOD", None, None]
    assert calls == [b"good", b"junk"]  # a value that derives nothing is remembered too
    assert derived(Secret("good", key_id="renamed")) == b"GOOD"  # by value, not by id
    derived(Secret("third", key_id="c"))  # full: cleared, then held
    derived(good)
    assert calls == [b"good", b"junk", b"third", b"good"]
