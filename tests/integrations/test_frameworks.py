"""Real Flask, Starlette, FastAPI and Django apps, each wrapped in one line.

Every app defines the same endpoints (three guarded webhooks, a ``{param}`` route and a
catch-all); every case runs against each of them: genuine requests reach the handler
with the exact bytes and the verdict; forged, missing, stale, future, replayed and
oversized ones are refused before it; disguised paths never reach a guarded handler
unverified, whatever the framework's router makes of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.integrations import django_urls
from tests.integrations.common import (
    BODY,
    DINGTALK,
    DINGTALK_SECRET,
    DISGUISES,
    NOW,
    REJECTIONS,
    SEATABLE,
    SEATABLE_SECRET,
    Seen,
    Sender,
    asgi_sender,
    django_ready,
    error_of,
    github_headers,
    make_guard,
    wsgi_sender,
)
from webhook_guard import Guard, get_verdict
from webhook_guard.asgi import ASGIWebhookGuard
from webhook_guard.testing import FrozenClock

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
GUARDED = ("github", "repo", "seatable", "dingtalk")


class MethodOverride:
    """The common WSGI method-override middleware, placed inside the guard."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE")
        if override:
            environ["REQUEST_METHOD"] = override.upper()
        return self.app(environ, start_response)


# -- apps -------------------------------------------------------------------------------


def flask_app(guard: Guard, seen: Seen) -> Sender:
    from flask import Flask, jsonify, request

    app = Flask("webhook_guard_test")

    def endpoint(name: str) -> Callable[..., Any]:
        def view(**kwargs: str) -> Any:
            seen.record(name, request.get_data(), request)
            return jsonify(handler=name, params=dict(get_verdict(request).params))

        view.__name__ = f"view_{name}"
        return view

    app.add_url_rule("/hooks/github", view_func=endpoint("github"), methods=METHODS)
    app.add_url_rule("/repos/<repo>/hooks", view_func=endpoint("repo"), methods=METHODS)
    app.add_url_rule("/hooks/seatable", view_func=endpoint("seatable"), methods=METHODS)
    app.add_url_rule("/hooks/dingtalk", view_func=endpoint("dingtalk"), methods=METHODS)
    other = endpoint("other")
    app.add_url_rule("/", view_func=other, methods=METHODS, defaults={"p": ""})
    app.add_url_rule("/<path:p>", view_func=other, methods=METHODS, endpoint="other_path")
    app.wsgi_app = guard.wsgi(MethodOverride(app.wsgi_app))  # type: ignore[method-assign]
    return wsgi_sender(app)


def _starlette_routes(seen: Seen) -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route as SRoute

    def endpoint(name: str) -> Callable[..., Any]:
        async def view(request: Request) -> JSONResponse:
            seen.record(name, await request.body(), request)
            return JSONResponse({"handler": name, "params": dict(get_verdict(request).params)})

        return view

    return [
        SRoute("/hooks/github", endpoint("github"), methods=METHODS),
        SRoute("/repos/{repo}/hooks", endpoint("repo"), methods=METHODS),
        SRoute("/hooks/seatable", endpoint("seatable"), methods=METHODS),
        SRoute("/hooks/dingtalk", endpoint("dingtalk"), methods=METHODS),
        SRoute("/{p:path}", endpoint("other"), methods=METHODS),
    ]


def starlette_wrapped(guard: Guard, seen: Seen) -> Sender:
    from starlette.applications import Starlette

    return asgi_sender(guard.asgi(Starlette(routes=_starlette_routes(seen))))


def starlette_add_middleware(guard: Guard, seen: Seen) -> Sender:
    from starlette.applications import Starlette

    app = Starlette(routes=_starlette_routes(seen))
    app.add_middleware(ASGIWebhookGuard, guard=guard)
    return asgi_sender(app)


