"""Shopify app proxy: query ``signature`` = hex HMAC-SHA256 (app client secret) of the other
query parameters rendered ``name=value`` (a repeated name's values joined by ``,``), sorted,
concatenated; ``timestamp`` signed among them (90 s, as Shopify's libraries).

Oracle: the published examples of Shopify's "Authenticate app proxies" page."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get, shopify_app_proxy

SECRET = "hush"
STAMP = 1317327555
QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
    "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
)
SIGNATURE = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
# The same request for a visitor who is not logged in (logged_in_customer_id empty).
QUERY_ANON = QUERY.replace("logged_in_customer_id=1", "logged_in_customer_id=")
SIGNATURE_ANON = "e072b6d7e6622d85912a5214b860d3100dc1e73d9bc29f43796ac8c9ff8093cb"
SCHEME = shopify_app_proxy(secret=SECRET)


def check(query: str, *, now: float = STAMP + 5, body: bytes = b"", method: str = "GET") -> Check:
    request = WebhookRequest(method, "/apps/awesome_reviews", Headers([]), body, query, "")
    return SCHEME.check(request, KeySet([Secret(SECRET, key_id="k0")]), now)


def reference(query: list[tuple[str, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for k, v in query:
        groups.setdefault(k, []).append(v)
    message = "".join(sorted(f"{k}={','.join(v)}" for k, v in groups.items()))
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("query", "signature"),
    [(QUERY, SIGNATURE), (QUERY_ANON, SIGNATURE_ANON)],
    ids=["customer", "anonymous"],
)
def test_published_vectors(query: str, signature: str) -> None:
    result = check(f"{query}&signature={signature}")
    assert result.reason is Reason.VERIFIED
    assert result.timestamp == STAMP
    assert result.replay_material == signature.encode()
    # The signature may sit anywhere in the query.
    assert check(f"signature={signature}&{query}").reason is Reason.VERIFIED


def test_sign_round_trip() -> None:
    signed = SCHEME.sign(b"", secret=SECRET, timestamp=STAMP)
    assert signed.query == f"timestamp={STAMP}&signature={reference([('timestamp', str(STAMP))])}"
    assert check(signed.query).reason is Reason.VERIFIED
    assert (SCHEME.body_signed, SCHEME.needs_url, get("shopify_app_proxy")) == (
        False,
        False,
        shopify_app_proxy,
    )


def test_signed_names_sort_as_rendered_strings() -> None:
    # "a-b=" sorts before "a=" ('-' < '='), though "a" < "a-b" as names.
    pairs = [("a", "1"), ("a-b", "2"), ("timestamp", str(STAMP))]
    query = urlencode(pairs) + "&signature=" + reference(pairs)
    assert check(query).reason is Reason.VERIFIED


@pytest.mark.parametrize(
    "query",
    [
        QUERY.replace("extra=2", "extra=3"),
        QUERY.replace(
            "extra=1&extra=2", "extra=2&extra=1"
        ),  # the order of a name's values is signed
        QUERY.replace("shop=shop-name", "shop=other-name"),
        QUERY + "&added=1",
        QUERY.replace("extra=1&", ""),
    ],
)
def test_changed_parameters_are_refused(query: str) -> None:
    assert check(f"{query}&signature={SIGNATURE}").reason is Reason.BAD_SIGNATURE


def test_window() -> None:
    query = f"{QUERY}&signature={SIGNATURE}"
    assert check(query, now=STAMP + 90).reason is Reason.VERIFIED
    assert check(query, now=STAMP + 91).reason is Reason.STALE_TIMESTAMP
    assert check(query, now=STAMP - 91).reason is Reason.FUTURE_TIMESTAMP
    assert shopify_app_proxy(secret=SECRET, window=300).replay_ttl() == 600.0


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (QUERY, Reason.MISSING_SIGNATURE),
        (f"{QUERY}&signature={SIGNATURE}&signature={SIGNATURE}", Reason.MALFORMED_SIGNATURE),
        (f"{QUERY}&signature={SIGNATURE[:-2]}", Reason.MALFORMED_SIGNATURE),
        (f"{QUERY}&signature={'x' * 64}", Reason.MALFORMED_SIGNATURE),
        (
            f"{QUERY.replace('&timestamp=1317327555', '')}&signature={SIGNATURE}",
            Reason.MISSING_TIMESTAMP,
        ),
        (
            f"{QUERY.replace('1317327555', 'soon')}&signature={SIGNATURE}",
            Reason.MALFORMED_TIMESTAMP,
        ),
        (f"{QUERY}&timestamp=1317327555&signature={SIGNATURE}", Reason.MALFORMED_TIMESTAMP),
        (f"{QUERY}&bad=%ff&signature={SIGNATURE}", Reason.BAD_REQUEST),
    ],
)
def test_malformed(query: str, reason: Reason) -> None:
    assert check(query).reason is reason


def test_the_body_of_a_proxied_post_is_not_signed() -> None:
    # Documented: the proxy signs the query only (hence body_signed=False).
    assert (
        check(f"{QUERY}&signature={SIGNATURE}", body=b"a=1", method="POST").reason
        is Reason.VERIFIED
    )
