"""Secret (masked, precomputed HMAC), KeySet and compare()."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhook_guard.core.keys import KeySet, Secret, compare


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