def _fastapi(seen: Seen) -> Any:
    from fastapi import FastAPI, Request

    app = FastAPI()

    def endpoint(name: str, path: str) -> None:
        async def view(request: Request) -> dict[str, Any]:
            seen.record(name, await request.body(), request)
            return {"handler": name, "params": dict(get_verdict(request).params)}

        view.__annotations__ = {"request": Request, "return": dict}  # resolved for FastAPI
        app.api_route(path, methods=METHODS, name=name)(view)

    endpoint("github", "/hooks/github")
    endpoint("repo", "/repos/{repo}/hooks")
    endpoint("seatable", "/hooks/seatable")
    endpoint("dingtalk", "/hooks/dingtalk")
    endpoint("other", "/{p:path}")
    return app


def fastapi_wrapped(guard: Guard, seen: Seen) -> Sender:
    return asgi_sender(guard.asgi(_fastapi(seen)))


def fastapi_add_middleware(guard: Guard, seen: Seen) -> Sender:
    app = _fastapi(seen)
    app.add_middleware(ASGIWebhookGuard, guard=guard)
    return asgi_sender(app)


def django_wsgi(guard: Guard, seen: Seen) -> Sender:
    django_ready()
    from django.core.wsgi import get_wsgi_application

    django_urls.SEEN[0] = seen
    return wsgi_sender(guard.wsgi(get_wsgi_application()))


def django_asgi(guard: Guard, seen: Seen) -> Sender:
    django_ready()
    from django.core.asgi import get_asgi_application

    django_urls.SEEN[0] = seen
    return asgi_sender(guard.asgi(get_asgi_application()))


_STACK = ExitStack()


def _django_middleware(guard: Guard, seen: Seen, *, asynchronous: bool) -> Sender:
    django_ready()
    from django.test import override_settings

    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    django_urls.SEEN[0] = seen
    _STACK.enter_context(
        override_settings(
            WEBHOOK_GUARD=guard,
            MIDDLEWARE=[MIDDLEWARE_PATH, "django.middleware.common.CommonMiddleware"],
        )
    )
    if asynchronous:
        from django.core.asgi import get_asgi_application

        return asgi_sender(get_asgi_application())
    from django.core.wsgi import get_wsgi_application

    return wsgi_sender(get_wsgi_application())


def django_middleware_wsgi(guard: Guard, seen: Seen) -> Sender:
    return _django_middleware(guard, seen, asynchronous=False)


def django_middleware_asgi(guard: Guard, seen: Seen) -> Sender:
    return _django_middleware(guard, seen, asynchronous=True)


FRAMEWORKS = [
    pytest.param(flask_app, id="flask"),
    pytest.param(starlette_wrapped, id="starlette"),
    pytest.param(starlette_add_middleware, id="starlette-add_middleware"),
    pytest.param(fastapi_wrapped, id="fastapi"),
    pytest.param(fastapi_add_middleware, id="fastapi-add_middleware"),
    pytest.param(django_wsgi, id="django-wsgi"),
    pytest.param(django_asgi, id="django-asgi"),
    pytest.param(django_middleware_wsgi, id="django-middleware-wsgi"),
    pytest.param(django_middleware_asgi, id="django-middleware-asgi"),
]


class App:
    def __init__(self, send: Sender, seen: Seen, clock: FrozenClock) -> None:
        self.send, self.seen, self.clock = send, seen, clock


@pytest.fixture(params=FRAMEWORKS)
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    clock = FrozenClock(NOW)
    seen = Seen()
    try:
        yield App(request.param(make_guard(clock), seen), seen, clock)
    finally:
        _STACK.close()


# -- genuine requests -----------------------------------------------------------------


def test_genuine_github_reaches_handler_with_exact_bytes(app: App) -> None:
    status, content = app.send("POST", "/hooks/github", github_headers(BODY), BODY)
    assert status == 200, content
    [(body, verdict)] = app.seen.handled("github")
    assert body == BODY
    assert verdict.verified
    assert verdict.provider == "github"
    assert verdict.route == "/hooks/github"


