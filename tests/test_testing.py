"""``webhook_guard.testing``: the one signing interface (``sign_request``) for every registered
provider, checked through the WSGI adapter, and the framework posting helpers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.providers.helpers import guard_for, send_wsgi
from tests.providers.test_registry import CASES, NOW, PATH, PUBLIC_URL, Case, case
from webhook_guard import Guard, Route, Verdict
from webhook_guard.providers import REGISTRY, names
from webhook_guard.testing import (
    FrozenClock,
    SignedRequest,
    generate_private_key,
    post_signed,
    public_key,
    sign_request,
    timestamp_unit,
)

#: Starlette >= 1.10 asks for httpx2 in its TestClient; httpx still works.
STARLETTE_HTTPX = "ignore:Using `httpx` with `starlette.testclient` is deprecated"


def send(guard: Guard, signed: SignedRequest) -> tuple[int, bytes, list[tuple[bytes, Verdict]]]:
    return send_wsgi(guard, signed, PATH)


def route_guard(name: str, c: Case, *, secret: Any = None) -> Guard:
    scheme = REGISTRY[name](secret=c.secret if secret is None else secret, **c.options)
    return guard_for(Route(PATH, scheme, public_url=PUBLIC_URL), clock=FrozenClock(NOW))


def signed_for(name: str, c: Case, **extra: Any) -> SignedRequest:
    url = PUBLIC_URL if REGISTRY[name](secret=c.secret, **c.options).needs_url else None
    return sign_request(
        name, c.body, secret=c.signing or c.secret, timestamp=NOW, url=url, **c.options, **extra
    )


@pytest.mark.parametrize("name", names())
def test_sign_request_verifies_for_every_provider(name: str) -> None:
    c = case(name)
    signed = signed_for(name, c)
    status, out, seen = send(route_guard(name, c), signed)
    assert status == 200, out
    [(body, verdict)] = seen
    assert body == signed.body
    assert verdict.verified
    assert verdict.reason == "verified"


@pytest.mark.parametrize("name", names())
def test_another_senders_signature_is_refused(name: str) -> None:
    """A request signed with another key does not verify: the signature is real."""
    c = case(name)
    signed = sign_request(
        name,
        c.body,
        secret=c.wrong,
        timestamp=NOW,
        url=PUBLIC_URL if REGISTRY[name](secret=c.secret, **c.options).needs_url else None,
        **c.options,
    )
    status, _, seen = send(route_guard(name, c), signed)
    assert 400 <= status < 500
    assert seen == []


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        pytest.param("wecom", "body and query", id="wecom-encrypts"),
        pytest.param("dingtalk_events", "body and query", id="dingtalk-events-encrypts"),
        pytest.param("feishu", "body", id="feishu-encrypts"),
        pytest.param("mailgun", "body", id="mailgun-wraps"),
        pytest.param("dingtalk_token", "query", id="query-token"),
        pytest.param("github", "", id="headers-only"),
    ],
)
def test_what_the_provider_changes_is_in_the_record(name: str, changed: str) -> None:
    c = case(name)
    signed = signed_for(name, c)
    assert (signed.body != c.body) == ("body" in changed)
    assert bool(signed.query) == ("query" in changed)


def test_record_is_immutable_with_plain_dict_headers() -> None:
    signed = sign_request("github", b"{}", secret="s")
    assert isinstance(signed.headers, dict)
    with pytest.raises(AttributeError):
        signed.body = b"x"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["twilio", "square", "mandrill", "plivo", "hubspot"])
def test_url_signed_providers_need_the_url(name: str) -> None:
    with pytest.raises(ValueError, match="needs url="):
        sign_request(name, b"a=1", secret="s", timestamp=NOW)


def test_url_query_is_sent_and_signed() -> None:
    url = PUBLIC_URL + "?account=1"
    signed = sign_request("twilio", b"a=1", secret="s", timestamp=NOW, url=url)
    assert (signed.url, signed.query) == (url, "account=1")
    guard = Guard([Route(PATH, REGISTRY["twilio"](secret="s"), public_url=PUBLIC_URL)])
    assert send(guard, signed)[0] == 200


def test_options_split_between_factory_and_signer() -> None:
    """``message_id`` goes to Twitch's signer; ``window`` to its factory; an unknown option
    is an error, not silently dropped."""
    signed = sign_request(
        "twitch", b"{}", secret="s" * 10, timestamp=NOW, message_id="m-1", window=60
    )
    assert signed.headers["Twitch-Eventsub-Message-Id"] == "m-1"
    with pytest.raises(TypeError, match="nope"):
        sign_request("seatable", b"{}", secret="s", nope=1)


def test_secret_references_resolve_as_in_the_guard(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("WG_TEST_SIGNING", "from-env")
    (tmp_path / "key").write_text("from-file\n")
    by_env = sign_request("github", b"{}", secret="env:WG_TEST_SIGNING")
    by_file = sign_request("github", b"{}", secret=f"file:{tmp_path / 'key'}")
    assert by_env == sign_request("github", b"{}", secret="from-env")
    assert by_file == sign_request("github", b"{}", secret="from-file")


def test_timestamp_is_in_seconds_whatever_the_provider_sends() -> None:
    assert sign_request("dingtalk", b"", secret="s", timestamp=NOW).headers["timestamp"] == str(
        int(NOW * 1000)
    )
    stripe = sign_request("stripe", b"{}", secret="whsec_x", timestamp=NOW).headers
    assert stripe["Stripe-Signature"].startswith(f"t={int(NOW)},")
    assert [timestamp_unit(n) for n in ("dingtalk", "stripe", "twitch")] == ["ms", "s", "rfc3339"]
    assert timestamp_unit("hmac", timestamp_unit="ms") == "ms"


@pytest.mark.parametrize("name", ["discord", "telnyx", "sendgrid", "standard_webhooks"])
def test_generated_key_pairs_verify(name: str) -> None:
    private = generate_private_key(name)
    kw = "public_key" if name == "standard_webhooks" else "secret"
    scheme = REGISTRY[name](**{kw: public_key(name, private)})
    guard = Guard([Route(PATH, scheme)], clock=FrozenClock(NOW))
    signed = sign_request(name, b'{"type": 2}', secret=private, timestamp=NOW)
    status, out, _ = send(guard, signed)
    assert status == 200, out
    if name == "standard_webhooks":
        assert signed.headers["webhook-signature"].startswith("v1a,")


def test_shared_secret_providers_have_no_public_key() -> None:
    with pytest.raises(ValueError, match="shared secret"):
        public_key("github", "s")
    with pytest.raises(ValueError, match="shared secret"):
        generate_private_key("github")


def test_bad_private_keys_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="hex 32-byte"):
        sign_request("discord", b"{}", secret="not hex")
    with pytest.raises(ValueError, match="JSON event"):
        sign_request("mailgun", b"not json", secret="s")


def test_every_case_in_the_registry_table_is_used() -> None:
    assert set(CASES) <= set(names())


# -- posting through the frameworks' test clients ------------------------------------------


def _flask_app(guard: Guard) -> Any:
    flask = pytest.importorskip("flask")
    app = flask.Flask(__name__)

    @app.post("/hooks/<name>")
    def hook(name: str) -> Any:
        from webhook_guard import get_verdict

        verdict = get_verdict(flask.request)
        return {"verified": verdict.verified, "body": flask.request.get_data().decode()}

    app.wsgi_app = guard.wsgi(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _starlette_app(guard: Guard) -> Any:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route as StarletteRoute

    from webhook_guard import get_verdict

    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"verified": get_verdict(request).verified, "body": body.decode()})

    return guard.asgi(Starlette(routes=[StarletteRoute("/hooks/{name}", hook, methods=["POST"])]))


@pytest.mark.parametrize(
    ("provider", "secret", "options", "url"),
    [
        pytest.param("github", "s3cret", {}, None, id="github"),
        pytest.param("dingtalk", "SECabc", {}, None, id="dingtalk-ms"),
        pytest.param(
            "wecom",
            "tok",
            {"aes_key": CASES["wecom"].options["aes_key"], "corp_id": "ww"},
            None,
            id="wecom-query",
        ),
        pytest.param("twilio", "tw", {}, "https://hooks.example.com/hooks/tw", id="twilio-url"),
    ],
)
@pytest.mark.parametrize("framework", ["flask", "starlette"])
@pytest.mark.filterwarnings(STARLETTE_HTTPX)
def test_post_signed_through_test_clients(
    framework: str, provider: str, secret: str, options: dict[str, Any], url: str | None
) -> None:
    scheme = REGISTRY[provider](secret=secret, **options)
    guard = Guard([Route("/hooks/{name}", scheme)], clock=FrozenClock(NOW))
    body = b"<xml><Content>hi</Content></xml>" if provider == "wecom" else b'{"a": 1}'
    if provider == "twilio":
        body = b"Body=hello"
    signed = sign_request(provider, body, secret=secret, timestamp=NOW, url=url, **options)
    if framework == "flask":
        response = post_signed(_flask_app(guard).test_client(), signed, None if url else "/hooks/x")
        status, reply = response.status_code, response.get_json()
    else:
        from starlette.testclient import TestClient

        with TestClient(_starlette_app(guard)) as client:
            response = post_signed(client, signed, None if url else "/hooks/x")
        status, reply = response.status_code, response.json()
    assert status == 200, reply
    assert reply["verified"] is True
    assert reply["body"] == signed.body.decode()


def test_post_signed_refuses_unknown_clients() -> None:
    with pytest.raises(TypeError, match="unsupported client"):
        post_signed(object(), sign_request("github", b"{}", secret="s"), "/x")


def test_standard_webhooks_message_ids_differ() -> None:
    a = sign_request(
        "standard_webhooks", b"{}", secret="whsec_" + base64.b64encode(b"k" * 24).decode()
    )
    b = sign_request(
        "standard_webhooks", b"{}", secret="whsec_" + base64.b64encode(b"k" * 24).decode()
    )
    assert a.headers["webhook-id"] != b.headers["webhook-id"]
    assert json.loads(a.body) == {}


@pytest.mark.parametrize("provider", ["github", "dingtalk"])
def test_post_signed_through_django_client(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("django")
    monkeypatch.setenv("WG_DJANGO_POST_SECRET", "django-post-secret")
    from tests.integrations import django_urls
    from tests.integrations.common import Seen, django_ready

    django_ready()
    from django.test import Client, override_settings

    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    # a reference, as settings should hold (a literal secret there is warned about)
    route = {"path": "/hooks/github", "provider": provider, "secret": "env:WG_DJANGO_POST_SECRET"}
    django_urls.SEEN[0] = Seen()
    with override_settings(WEBHOOK_GUARD={"routes": [route]}, MIDDLEWARE=[MIDDLEWARE_PATH]):
        signed = sign_request(provider, b'{"a": 1}', secret="django-post-secret")
        response = post_signed(Client(), signed, "/hooks/github")
        forged = post_signed(
            Client(), sign_request(provider, b'{"a": 1}', secret="other"), "/hooks/github"
        )
    assert (response.status_code, forged.status_code) == (200, 401)
    [(body, verdict)] = django_urls.SEEN[0].handled("github")
    assert (body, verdict.verified) == (signed.body, True)
