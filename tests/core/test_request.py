"""Headers (case-insensitive multimap) and WebhookRequest."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY


def test_lookup_is_case_insensitive() -> None:
    headers = Headers([("X-Hub-Signature-256", "sha256=abc")])
    for name in ("X-Hub-Signature-256", "x-hub-signature-256", "X-HUB-SIGNATURE-256"):
        assert headers[name] == "sha256=abc"
        assert headers.get(name) == "sha256=abc"
        assert name in headers
    assert "x-hub-signature" not in headers
    assert headers.get("missing") is None
    with pytest.raises(KeyError):
        headers["missing"]


def test_getlist_keeps_duplicates_in_order() -> None:
    headers = Headers([("Sign", "a"), ("X-Other", "o"), ("sign", "b"), ("SIGN", "")])
    assert headers.getlist("sign") == ["a", "b", ""]
    assert headers["sign"] == "a"
    assert headers.getlist("absent") == []
    assert len(headers) == 2
    assert sorted(headers) == ["sign", "x-other"]
    assert headers.items_raw() == (("Sign", "a"), ("X-Other", "o"), ("sign", "b"), ("SIGN", ""))


def test_getlist_returns_a_copy() -> None:
    headers = Headers([("a", "1")])
    headers.getlist("a").append("2")
    assert headers.getlist("a") == ["1"]


def test_contains_non_string_is_false() -> None:
    assert 1 not in Headers([("1", "x")])  # type: ignore[comparison-overlap]
    assert None not in Headers()


def test_repr_never_shows_values() -> None:
    text = repr(Headers([("Authorization", "Bearer topsecret")]))
    assert "topsecret" not in text
    assert "1" in text


def test_from_environ() -> None:
    environ: dict[str, object] = {
        "HTTP_X_HUB_SIGNATURE_256": "sha256=abc",
        "HTTP_TIMESTAMP": "1577262236757",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2",
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks",
        "SERVER_NAME": "127.0.0.1",
        "wsgi.input": object(),
        "HTTP_X_NOT_A_STRING": 42,
        VERDICT_KEY: "spoof",
    }
    headers = Headers.from_environ(environ)
    assert headers["X-Hub-Signature-256"] == "sha256=abc"
    assert headers["timestamp"] == "1577262236757"
    assert headers["Content-Type"] == "application/json"
    assert headers["content-length"] == "2"
    assert sorted(headers) == ["content-length", "content-type", "timestamp", "x-hub-signature-256"]


def test_from_environ_keeps_latin1_values_verbatim() -> None:
    headers = Headers.from_environ({"HTTP_SIGN": "\xff\x00 a"})
    assert headers["sign"] == "\xff\x00 a"


def test_from_asgi() -> None:
    headers = Headers.from_asgi(
        [(b"x-seatable-signature", b"sha256=abc"), (b"Sign", b"\xff\xfe"), (b"sign", b"two")]
    )
    assert headers["X-SeaTable-Signature"] == "sha256=abc"
    assert headers.getlist("SIGN") == ["\xff\xfe", "two"]


def test_from_asgi_empty() -> None:
    assert len(Headers.from_asgi([])) == 0


def test_request_defaults() -> None:
    request = WebhookRequest(method="POST", path="/h", headers=Headers())
    assert request.body == b""
    assert request.query == ""
    assert request.url == ""
    assert dict(request.params) == {}


def test_request_is_frozen() -> None:
    request = WebhookRequest(method="POST", path="/h", headers=Headers())
    with pytest.raises(AttributeError):
        request.body = b"other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("query", "name", "values"),
    [
        pytest.param("", "access_token", [], id="empty"),
        pytest.param("access_token=abc", "access_token", ["abc"], id="one"),
        pytest.param("access_token=a&access_token=b", "access_token", ["a", "b"], id="repeated"),
        pytest.param("access_token=", "access_token", [""], id="blank"),
        pytest.param("access_token=a%2Bb+c", "access_token", ["a+b c"], id="decoded"),
        pytest.param("other=1", "access_token", [], id="absent"),
        pytest.param("x=%ff", "x", ["\ufffd"], id="invalid-utf8"),
    ],
)
def test_query_values(query: str, name: str, values: list[str]) -> None:
    request = WebhookRequest(method="POST", path="/", headers=Headers(), query=query)
    assert request.query_values(name) == values


# Lazy lookups (getlist before any iteration) must answer exactly as the full index does.
_names = st.text(st.sampled_from(string.ascii_letters + "-_"), min_size=1, max_size=8)
_environ_keys = st.one_of(
    _names.map(lambda n: "HTTP_" + n.upper().replace("-", "_")),
    st.sampled_from(["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "PATH_INFO"]),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    environ=st.dictionaries(
        _environ_keys, st.one_of(st.text(max_size=5), st.integers()), max_size=8
    ),
    asked=st.lists(_names | st.sampled_from(["content-type", "Content-Length"]), max_size=6),
)
def test_environ_lazy_lookup_equals_full_index(
    environ: dict[str, object], asked: list[str]
) -> None:
    full = Headers(Headers.from_environ(environ).items_raw())
    for name in [*asked, *full]:
        assert Headers.from_environ(environ).getlist(name) == full.getlist(name), name


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.lists(st.tuples(_names.map(str.encode), st.binary(max_size=5)), max_size=8),
    asked=st.lists(_names, max_size=6),
)
def test_asgi_lazy_lookup_equals_full_index(
    raw: list[tuple[bytes, bytes]], asked: list[str]
) -> None:
    full = Headers(Headers.from_asgi(raw).items_raw())
    for name in [*asked, *full]:
        assert Headers.from_asgi(raw).getlist(name) == full.getlist(name), name


def test_environ_snapshot_ignores_later_changes() -> None:
    environ = {"HTTP_SIGN": "a"}
    headers = Headers.from_environ(environ)
    environ["HTTP_SIGN"] = "b"
    assert headers.getlist("sign") == ["a"]
