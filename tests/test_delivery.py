"""Exactly once per event, nothing lost.

- A provider's retry (the same event, re-signed with a new timestamp; signed here by the
  providers' own SDKs) reaches a real Flask, Starlette, FastAPI and Django handler once,
  through the memory store and a real redis-server.
- An event the app did not accept (any status but 2xx, an exception, a client gone
  before the answer) is processed when the provider retries; after a 2xx, copies are
  acknowledged without reaching the app.
- A copy carrying a subset or a re-ordering of a message's signatures is the same
  message.
- For every provider in the registry, unsigned parts of a request (header order, extra
  headers) never change its replay key, and a different event always does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integrations.common import django_ready
from tests.providers.test_registry import _guard as registry_guard
from tests.providers.test_registry import _headers as registry_headers
from tests.providers.test_registry import _signed as registry_signed
from tests.providers.test_registry import case as registry_case
from webhook_guard import VERDICT_KEY, Guard, Route, Verdict, get_verdict
from webhook_guard.asgi import ASGIWebhookGuard
from webhook_guard.providers import (
    REGISTRY,
    box,
    names,
    paddle,
    pagerduty,
    persona,
    plivo,
    slack,
    standard_webhooks,
    stripe,
    svix,
)
from webhook_guard.stores import MemoryReplayStore
from webhook_guard.stores.redis import RedisReplayStore
from webhook_guard.testing import FrozenClock, build_asgi_scope, build_wsgi_environ

pytestmark = pytest.mark.anyio

NOW = 1_790_000_000.0
STRIPE_SECRET = "whsec_delivery_tests_stripe_signing_secret"
WHSEC = "whsec_" + base64.b64encode(b"delivery-tests-whsec-key!").decode()
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

STRIPE_EVENT = json.dumps(
    {"id": "evt_1PdeLiveryTest", "object": "event", "type": "invoice.paid", "data": {"n": 1}},
    indent=2,
)
SLACK_EVENT = json.dumps(
    {
        "token": "legacy",
        "team_id": "T061EG9R6",
        "api_app_id": "A0PNCHHK2",
        "event": {"type": "app_mention", "text": "<@U0LAN0Z89> deploy", "user": "U061F7AUR"},
        "type": "event_callback",
        "event_id": "Ev0PV52K21",
        "event_time": 1790000000,
    },
    separators=(",", ":"),
)
STANDARD_EVENT = '{"type":"invoice.paid","data":{"id":"inv_1"}}'

#: How late each provider's retry comes. Standard Webhooks and Svix retries come hours
#: later, far outside the 5-minute timestamp window: they verify because they are
#: re-signed, and they are duplicates because the signed message id is the same.
RETRY_AFTER = {"stripe": 3600.0, "standard_webhooks": 7200.0, "svix": 5 * 3600.0, "slack": 60.0}


def routes() -> list[Route]:
    return [
        Route("/hooks/stripe", stripe(secret=STRIPE_SECRET)),
        Route("/hooks/standard_webhooks", standard_webhooks(secret=WHSEC)),
        Route("/hooks/svix", svix(secret=WHSEC)),
        Route("/hooks/slack", slack(secret=SLACK_SECRET)),
    ]


def sdk_delivery(provider: str, at: float, attempt: int = 0) -> tuple[dict[str, str], bytes]:
    """Headers and body for ``attempt`` of one event, signed at ``at`` by the provider's SDK."""
    if provider == "stripe":
        import stripe as stripe_sdk

        header = stripe_sdk.WebhookSignature.generate_signature_header(
            STRIPE_EVENT, STRIPE_SECRET, timestamp=int(at)
        )
        return {"Stripe-Signature": header, "Content-Type": "application/json"}, STRIPE_EVENT.encode()
    if provider in ("standard_webhooks", "svix"):
        when = dt.datetime.fromtimestamp(int(at), dt.timezone.utc)
        if provider == "svix":
            from svix.webhooks import Webhook as SvixWebhook

            signature = SvixWebhook(WHSEC).sign("msg_2delivery", when, STANDARD_EVENT)
        else:
            from standardwebhooks.webhooks import Webhook

            signature = Webhook(WHSEC).sign("msg_2delivery", when, STANDARD_EVENT)
        prefix = "svix" if provider == "svix" else "webhook"
        return {
            f"{prefix}-id": "msg_2delivery",
            f"{prefix}-timestamp": str(int(at)),
            f"{prefix}-signature": signature,
            "Content-Type": "application/json",
        }, STANDARD_EVENT.encode()
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(at))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": SignatureVerifier(SLACK_SECRET).generate_signature(
            timestamp=timestamp, body=SLACK_EVENT
        ),
        "Content-Type": "application/json",
    }
    if attempt:  # Slack's documented retry headers (not signed)
        headers.update({"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"})
    return headers, SLACK_EVENT.encode()


