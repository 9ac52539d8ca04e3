"""Static shared tokens: header or query, several at once, each revocable on its own."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import resolve
from webhook_guard.providers import get, token

NOW = 1_700_000_000.0
TOKENS = {"gitlab-prod": "glpat-prod-0123456789", "gitlab-staging": "glpat-stg-abcdef", "okta": "okta+/=token"}
HEADER = "X-Gitlab-Token"


def key_set(mapping: dict[str, str] = TOKENS) -> KeySet:
    return resolve(mapping, route="/hooks/gitlab").current()


def check(
    scheme: Scheme,
    *,
    pairs: list[tuple[str, str]] | dict[str, str] = (),  # type: ignore[assignment]
    query: str = "",
    keys: KeySet | None = None,
) -> Check:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    request = WebhookRequest(method="POST", path="/hooks/gitlab", headers=Headers(items), query=query, body=b"{}")
    return scheme.check(request, keys if keys is not None else key_set(), NOW)


HEADER_SCHEME = token(secret=TOKENS, header=HEADER)
QUERY_SCHEME = token(secret=TOKENS, query="token")


def query_param(value: str) -> str:
    """``token=<value>``, as a sender puts a token in the query (any value, even empty)."""
    return urlencode({"token": value})
BEARER = token(secret=TOKENS, header="Authorization", prefix="Bearer ")


def test_metadata() -> None:
    assert HEADER_SCHEME.name == "token"
    assert HEADER_SCHEME.body_signed is False
    assert HEADER_SCHEME.replay_ttl() is None
    assert get("token") is token


@pytest.mark.parametrize("key_id", list(TOKENS))
def test_each_token_verifies_with_its_own_key_id(key_id: str) -> None:
    value = TOKENS[key_id]
    for scheme, kwargs in (
        (HEADER_SCHEME, {"pairs": {HEADER: value}}),
        (QUERY_SCHEME, {"query": query_param(value)}),
        (BEARER, {"pairs": {"Authorization": "Bearer " + value}}),
    ):
        result = check(scheme, **kwargs)
        assert result.reason is Reason.VERIFIED
        assert result.key_id == key_id
        assert result.replay_material is None  # nothing is signed


def test_sign_round_trip() -> None:
    headers = HEADER_SCHEME.sign(b"{}", secret=TOKENS["okta"]).headers
    assert headers == {HEADER: TOKENS["okta"]}
    assert check(HEADER_SCHEME, pairs=headers).key_id == "okta"
    assert BEARER.sign(b"", secret=b"abc").headers == {"Authorization": "Bearer abc"}
    assert QUERY_SCHEME.sign(b"", secret="abc").headers == {}
    assert QUERY_SCHEME.sign(b"", secret="abc").query == "token=abc"
    assert QUERY_SCHEME.sign(b"", secret="a+b/c=").query == "token=a%2Bb%2Fc%3D"


def test_removal_revokes_only_that_token() -> None:
    remaining = {k: v for k, v in TOKENS.items() if k != "gitlab-staging"}
    keys = key_set(remaining)
    revoked = check(HEADER_SCHEME, pairs={HEADER: TOKENS["gitlab-staging"]}, keys=keys)
    assert revoked.reason is Reason.BAD_SIGNATURE
    assert check(HEADER_SCHEME, pairs={HEADER: TOKENS["gitlab-prod"]}, keys=keys).key_id == "gitlab-prod"


def test_wrong_token() -> None:
    assert check(HEADER_SCHEME, pairs={HEADER: "glpat-prod-0123456788"}).reason is Reason.BAD_SIGNATURE


def test_body_is_not_covered() -> None:
    request = WebhookRequest(
        method="POST", path="/", headers=Headers([(HEADER, TOKENS["okta"])]), body=b"anything at all"
    )
    assert HEADER_SCHEME.check(request, key_set(), NOW).reason is Reason.VERIFIED


@pytest.mark.parametrize(
    ("scheme", "pairs", "query", "reason"),
    [
        pytest.param(HEADER_SCHEME, [], "", Reason.MISSING_SIGNATURE, id="header-missing"),
        pytest.param(HEADER_SCHEME, [], f"token={TOKENS['okta']}", Reason.MISSING_SIGNATURE, id="header-scheme-ignores-query"),
        pytest.param(HEADER_SCHEME, [(HEADER, "")], "", Reason.BAD_SIGNATURE, id="header-empty"),
        pytest.param(
            HEADER_SCHEME, [(HEADER, TOKENS["okta"]), (HEADER, TOKENS["okta"])], "", Reason.MALFORMED_SIGNATURE, id="header-twice"
        ),
        pytest.param(HEADER_SCHEME, [(HEADER, "x" * 5000)], "", Reason.MALFORMED_SIGNATURE, id="header-too-long"),
        pytest.param(HEADER_SCHEME, [(HEADER, TOKENS["okta"] + "\xff")], "", Reason.MALFORMED_SIGNATURE, id="header-non-ascii"),
        pytest.param(HEADER_SCHEME, [(HEADER, "\u0430" * 10)], "", Reason.MALFORMED_SIGNATURE, id="header-cyrillic"),
        pytest.param(
            HEADER_SCHEME, [(HEADER, f"{TOKENS['okta']}, {TOKENS['okta']}")], "", Reason.BAD_SIGNATURE, id="header-wsgi-joined"
        ),
        pytest.param(HEADER_SCHEME, [(HEADER, " " + TOKENS["okta"])], "", Reason.BAD_SIGNATURE, id="header-leading-space"),
        pytest.param(HEADER_SCHEME, [(HEADER, TOKENS["okta"].upper())], "", Reason.BAD_SIGNATURE, id="header-case"),
        pytest.param(QUERY_SCHEME, [], "", Reason.MISSING_SIGNATURE, id="query-missing"),
        pytest.param(QUERY_SCHEME, [("token", TOKENS["okta"])], "", Reason.MISSING_SIGNATURE, id="query-scheme-ignores-header"),
        pytest.param(QUERY_SCHEME, [], "token=", Reason.BAD_SIGNATURE, id="query-empty"),
        pytest.param(
            QUERY_SCHEME, [], "token=glpat-stg-abcdef&token=glpat-stg-abcdef", Reason.MALFORMED_SIGNATURE, id="query-twice"
        ),
        pytest.param(QUERY_SCHEME, [], "token=" + "x" * 5000, Reason.MALFORMED_SIGNATURE, id="query-too-long"),
        pytest.param(QUERY_SCHEME, [], "token=%FF", Reason.MALFORMED_SIGNATURE, id="query-invalid-utf8"),
        pytest.param(QUERY_SCHEME, [], "token=okta+/=token", Reason.BAD_SIGNATURE, id="query-plus-decodes-to-space"),
        pytest.param(BEARER, [("Authorization", TOKENS["okta"])], "", Reason.MALFORMED_SIGNATURE, id="bearer-missing-prefix"),
        pytest.param(
            BEARER, [("Authorization", "bearer " + TOKENS["okta"])], "", Reason.MALFORMED_SIGNATURE, id="bearer-lowercase"
        ),
        pytest.param(BEARER, [("Authorization", "Bearer")], "", Reason.MALFORMED_SIGNATURE, id="bearer-bare-word"),
        pytest.param(BEARER, [("Authorization", "Bearer ")], "", Reason.BAD_SIGNATURE, id="bearer-empty-token"),
        pytest.param(
            BEARER, [("Authorization", "Bearer  " + TOKENS["okta"])], "", Reason.BAD_SIGNATURE, id="bearer-double-space"
        ),
        pytest.param(BEARER, [("Authorization", "Basic " + TOKENS["okta"])], "", Reason.MALFORMED_SIGNATURE, id="basic"),
    ],
)
def test_rejections(scheme: Scheme, pairs: list[tuple[str, str]], query: str, reason: Reason) -> None:
    result = check(scheme, pairs=pairs, query=query)
    assert result.reason is reason
    assert result.key_id is None


@pytest.mark.parametrize("key_id", list(TOKENS))
def test_truncations_never_verify(key_id: str) -> None:
    value = "Bearer " + TOKENS[key_id]
    for n in range(len(value)):
        assert check(BEARER, pairs={"Authorization": value[:n]}).reason is not Reason.VERIFIED, n
    for n in range(len(TOKENS[key_id])):
        query = query_param(TOKENS[key_id][:n])
        assert check(QUERY_SCHEME, query=query).reason is not Reason.VERIFIED, n


def test_a_token_is_not_a_prefix_match() -> None:
    keys = KeySet([Secret("abc", key_id="short"), Secret("abcdef", key_id="long")])
    assert check(HEADER_SCHEME, pairs={HEADER: "abcdef"}, keys=keys).key_id == "long"
    assert check(HEADER_SCHEME, pairs={HEADER: "abc"}, keys=keys).key_id == "short"
    assert check(HEADER_SCHEME, pairs={HEADER: "abcd"}, keys=keys).reason is Reason.BAD_SIGNATURE


def test_first_matching_key_is_reported() -> None:
    keys = KeySet([Secret("same", key_id="first"), Secret("same", key_id="second")])
    assert check(HEADER_SCHEME, pairs={HEADER: "same"}, keys=keys).key_id == "first"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="neither"),
        pytest.param({"header": "X-Token", "query": "token"}, id="both"),
    ],
)
def test_exactly_one_location(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        token(secret="t", **kwargs)
    assert info.value.code == "webhook_guard.E004"