def test_genuine_param_route_exposes_params(app: App) -> None:
    status, _ = app.send("POST", "/repos/api/hooks", github_headers(BODY), BODY)
    assert status == 200
    [(_, verdict)] = app.seen.handled("repo")
    assert verdict.verified
    assert dict(verdict.params) == {"repo": "api"}


@pytest.mark.parametrize(
    ("path", "name", "headers"),
    [
        pytest.param(
            "/hooks/seatable",
            "seatable",
            SEATABLE.sign(BODY, secret=SEATABLE_SECRET),
            id="seatable",
        ),
        pytest.param(
            "/hooks/dingtalk",
            "dingtalk",
            DINGTALK.sign(BODY, secret=DINGTALK_SECRET, timestamp=NOW),
            id="dingtalk",
        ),
    ],
)
def test_genuine_seed_providers(app: App, path: str, name: str, headers: dict[str, str]) -> None:
    status, _ = app.send("POST", path, dict(headers), BODY)
    assert status == 200
    [(body, verdict)] = app.seen.handled(name)
    assert body == BODY
    assert verdict.verified
    assert verdict.body_signed is (name != "dingtalk")


def test_chunked_body_without_length_is_verified(app: App, request: pytest.FixtureRequest) -> None:
    status, content = app.send("POST", "/hooks/github", github_headers(BODY), BODY, chunked=True)
    if request.node.callspec.id == "django-middleware-wsgi":
        # Django's WSGI request ignores chunked bodies: refused plainly, never verified empty.
        assert (status, error_of(content)) == (411, "length_required")
        assert app.seen.calls == []
        return
    assert status == 200
    [(body, verdict)] = app.seen.handled("github")
    assert body == BODY
    assert verdict.verified


# -- rejections -------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "headers", "body", "status", "error"), REJECTIONS)
def test_rejected_before_the_handler(
    app: App, path: str, headers: dict[str, str], body: bytes, status: int, error: str
) -> None:
    got, content = app.send("POST", path, dict(headers), body)
    assert (got, error_of(content)) == (status, error)
    assert app.seen.calls == []


def test_replayed_delivery_reaches_handler_once(app: App) -> None:
    headers = github_headers(BODY)
    first = app.send("POST", "/hooks/github", headers, BODY)
    second = app.send("POST", "/hooks/github", headers, BODY)
    assert first[0] == 200
    assert second[0] == 200  # acknowledged as a duplicate, not processed again
    assert b"duplicate" in second[1]
    assert len(app.seen.handled("github")) == 1


def test_replay_of_dingtalk_pair_with_another_body_is_refused(app: App) -> None:
    headers = DINGTALK.sign(BODY, secret=DINGTALK_SECRET, timestamp=NOW)
    assert app.send("POST", "/hooks/dingtalk", dict(headers), BODY)[0] == 200
    status, _ = app.send("POST", "/hooks/dingtalk", dict(headers), b'{"other":true}')
    assert status in (200, 409)
    assert [b for b, _ in app.seen.handled("dingtalk")] == [BODY]


# -- path differential ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "raw_path", "headers"), DISGUISES)
def test_disguised_paths_never_reach_a_guarded_handler_unverified(
    app: App, method: str, raw_path: str, headers: dict[str, str]
) -> None:
    status, _ = app.send(method, raw_path, {"Content-Type": "application/json", **headers}, BODY)
    for name, _body, verdict in app.seen.calls:
        if name in GUARDED:
            pytest.fail(f"{raw_path!r} reached guarded handler {name!r} unverified ({verdict})")
    assert status != 500


def test_unguarded_path_reaches_catch_all(app: App) -> None:
    """The disguise test above can fail: an unguarded path does reach a handler."""
    status, _ = app.send("POST", "/elsewhere", {}, BODY)
    assert status == 200
    [(body, verdict)] = app.seen.handled("other")
    assert body == BODY
    assert not verdict.verified


# -- mounting ---------------------------------------------------------------------------