# -- the app: a handler that answers what the test queued ----------------------------------


@dataclass
class Handler:
    """Records each call; answers the next queued outcome (200 when none is queued)."""

    queued: list[int | str] = field(default_factory=list)
    calls: list[tuple[str, bytes, Verdict]] = field(default_factory=list)

    def __call__(self, name: str, body: bytes, verdict: Verdict) -> int:
        self.calls.append((name, body, verdict))
        outcome = self.queued.pop(0) if self.queued else 200
        if outcome == "raise":
            raise RuntimeError("the handler failed")
        return int(outcome)


Send = Callable[[str, dict[str, str], bytes], Any]  # async -> (status, body)


def call_wsgi(app: Any, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """Run a WSGI app as a server does: iterate the response, then close it."""
    environ = build_wsgi_environ(path, body=body, headers=headers)
    status: list[str] = []
    try:
        result = app(environ, lambda s, h, e=None: status.append(s))
    except RuntimeError:  # a server answers 500 when the app raises
        return 500, b""
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(status[-1][:3]), content


def _wsgi(app: Any) -> Send:
    async def send(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        return call_wsgi(app, path, headers, body)

    return send


def _asgi(app: Any) -> Send:
    async def send(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        scope = build_asgi_scope(path, body=body, headers=headers)
        sent: list[dict[str, Any]] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(30)  # the client waits for the answer
            return {"type": "http.disconnect"}

        async def send_(message: dict[str, Any]) -> None:
            sent.append(message)

        with contextlib.suppress(RuntimeError):  # a server logs it; the answer was sent
            await asyncio.wait_for(app(scope, receive, send_), timeout=10)
        starts = [m for m in sent if m["type"] == "http.response.start"]
        if not starts:
            return 500, b""
        return int(starts[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])

    return send


def flask_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    from flask import Flask, request

    app = Flask("delivery")

    @app.post("/hooks/<name>")
    def hook(name: str) -> Any:
        return {"handled": name}, handler(name, request.get_data(), get_verdict(request))

    app.wsgi_app = guard.wsgi(app.wsgi_app)  # type: ignore[method-assign]
    return _wsgi(app)


def _starlette_app(handler: Handler) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route as SRoute

    async def hook(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        status = handler(name, await request.body(), get_verdict(request))
        return JSONResponse({"handled": name}, status_code=status)

    return Starlette(routes=[SRoute("/hooks/{name}", hook, methods=["POST"])])


def starlette_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    return _asgi(guard.asgi(_starlette_app(handler)))


def fastapi_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()

    async def hook(name: str, request: Request) -> JSONResponse:
        status = handler(name, await request.body(), get_verdict(request))
        return JSONResponse({"handled": name}, status_code=status)

    hook.__annotations__ = {"name": str, "request": Request, "return": JSONResponse}
    app.post("/hooks/{name}")(hook)
    app.add_middleware(ASGIWebhookGuard, guard=guard)
    return _asgi(app)


def _django(handler: Handler, stack: ExitStack, **overrides: Any) -> None:
    django_ready()
    from django.test import override_settings

    from tests.integrations import django_delivery_urls

    django_delivery_urls.HANDLER[0] = handler
    stack.enter_context(
        override_settings(ROOT_URLCONF="tests.integrations.django_delivery_urls", **overrides)
    )


def django_wsgi_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    _django(handler, stack)
    from django.core.wsgi import get_wsgi_application

    return _wsgi(guard.wsgi(get_wsgi_application()))


def django_asgi_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    _django(handler, stack)
    from django.core.asgi import get_asgi_application

    return _asgi(guard.asgi(get_asgi_application()))


def django_middleware_setup(guard: Guard, handler: Handler, stack: ExitStack) -> Send:
    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    _django(handler, stack, WEBHOOK_GUARD=guard, MIDDLEWARE=[MIDDLEWARE_PATH])
    from django.core.wsgi import get_wsgi_application

    return _wsgi(get_wsgi_application())


def stream_guard(clock: FrozenClock, store: Any) -> Guard:
    """The Django streaming tests' guard: Stripe on ``/stream/stripe`` (the view streams)."""
    return Guard(
        [Route("/stream/stripe", stripe(secret=STRIPE_SECRET))], replay_store=store, clock=clock
    )


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
async def test_django_middleware_settles_a_streamed_answer_after_its_content(server: str) -> None:
    """A StreamingHttpResponse is still to be produced when the view returns: a failure
    while it streams releases the claim (the retry is processed), a stream sent in full
    commits it (the next copy is a duplicate)."""
    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    clock = FrozenClock(NOW)
    guard = stream_guard(clock, MemoryReplayStore(clock=clock))
    runs: list[int] = []

    def content() -> Any:
        runs.append(1)
        failing = len(runs) == 1

        def parts() -> Iterable[bytes]:
            yield b"start "
            if failing:
                raise RuntimeError("failed while streaming")
            yield b"end"

        async def aparts() -> AsyncIterator[bytes]:
            for part in parts():
                yield part

        return aparts() if server == "asgi" else parts()

    with ExitStack() as stack:
        _django(Handler(), stack, WEBHOOK_GUARD=guard, MIDDLEWARE=[MIDDLEWARE_PATH])
        from django.core.asgi import get_asgi_application
        from django.core.wsgi import get_wsgi_application

        from tests.integrations import django_delivery_urls

        django_delivery_urls.STREAM[0] = content
        send = _asgi(get_asgi_application()) if server == "asgi" else _wsgi(get_wsgi_application())
        with contextlib.suppress(RuntimeError):  # the server logs it: the stream broke
            await send("/stream/stripe", *sdk_delivery("stripe", clock.now))
        assert runs == [1]
        retry = await send("/stream/stripe", *sdk_delivery("stripe", clock.now + 60, 1))
        assert retry == (200, b"start end")
        assert runs == [1, 1]
        copy = await send("/stream/stripe", *sdk_delivery("stripe", clock.now + 120, 2))
        assert is_duplicate(copy)
        assert runs == [1, 1]


async def test_django_asgi_client_gone_mid_stream_keeps_the_2xx() -> None:
    """Django's ASGI handler cancels a streamed response when the client goes away. The
    view answered 2xx and processed the event: the claim is committed, so the provider's
    retry is a duplicate (as under WSGI, where the server closes the response)."""
    from django.core.asgi import get_asgi_application

    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    clock = FrozenClock(NOW)
    guard = stream_guard(clock, MemoryReplayStore(clock=clock))
    runs: list[int] = []

    def content() -> Any:
        runs.append(1)
        first = len(runs) == 1

        async def parts() -> AsyncIterator[bytes]:
            yield b"part 1"
            if first:
                await asyncio.Event().wait()  # more to come; the client leaves meanwhile
            yield b"part 2"

        return parts()

    with ExitStack() as stack:
        _django(Handler(), stack, WEBHOOK_GUARD=guard, MIDDLEWARE=[MIDDLEWARE_PATH])
        from tests.integrations import django_delivery_urls

        django_delivery_urls.STREAM[0] = content
        app = get_asgi_application()
        headers, body = sdk_delivery("stripe", clock.now)
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        streaming = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await streaming.wait()  # the client leaves once the first part has arrived
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                streaming.set()

        scope = build_asgi_scope("/stream/stripe", body=body, headers=headers)
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
        copy = await _asgi(app)("/stream/stripe", *sdk_delivery("stripe", clock.now + 60, 1))
        assert is_duplicate(copy), copy
        assert runs == [1]


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
@pytest.mark.parametrize("iterator", ["sync", "async"])
async def test_django_asgi_settles_a_stream_with_an_asyncio_only_client(
    redis_url: str, iterator: str
) -> None:
    """Under ASGI, Django consumes a sync iterator (and calls close()) in a worker thread.
    With an asyncio-only Redis client, as one passes for an ASGI app, the commit still goes
    through that client: the copy is a duplicate, not a 409 and a second processing once
    the lease lapses."""
    import redis.asyncio

    from webhook_guard.integrations.django.checks import MIDDLEWARE_PATH

    clock = FrozenClock(NOW)
    client = redis.asyncio.Redis.from_url(redis_url)
    guard = stream_guard(clock, client)
    runs: list[int] = []

    def content() -> Any:
        runs.append(1)

        async def aparts() -> AsyncIterator[bytes]:
            yield b"streamed"

        return aparts() if iterator == "async" else iter([b"streamed"])

    try:
        with ExitStack() as stack:
            _django(Handler(), stack, WEBHOOK_GUARD=guard, MIDDLEWARE=[MIDDLEWARE_PATH])
            from django.core.asgi import get_asgi_application

            from tests.integrations import django_delivery_urls

            django_delivery_urls.STREAM[0] = content
            send = _asgi(get_asgi_application())
            first = await send("/stream/stripe", *sdk_delivery("stripe", clock.now))
            assert first == (200, b"streamed")
            copy = await send("/stream/stripe", *sdk_delivery("stripe", clock.now + 60, 1))
            assert is_duplicate(copy), copy
            assert runs == [1]
    finally:
        await client.aclose()


SETUPS = [
    pytest.param(flask_setup, id="flask"),
    pytest.param(starlette_setup, id="starlette"),
    pytest.param(fastapi_setup, id="fastapi-add_middleware"),
    pytest.param(django_wsgi_setup, id="django-wsgi"),
    pytest.param(django_asgi_setup, id="django-asgi"),
    pytest.param(django_middleware_setup, id="django-middleware"),
]


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Guard]]:
    """A guard factory on the memory store (expiring by the test's clock, so a retry hours
    later really is hours later for the store) or a real redis-server (flushed per test)."""
    guards: list[Guard] = []

    def build(clock: FrozenClock, **options: Any) -> Guard:
        store: Any = MemoryReplayStore(clock=clock)
        if request.param == "redis":
            store = request.getfixturevalue("redis_url")
        guard = Guard(routes(), clock=clock, replay_store=store, **options)
        guards.append(guard)
        return guard

    yield build
    for guard in guards:
        store = guard.store
        if isinstance(store, RedisReplayStore):
            if store._async_client is not None:
                await store._async_client.aclose()
            if store._client is not None:
                store._client.close()


def is_duplicate(response: tuple[int, bytes]) -> bool:
    status, body = response
    return status == 200 and json.loads(body).get("status") == "duplicate"


# -- retries of one event reach the handler once ------------------------------------------


@pytest.mark.parametrize("provider", sorted(RETRY_AFTER))
@pytest.mark.parametrize("setup", SETUPS)
async def test_provider_retry_reaches_the_handler_once(
    make: Callable[..., Guard], setup: Callable[..., Send], provider: str
) -> None:
    clock = FrozenClock(NOW)
    handler = Handler()
    with ExitStack() as stack:
        send = setup(make(clock), handler, stack)
        path = f"/hooks/{provider}"
        first = await send(path, *sdk_delivery(provider, clock.now))
        assert first[0] == 200, first
        clock.advance(RETRY_AFTER[provider])
        retry_headers, retry_body = sdk_delivery(provider, clock.now, attempt=1)
        original_headers, _ = sdk_delivery(provider, NOW)
        assert retry_headers != original_headers  # a new timestamp, a new signature
        retry = await send(path, retry_headers, retry_body)
        assert is_duplicate(retry), retry
        assert len(handler.calls) == 1
        verdict = handler.calls[0][2]
        assert verdict.verified
        expected_id = {"stripe": "evt_1PdeLiveryTest", "slack": "Ev0PV52K21"}
        assert verdict.message_id == expected_id.get(provider, "msg_2delivery")
        assert verdict.delivery_id == verdict.message_id


# -- an event the app did not accept is not lost ---------------------------------------------


def _models() -> tuple[type[Any], type[Any]]:
    from pydantic import BaseModel

    class StrictEvent(BaseModel):
        type: str
        data: dict[str, str]
        amount: int  # not in the event: the first deployment's model is wrong

    class FixedEvent(BaseModel):
        type: str
        data: dict[str, str]

    return StrictEvent, FixedEvent


StrictEvent, FixedEvent = _models()

NOT_ACCEPTED = [301, 302, 304, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, "raise"]


@pytest.mark.parametrize("outcome", NOT_ACCEPTED, ids=str)
@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
async def test_an_event_the_app_did_not_accept_is_processed_on_retry(
    make: Callable[..., Guard], adapter: str, outcome: int | str
) -> None:
    clock = FrozenClock(NOW)
    handler = Handler(queued=[outcome])
    guard = make(clock)
    send = _raw_app(guard, handler, adapter)
    path = "/hooks/standard_webhooks"
    first = await send(path, *sdk_delivery("standard_webhooks", clock.now))
    assert first[0] == (500 if outcome == "raise" else outcome)
    clock.advance(600)  # the provider retries later, re-signed, with the same message id
    retry = await send(path, *sdk_delivery("standard_webhooks", clock.now, attempt=1))
    assert retry[0] == 200
    assert not is_duplicate(retry)
    assert len(handler.calls) == 2  # the retry reached the app
    clock.advance(600)
    again = await send(path, *sdk_delivery("standard_webhooks", clock.now, attempt=2))
    assert is_duplicate(again)  # accepted (2xx) once: later copies are acknowledged
    assert len(handler.calls) == 2


@pytest.mark.parametrize("outcome", [302, 404, 422, 500, "raise"], ids=str)
@pytest.mark.parametrize("setup", SETUPS)
async def test_frameworks_release_what_the_app_did_not_accept(
    make: Callable[..., Guard], setup: Callable[..., Send], outcome: int | str
) -> None:
    clock = FrozenClock(NOW)
    handler = Handler(queued=[outcome])
    with ExitStack() as stack:
        send = setup(make(clock), handler, stack)
        path = "/hooks/svix"
        first = await send(path, *sdk_delivery("svix", clock.now))
        assert first[0] == (500 if outcome == "raise" else outcome)
        clock.advance(60)
        retry = await send(path, *sdk_delivery("svix", clock.now, attempt=1))
        assert retry[0] == 200
        assert not is_duplicate(retry)
        assert len(handler.calls) == 2


async def test_fastapi_validation_error_is_not_a_processed_event(
    make: Callable[..., Guard],
) -> None:
    """FastAPI answers 422 for a body its model rejects: after the fix is deployed, the
    provider's retry must reach the handler, not a 'duplicate' acknowledgement."""
    calls: list[str] = []

    def deployment(model: type[Any]) -> Any:
        from fastapi import FastAPI

        app = FastAPI()

        async def hook(event: Any) -> dict[str, str]:
            calls.append(event.type)
            return {"ok": event.type}

        hook.__annotations__ = {"event": model, "return": dict}
        app.post("/hooks/standard_webhooks")(hook)
        return app

    clock = FrozenClock(NOW)
    guard = make(clock)
    path = "/hooks/standard_webhooks"
    first = await _asgi(guard.asgi(deployment(StrictEvent)))(
        path, *sdk_delivery("standard_webhooks", clock.now)
    )
    assert first[0] == 422
    assert calls == []
    clock.advance(60)
    retry = await _asgi(guard.asgi(deployment(FixedEvent)))(
        path, *sdk_delivery("standard_webhooks", clock.now, attempt=1)
    )
    assert retry[0] == 200, retry
    assert calls == ["invoice.paid"]


async def test_commit_client_errors_opt_in_treats_4xx_as_processed(
    make: Callable[..., Guard],
) -> None:
    clock = FrozenClock(NOW)
    handler = Handler(queued=[422])
    send = _raw_app(make(clock, commit_client_errors=True), handler, "wsgi")
    assert (await send("/hooks/stripe", *sdk_delivery("stripe", clock.now)))[0] == 422
    clock.advance(60)
    assert is_duplicate(await send("/hooks/stripe", *sdk_delivery("stripe", clock.now, 1)))
    assert len(handler.calls) == 1


def _raw_app(guard: Guard, handler: Handler, adapter: str) -> Send:
    """A bare WSGI or ASGI endpoint behind the guard, answering the handler's status."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        status = handler(environ["PATH_INFO"], body, environ[VERDICT_KEY])
        start_response(f"{status} Whatever", [("Content-Type", "application/json")])
        return [b'{"app":true}']

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        status = handler(scope["path"], body, scope[VERDICT_KEY])
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b'{"app":true}'})

    return _wsgi(guard.wsgi(wsgi)) if adapter == "wsgi" else _asgi(guard.asgi(asgi))


async def test_client_gone_before_the_answer_releases(make: Callable[..., Guard]) -> None:
    """ASGI: the app sees http.disconnect and returns without answering."""
    clock = FrozenClock(NOW)
    calls: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append((await receive())["body"])
        if len(calls) == 1:
            assert (await receive())["type"] == "http.disconnect"
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guarded = make(clock).asgi(app)
    headers, body = sdk_delivery("stripe", clock.now)
    scope = build_asgi_scope("/hooks/stripe", body=body, headers=headers)
    messages = [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def ignore(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent to a client that left")

    await guarded(scope, receive, ignore)
    clock.advance(600)
    retry = await _asgi(guarded)("/hooks/stripe", *sdk_delivery("stripe", clock.now, 1))
    assert retry == (200, b"ok")
    assert len(calls) == 2


async def test_client_gone_while_a_2xx_is_sent_still_commits(make: Callable[..., Guard]) -> None:
    clock = FrozenClock(NOW)
    calls: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"processed"})

    guarded = make(clock).asgi(app)
    headers, body = sdk_delivery("stripe", clock.now)
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def broken(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        await guarded(build_asgi_scope("/hooks/stripe", body=body, headers=headers), receive, broken)
    clock.advance(600)
    retry = await _asgi(guarded)("/hooks/stripe", *sdk_delivery("stripe", clock.now, 1))
    assert is_duplicate(retry)
    assert len(calls) == 1


async def test_copy_while_the_first_is_in_flight_is_409(make: Callable[..., Guard]) -> None:
    clock = FrozenClock(NOW)
    guard = make(clock)
    inner: list[tuple[int, bytes]] = []
    handler = Handler()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        handler("stripe", b"", environ[VERDICT_KEY])
        if not inner:  # the provider's retry arrives while the first is still running
            retry = sdk_delivery("stripe", clock.now + 30, 1)
            inner.append(call_wsgi(guarded, "/hooks/stripe", *retry))
        start_response("200 OK", [])
        return [b"ok"]

    guarded = guard.wsgi(wsgi)
    assert call_wsgi(guarded, "/hooks/stripe", *sdk_delivery("stripe", clock.now))[0] == 200
    assert inner[0][0] == 409
    assert json.loads(inner[0][1])["error"] == "replayed"
    assert len(handler.calls) == 1


def test_a_late_failure_after_a_lapsed_lease_never_erases_the_retrys_commit() -> None:
    """A's lease lapses while its response still streams; the provider's retry B claims
    the key, is processed and committed; then A ends in failure and releases. B's commit
    stands: the next copy is a duplicate, not a third processing."""
    clock = FrozenClock(NOW)
    guard = Guard(
        [Route("/hooks/stripe", stripe(secret=STRIPE_SECRET))],
        replay_store=MemoryReplayStore(clock=clock),
        processing_timeout=300,
        clock=clock,
    )
    processed: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        processed.append(len(processed) + 1)
        failed = len(processed) == 1

        def stream() -> Iterable[bytes]:
            start_response("500 Internal Server Error" if failed else "200 OK", [])
            yield b"x"

        return stream()

    guarded = guard.wsgi(app)
    first = sdk_delivery("stripe", clock.now)
    environ = build_wsgi_environ("/hooks/stripe", body=first[1], headers=first[0])
    slow = guarded(environ, lambda s, h, e=None: None)  # A: claimed, still streaming
    clock.advance(301)  # A's lease lapses
    assert call_wsgi(guarded, "/hooks/stripe", *sdk_delivery("stripe", clock.now, 1))[0] == 200
    assert processed == [1, 2]
    for _ in slow:  # A ends with its 500: a release, late
        pass
    slow.close()  # type: ignore[attr-defined]
    third = call_wsgi(guarded, "/hooks/stripe", *sdk_delivery("stripe", clock.now + 1, 2))
    assert is_duplicate(third)
    assert processed == [1, 2]


# -- a subset or re-ordering of the signatures is the same message ----------------------------

KEY_A, KEY_B = "rotation-key-new", "rotation-key-old"
EVENT_WITH_ID = b'{"id":"evt_rot","event":{"id":"pd_rot"},"data":{"id":"inq_rot"},"event_id":"evt_pd"}'
EVENT_WITHOUT_ID = b'{"object":"invoice","amount":100}'


def _split(value: str, sep: str, *, keep: int) -> tuple[list[str], list[str]]:
    parts = value.split(sep)
    return parts[:keep], parts[keep:]


def _combined(name: str, body: bytes) -> tuple[Any, dict[str, str], list[dict[str, str]]]:
    """(scheme, headers with two signatures over one message, copies with a subset or a
    re-ordering of them)."""
    if name in ("stripe", "paddle", "pagerduty", "persona"):
        factory = {"stripe": stripe, "paddle": paddle, "pagerduty": pagerduty, "persona": persona}
        scheme = factory[name](secret=[KEY_A, KEY_B])
        header = {
            "stripe": "Stripe-Signature",
            "paddle": "Paddle-Signature",
            "pagerduty": "X-PagerDuty-Signature",
            "persona": "Persona-Signature",
        }[name]
        one = scheme.sign(body, secret=KEY_A, timestamp=NOW)[header]
        two = scheme.sign(body, secret=KEY_B, timestamp=NOW)[header]
        if name == "persona":  # rotation groups, separated by single spaces
            both, only_b, swapped = f"{one} {two}", two, f"{two} {one}"
        else:
            sep = ";" if name == "paddle" else ","
            sig_b = two.split(sep)[-1]
            both = f"{one}{sep}{sig_b}"
            head, sigs = _split(both, sep, keep=0 if name == "pagerduty" else 1)
            only_b = sep.join([*head, sigs[-1]])
            swapped = sep.join([*head, *reversed(sigs)])
        return scheme, {header: both}, [{header: only_b}, {header: swapped}]
    if name == "box":
        scheme = box(secret=[KEY_A, KEY_B])
        primary = scheme.sign(body, secret=KEY_A, timestamp=NOW, secondary=KEY_B)
        secondary_only = {k: v for k, v in primary.items() if k != "BOX-SIGNATURE-PRIMARY"}
        crossed = {
            **primary,
            "BOX-SIGNATURE-PRIMARY": primary["BOX-SIGNATURE-SECONDARY"],
            "BOX-SIGNATURE-SECONDARY": primary["BOX-SIGNATURE-PRIMARY"],
        }
        return scheme, primary, [secondary_only, crossed]
    if name in ("standard_webhooks", "svix"):
        key_a = "whsec_" + base64.b64encode(KEY_A.encode()).decode()
        key_b = "whsec_" + base64.b64encode(KEY_B.encode()).decode()
        scheme = (standard_webhooks if name == "standard_webhooks" else svix)(secret=[key_a, key_b])
        one = scheme.sign(body, secret=key_a, timestamp=NOW, message_id="msg_rot")
        two = scheme.sign(body, secret=key_b, timestamp=NOW, message_id="msg_rot")
        sig = next(k for k in one if k.endswith("-signature"))
        both = {**one, sig: f"{one[sig]} {two[sig]}"}
        return scheme, both, [{**one, sig: two[sig]}, {**one, sig: f"{two[sig]} {one[sig]}"}]
    assert name == "plivo"
    scheme = plivo(secret=[KEY_A, KEY_B])
    url = "https://hooks.example.com/hooks/multi"
    one = scheme.sign(body, secret=KEY_A, timestamp=NOW, url=url)
    two = scheme.sign(body, secret=KEY_B, timestamp=NOW, url=url)
    sig = "X-Plivo-Signature-V3"
    both = {**one, sig: f"{one[sig]},{two[sig]}"}
    return scheme, both, [{**one, sig: two[sig]}, {**one, sig: f"{two[sig]},{one[sig]}"}]


MULTI_SIGNATURE = ["stripe", "paddle", "pagerduty", "persona", "box", "standard_webhooks", "svix", "plivo"]


@pytest.mark.parametrize("body", [EVENT_WITH_ID, EVENT_WITHOUT_ID], ids=["event-id", "no-event-id"])
@pytest.mark.parametrize("name", MULTI_SIGNATURE)
async def test_a_subset_or_reordering_of_signatures_is_a_duplicate(
    make: Callable[..., Guard], name: str, body: bytes
) -> None:
    if name == "plivo":
        body = b"CallUUID=abc&Event=Hangup"
    scheme, both, copies = _combined(name, body)
    clock = FrozenClock(NOW)
    handler = Handler()
    guard = Guard(
        [Route("/hooks/multi", scheme, public_url="https://hooks.example.com/hooks/multi")],
        clock=clock,
        replay_store=make(clock).store,
    )
    send = _raw_app(guard, handler, "wsgi")
    content_type = {"Content-Type": "application/x-www-form-urlencoded" if name == "plivo" else "application/json"}
    first = await send("/hooks/multi", {**content_type, **both}, body)
    assert first[0] == 200, first
    for copy in copies:
        response = await send("/hooks/multi", {**content_type, **copy}, body)
        assert is_duplicate(response), (copy, response)
    assert len(handler.calls) == 1


# -- property: unsigned parts never change the key, another event always does ---------------


def _scheme_key(name: str, headers: list[tuple[str, str]], body: bytes, query: str) -> str | None:
    guard = registry_guard(name)
    engine = guard.engine
    found = engine.match("/hooks/p")
    plan = engine.plan(found)
    from webhook_guard.core.request import Headers, WebhookRequest

    request = WebhookRequest(
        "POST", "/hooks/p", Headers(headers), body, query, "https://hooks.example.com/hooks/p"
    )
    verdict = guard.verify(plan, request)
    assert verdict.verified, (name, verdict)
    return verdict.replay_key


def _other_event(body: bytes) -> bytes:
    replacements = ((b"evt_1", b"evt_2"), (b"hello", b"hellp"), (b"u1", b"u2"), (b"hi", b"ho"), (b"create", b"update"))
    for old, new in replacements:
        if old in body:
            body = body.replace(old, new, 1)
    return body


KEYED = [n for n in names() if registry_case(n).body_signed and n not in ("mailgun",)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(KEYED),
    seed=st.integers(min_value=0, max_value=2**32),
    extra=st.lists(
        st.tuples(
            st.sampled_from(["X-Forwarded-For", "User-Agent", "X-Request-Id", "X-Retry-Num"]),
            st.text(alphabet="abcdefghij0123456789-.", min_size=1, max_size=20),
        ),
        max_size=4,
    ),
)
def test_unsigned_parts_never_change_the_key_and_another_event_always_does(
    name: str, seed: int, extra: list[tuple[str, str]]
) -> None:
    wire = registry_signed(name)
    headers = list(wire.headers.items())
    key = _scheme_key(name, headers, wire.body, wire.query)
    assert key is not None
    shuffled = [*headers, *extra]
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - test data
    assert _scheme_key(name, shuffled, wire.body, wire.query) == key
    other_body = _other_event(registry_case(name).body)
    if name == "twitch":  # another event has another (signed) message id
        scheme = REGISTRY[name](secret=registry_case(name).secret)
        other = registry_headers(message_id="f1c2a387-161a-49f9-a165-0f21d7a4e1c4")(
            scheme, other_body, registry_case(name).secret
        )
    else:
        other = registry_signed(name, body=other_body)
    assert other.body != wire.body
    assert _scheme_key(name, list(other.headers.items()), other.body, other.query) != key


def test_every_provider_with_a_body_event_id_uses_it() -> None:
    """Where a provider signs an event id in its body, the verdict's message_id is it."""
    with_ids = {n for n in names() if REGISTRY[n](secret=registry_case(n).secret, **registry_case(n).options).event_id}
    assert {"stripe", "slack", "paddle", "box", "persona", "pagerduty", "mux", "notion"} <= with_ids
    for name in sorted(with_ids):
        scheme = REGISTRY[name](secret=registry_case(name).secret, **registry_case(name).options)
        path = scheme.event_id
        assert path is not None
        document: dict[str, Any] = {"amount": 1}
        node = document
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = f"evt_for_{name}"
        body = json.dumps(document).encode()
        wire = registry_signed(name, body=body)
        guard = registry_guard(name)
        plan = guard.engine.plan(guard.engine.match("/hooks/p"))
        from webhook_guard.core.request import Headers, WebhookRequest

        verdict = guard.verify(
            plan,
            WebhookRequest(
                "POST", "/hooks/p", Headers(wire.headers.items()), wire.body, wire.query,
                "https://hooks.example.com/hooks/p",
            ),
        )
        assert verdict.verified, name
        assert verdict.message_id == f"evt_for_{name}", name