def test_flask_under_script_name() -> None:
    seen = Seen()
    send = flask_app(make_guard(), seen)
    status, content = send("POST", "/hooks/github", {}, BODY, script_name="/prefix")
    assert (status, error_of(content)) == (401, "missing_signature")
    status, _ = send("POST", "/hooks/github", github_headers(BODY), BODY, script_name="/prefix")
    assert status == 200
    assert [v.verified for _, v in seen.handled("github")] == [True]


def test_starlette_mounted_sub_app() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    seen = Seen()
    inner = make_guard().asgi(Starlette(routes=_starlette_routes(seen)))
    send = asgi_sender(Starlette(routes=[Mount("/sub", app=inner)]))
    status, content = send("POST", "/sub/hooks/github", {}, BODY)
    assert (status, error_of(content)) == (401, "missing_signature")
    assert send("POST", "/sub/hooks/github", github_headers(BODY), BODY)[0] == 200
    assert [v.verified for _, v in seen.handled("github")] == [True]


@pytest.mark.parametrize(
    "framework", [fastapi_wrapped, starlette_wrapped], ids=["fastapi", "starlette"]
)
def test_behind_a_root_path(framework: Callable[[Guard, Seen], Sender]) -> None:
    seen = Seen()
    send = framework(make_guard(), seen)
    status, content = send("POST", "/hooks/github", {}, BODY, root_path="/api")
    assert (status, error_of(content)) == (401, "missing_signature")
    assert send("POST", "/hooks/github", github_headers(BODY), BODY, root_path="/api")[0] == 200
    assert [v.verified for _, v in seen.handled("github")] == [True]


def test_fastapi_own_root_path_is_matched_as_its_router_sees_it() -> None:
    """``FastAPI(root_path=...)`` sets the scope's ``root_path`` itself, after an outer
    guard has looked, and its router strips it: the guard strips it too, or an unsigned
    request under the prefix would reach the guarded handler."""
    seen = Seen()
    app = _fastapi(seen)
    app.root_path = "/api"
    send = asgi_sender(make_guard().asgi(app))
    for path in ("/api/hooks/github", "/hooks/github"):
        status, content = send("POST", path, {}, BODY)
        assert (status, error_of(content)) == (401, "missing_signature"), path
    assert send("POST", "/api/hooks/github", github_headers(BODY), BODY)[0] == 200
    assert [v.verified for _, v in seen.handled("github")] == [True]


def test_django_asgi_under_force_script_name() -> None:
    """Django's ASGI handler strips ``FORCE_SCRIPT_NAME`` from the path before routing:
    ``guard.asgi(get_asgi_application())`` matches the same path."""
    django_ready()
    from django.test import override_settings

    seen = Seen()
    with override_settings(FORCE_SCRIPT_NAME="/app"):
        send = django_asgi(make_guard(), seen)
        for path in ("/app/hooks/github", "/hooks/github"):
            status, content = send("POST", path, {}, BODY)
            assert (status, error_of(content)) == (401, "missing_signature"), path
        assert send("POST", "/app/hooks/github", github_headers(BODY), BODY)[0] == 200
    assert [v.verified for _, v in seen.handled("github")] == [True]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["wsgi", "asgi"])
def test_django_middleware_refuses_a_body_django_will_not_read_as_too_large(
    asynchronous: bool,
) -> None:
    """A signed body within the route's limit but above Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read it, so 413, not 'ended early'."""
    django_ready()
    from django.test import override_settings

    seen = Seen()
    body = b'{"pad":"' + b"x" * 300 + b'"}'
    try:  # one stack: the overrides are undone in the order they were made
        _STACK.enter_context(override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100))
        send = _django_middleware(make_guard(), seen, asynchronous=asynchronous)
        status, content = send("POST", "/hooks/github", github_headers(body), body)
    finally:
        _STACK.close()
    assert (status, error_of(content)) == (413, "body_too_large")
    assert seen.calls == []


# -- URL-signed providers: the URL the provider called ------------------------------------

TWILIO_TOKEN = "twilio-auth-token"
SQUARE_KEY = "square-signature-key"
PUBLIC_TWILIO = "https://hooks.example.com/hooks/twilio"
FORM = b"CallSid=CA123&From=%2B14155550100&Body=hello+world"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def url_guard(*, trusted: tuple[str, ...] = ()) -> Guard:
    from webhook_guard import Route
    from webhook_guard.providers import square, twilio

    return Guard(
        [
            Route("/hooks/twilio", twilio(secret=TWILIO_TOKEN), public_url=PUBLIC_TWILIO),
            Route("/hooks/square", square(secret=SQUARE_KEY)),
        ],
        trusted_proxies=trusted,
        clock=FrozenClock(NOW),
    )


def _twilio(url: str, body: bytes = FORM) -> dict[str, str]:
    from webhook_guard.providers import twilio

    return {**FORM_HEADERS, **twilio(secret=TWILIO_TOKEN).sign(body, secret=TWILIO_TOKEN, url=url)}


def _square(url: str, body: bytes = BODY) -> dict[str, str]:
    from webhook_guard.providers import square

    headers = square(secret=SQUARE_KEY).sign(body, secret=SQUARE_KEY, url=url)
    return {"Content-Type": "application/json", **headers}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("raw_path", "signed_url", "status"),
    [
        pytest.param("/hooks/twilio", PUBLIC_TWILIO, 200, id="public_url"),
        pytest.param(
            "/hooks/twilio?tenant=a", PUBLIC_TWILIO + "?tenant=a", 200, id="public_url+query"
        ),
        pytest.param(
            "/hooks/twilio", "http://127.0.0.1:8000/hooks/twilio", 401, id="internal-url-refused"
        ),
        pytest.param(
            "/hooks/twilio?tenant=b", PUBLIC_TWILIO + "?tenant=a", 401, id="query-swapped"
        ),
    ],
)
def test_twilio_verifies_against_the_routes_public_url(
    framework: Callable[[Guard, Seen], Sender], raw_path: str, signed_url: str, status: int
) -> None:
    seen = Seen()
    try:
        send = framework(url_guard(), seen)
        got, content = send("POST", raw_path, _twilio(signed_url), FORM)
    finally:
        _STACK.close()
    assert got == status, content
    if status == 200:
        [(_, body, verdict)] = seen.calls
        assert (body, verdict.verified, verdict.provider) == (FORM, True, "twilio")
    else:
        assert (error_of(content), seen.calls) == ("bad_signature", [])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("trusted", "forwarded", "signed_url", "status"),
    [
        pytest.param((), {}, "http://127.0.0.1:8000/hooks/square", 200, id="rebuilt-from-host"),
        pytest.param(
            ("127.0.0.1",),
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pay.example.com"},
            "https://pay.example.com/hooks/square",
            200,
            id="trusted-proxy",
        ),
        pytest.param(
            (),
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pay.example.com"},
            "https://pay.example.com/hooks/square",
            401,
            id="forwarded-from-untrusted-peer-ignored",
        ),
        pytest.param(
            ("10.0.0.1",),
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pay.example.com"},
            "https://pay.example.com/hooks/square",
            401,
            id="peer-not-in-trusted-list",
        ),
    ],
)
def test_square_url_rebuilt_with_forwarded_headers_only_from_trusted_proxies(
    framework: Callable[[Guard, Seen], Sender],
    trusted: tuple[str, ...],
    forwarded: dict[str, str],
    signed_url: str,
    status: int,
) -> None:
    seen = Seen()
    try:
        send = framework(url_guard(trusted=trusted), seen)
        got, content = send("POST", "/hooks/square", {**_square(signed_url), **forwarded}, BODY)
    finally:
        _STACK.close()
    assert got == status, content
    assert [(b, v.verified) for _, b, v in seen.calls] == ([(BODY, True)] if status == 200 else [])
