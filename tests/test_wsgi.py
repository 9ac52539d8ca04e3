"""The WSGI adapter: body buffering and limits, hand-off to the app, replay settling."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from webhook_guard import VERDICT_KEY, Guard, Reason, Route, Verdict, get_verdict
from webhook_guard.providers import github
from webhook_guard.testing import FrozenClock, build_wsgi_environ
from webhook_guard.wsgi import WSGIWebhookGuard

SECRET = "wsgi-test-secret-0123456789abcdef"
PATH = "/hooks/github"
SCHEME = github(secret=SECRET)
BODY = b'{"action":"opened","n":1}'
NOW = 1_700_000_000.0


def signed(body: bytes = BODY) -> dict[str, str]:
    return SCHEME.sign(body, secret=SECRET, timestamp=NOW)


class App:
    """Records what the app saw; answers ``status`` or raises."""

    def __init__(self, status: str = "200 OK", raises: bool = False) -> None:
        self.status = status
        self.raises = raises
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        seen = {
            "body": environ["wsgi.input"].read(),
            "content_length": environ.get("CONTENT_LENGTH"),
            "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING"),
            "verdict": get_verdict(environ),
            "has_key": VERDICT_KEY in environ,
            "environ": environ,
        }
        self.calls.append(seen)
        if self.raises:
            raise RuntimeError("app failed")
        start_response(self.status, [("Content-Type", "text/plain")])
        return [b"app"]


class Result:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(wrapped: Any, environ: dict[str, Any]) -> Result:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status[:3])
        captured["headers"] = headers
        return lambda data: None

    chunks = wrapped(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Result(captured["status"], captured["headers"], body)


def make(app: Any = None, **options: Any) -> tuple[Any, App]:
    inner = app if app is not None else App()
    routes = options.pop("routes", None) or [Route(PATH, SCHEME)]
    guard = Guard(routes, clock=FrozenClock(NOW), **options)
    return guard.wsgi(inner), inner


class FailingStream:
    """A wsgi.input that fails the test when read."""

    def read(self, *args: Any) -> bytes:
        pytest.fail("the body stream was read")

    readline = read


class RaisingStream:
    def read(self, *args: Any) -> bytes:
        raise OSError("client went away")


# -- genuine requests -------------------------------------------------------------------


def test_genuine_request_reaches_app_with_exact_bytes() -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed())
    original_input = environ["wsgi.input"]
    result = call(wrapped, environ)
    assert result.status == 200
    assert result.body == b"app"
    [seen] = app.calls
    assert seen["body"] == BODY
    assert seen["content_length"] == str(len(BODY))
    assert seen["environ"]["wsgi.input"] is not original_input
    verdict = seen["verdict"]
    assert verdict.verified is True
    assert verdict.reason is Reason.VERIFIED
    assert verdict.provider == "github"


def test_wsgi_guard_constructed_directly() -> None:
    app = App()
    wrapped = WSGIWebhookGuard(app, routes=[Route(PATH, SCHEME)])
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed())).status == 200
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY)).status == 401
    assert len(app.calls) == 1


def test_chunked_body_verified_and_delivered_with_length() -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed(), chunked=True)
    assert "CONTENT_LENGTH" not in environ
    result = call(wrapped, environ)
    assert result.status == 200
    [seen] = app.calls
    assert seen["body"] == BODY
    assert seen["content_length"] == str(len(BODY))
    assert seen["transfer_encoding"] is None
    assert seen["verdict"].verified


def test_chunked_without_input_terminated_is_411() -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed(), chunked=True)
    del environ["wsgi.input_terminated"]
    environ["wsgi.input"] = FailingStream()
    result = call(wrapped, environ)
    assert result.status == 411
    assert result.json()["error"] == "length_required"
    assert app.calls == []


# -- body limits ------------------------------------------------------------------------


def test_declared_length_over_limit_is_413_without_reading() -> None:
    wrapped, app = make(max_body=100)
    environ = build_wsgi_environ(PATH, body=b"", headers=signed(b"x" * 101))
    environ["CONTENT_LENGTH"] = "101"
    environ["wsgi.input"] = FailingStream()
    result = call(wrapped, environ)
    assert result.status == 413
    assert result.json()["error"] == "body_too_large"
    assert app.calls == []


@pytest.mark.parametrize(
    ("size", "status"),
    [pytest.param(100, 200, id="at-limit"), pytest.param(101, 413, id="one-over")],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_limit_boundary(size: int, status: int, chunked: bool) -> None:
    wrapped, app = make(max_body=100)
    body = b"x" * size
    result = call(
        wrapped, build_wsgi_environ(PATH, body=body, headers=signed(body), chunked=chunked)
    )
    assert result.status == status
    if status == 200:
        assert app.calls[0]["body"] == body
    else:
        assert result.json()["error"] == "body_too_large"
        assert app.calls == []


def test_route_max_body_overrides_guard() -> None:
    wrapped, app = make(routes=[Route(PATH, SCHEME, max_body=10)], max_body=1000)
    body = b"x" * 11
    result = call(wrapped, build_wsgi_environ(PATH, body=body, headers=signed(body)))
    assert result.status == 413
    assert app.calls == []


def test_short_body_is_400_body_incomplete() -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed())
    environ["CONTENT_LENGTH"] = str(len(BODY) + 10)
    result = call(wrapped, environ)
    assert result.status == 400
    assert result.json()["error"] == "body_incomplete"
    assert app.calls == []


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_stream_raising_is_400(chunked: bool) -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed(), chunked=chunked)
    environ["wsgi.input"] = RaisingStream()
    result = call(wrapped, environ)
    assert result.status == 400
    assert result.json()["error"] == "body_incomplete"
    assert app.calls == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("abc", id="letters"),
        pytest.param("-1", id="negative"),
        pytest.param("1e3", id="exponent"),
        pytest.param("9" * 30, id="huge"),
        pytest.param(" 25", id="space"),
        pytest.param("٢٥", id="non-ascii-digits"),
    ],
)
def test_invalid_content_length_is_400(value: str) -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed())
    environ["CONTENT_LENGTH"] = value
    environ["wsgi.input"] = FailingStream()
    result = call(wrapped, environ)
    assert result.status == 400
    assert result.json()["error"] == "bad_request"
    assert app.calls == []


@pytest.mark.parametrize("chunked", [False, True], ids=["length-first", "chunked-first"])
def test_content_length_with_transfer_encoding_is_400(chunked: bool) -> None:
    # RFC 9112 section 6.3: a request-smuggling vector (two parsers may frame it differently).
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed(), chunked=chunked)
    environ["CONTENT_LENGTH"] = str(len(BODY))
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = FailingStream()
    result = call(wrapped, environ)
    assert result.status == 400
    assert result.json()["error"] == "bad_request"
    assert app.calls == []


@pytest.mark.parametrize(
    "value", [pytest.param("25, 25", id="repeated"), pytest.param("25, 26", id="conflicting")]
)
def test_joined_content_length_values_are_400(value: str) -> None:
    # WSGI servers join a repeated header with ", ": never a plain number.
    wrapped, app = make()
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed())
    environ["CONTENT_LENGTH"] = value
    environ["wsgi.input"] = FailingStream()
    assert call(wrapped, environ).status == 400
    assert app.calls == []


# -- unguarded paths and the verdict key ------------------------------------------------


def test_unguarded_path_passes_untouched() -> None:
    seen: dict[str, Any] = {}
    stream = FailingStream()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen["input"] = environ["wsgi.input"]
        seen["has_key"] = VERDICT_KEY in environ
        seen["verdict"] = get_verdict(environ)
        start_response("200 OK", [])
        return [b"other"]

    wrapped, _ = make(app)
    environ = build_wsgi_environ("/other", body=BODY)
    environ["wsgi.input"] = stream
    result = call(wrapped, environ)
    assert result.status == 200
    assert result.body == b"other"
    assert seen["input"] is stream
    assert seen["has_key"] is False
    assert seen["verdict"].verified is False
    assert seen["verdict"].reason is Reason.NOT_GUARDED


def test_remembered_misses_never_change_what_is_guarded() -> None:
    """Unguarded paths are remembered (bounded, cleared when full) and then pass through on
    one lookup; a guarded path, a disguise of it, and a path seen before all keep their
    answers across a memo that filled up and was cleared."""
    from webhook_guard.core.routes import MAX_MISSES

    wrapped, app = make()
    for i in range(MAX_MISSES + 10):
        path = f"/other/{i % (MAX_MISSES + 5)}"
        assert call(wrapped, build_wsgi_environ(path, body=BODY)).status == 200
    assert call(wrapped, build_wsgi_environ("/other/1", body=BODY)).status == 200
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY)).json()["error"] == "missing_signature"
    assert call(wrapped, build_wsgi_environ(PATH + ";x", body=BODY)).json()["error"] == "bad_path"
    genuine = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert genuine.status == 200
    assert [c["verdict"].verified for c in app.calls if c["verdict"].route] == [True]


def test_a_guard_never_touches_a_verdict_on_a_path_it_does_not_guard() -> None:
    """Guards compose: an inner guard leaves the verdict an outer guard set."""
    upstream = Verdict(verified=True, reason=Reason.VERIFIED, route="/outer")
    wrapped, app = make()
    environ = build_wsgi_environ("/other", body=BODY)
    environ[VERDICT_KEY] = upstream
    assert call(wrapped, environ).status == 200
    assert app.calls[0]["verdict"] is upstream


def test_nested_guards_keep_the_outer_verdict() -> None:
    inner_guard = Guard([Route("/inner", github(secret=SECRET))])
    outer_guard = Guard([Route(PATH, github(secret=SECRET))])
    app = App()
    wrapped = outer_guard.wsgi(inner_guard.wsgi(app))
    result = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert result.status == 200
    [seen] = app.calls
    assert seen["verdict"].verified is True
    assert seen["verdict"].route == PATH
    assert seen["body"] == BODY


@pytest.mark.parametrize("path", [PATH, "/other"], ids=["guarded", "unguarded"])
def test_verdict_header_never_yields_a_verdict(path: str) -> None:
    wrapped, app = make()
    environ = build_wsgi_environ(path, body=BODY, headers={"Webhook-Guard-Verdict": "verified"})
    assert environ["HTTP_WEBHOOK_GUARD_VERDICT"] == "verified"
    result = call(wrapped, environ)
    if path == PATH:
        assert result.status == 401
        assert app.calls == []
    else:
        assert result.status == 200
        [seen] = app.calls
        assert seen["verdict"].verified is False
        assert seen["has_key"] is False


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_every_method_is_verified(method: str) -> None:
    wrapped, app = make()
    unsigned = call(wrapped, build_wsgi_environ(PATH, body=BODY, method=method))
    assert unsigned.status == 401
    assert unsigned.json()["error"] == "missing_signature"
    assert app.calls == []
    ok = call(wrapped, build_wsgi_environ(PATH, body=BODY, method=method, headers=signed()))
    assert ok.status == 200
    assert app.calls[0]["verdict"].verified


# -- rejection bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, "missing_signature", id="unsigned"),
        pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, "bad_signature", id="forged"),
        pytest.param({"X-Hub-Signature-256": "md5=zz"}, "malformed_signature", id="malformed"),
    ],
)
def test_rejection_body_names_reason_and_leaks_nothing(
    headers: dict[str, str], reason: str
) -> None:
    wrapped, app = make()
    expected = signed()["X-Hub-Signature-256"]
    result = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=headers))
    assert result.status == 401
    assert result.json()["error"] == reason
    text = result.body.decode()
    assert SECRET not in text
    assert expected not in text
    assert expected.split("=", 1)[1] not in text
    assert app.calls == []


# -- replay settling --------------------------------------------------------------------


def test_app_raising_releases_claim_so_retry_is_processed() -> None:
    failing = App(raises=True)
    wrapped, _ = make(failing)
    with pytest.raises(RuntimeError, match="app failed"):
        call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert len(failing.calls) == 1
    failing.raises = False
    retry = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert retry.status == 200
    assert retry.body == b"app"
    assert len(failing.calls) == 2


def test_app_500_releases_claim() -> None:
    app = App(status="500 Internal Server Error")
    wrapped, _ = make(app)
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed())).status == 500
    app.status = "200 OK"
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed())).status == 200
    assert len(app.calls) == 2


def test_processed_delivery_copy_is_duplicate_without_app() -> None:
    wrapped, app = make()
    first = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert first.status == 200
    copy = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert copy.status == 200
    assert copy.json()["status"] == "duplicate"
    assert len(app.calls) == 1


def test_duplicate_status_409() -> None:
    wrapped, app = make(duplicate_status=409)
    call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    copy = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert copy.status == 409
    assert copy.json()["status"] == "duplicate"
    assert len(app.calls) == 1


def test_lazy_iterable_app_commits_on_first_iteration() -> None:
    calls = 0

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal calls
        calls += 1
        start_response("200 OK", [])
        yield b"lazy"

    wrapped, _ = make(app)
    assert call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed())).body == b"lazy"
    copy = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert copy.json()["status"] == "duplicate"
    assert calls == 1


@pytest.mark.parametrize("server_closes", [True, False], ids=["then-close", "no-close"])
def test_a_stream_the_server_stops_reading_keeps_the_apps_2xx(server_closes: bool) -> None:
    """A client gone mid-stream: the server stops iterating (CPython closes the dropped
    iterator, then the server calls close()). The app chose 2xx and processed the event:
    the claim is committed, or the provider's retry would be processed again."""
    calls = 0

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal calls
        calls += 1
        start_response("200 OK", [])
        yield b"part 1"
        yield b"part 2"

    wrapped, _ = make(app)
    environ = build_wsgi_environ(PATH, body=BODY, headers=signed())
    response = wrapped(environ, lambda status, headers, exc_info=None: None)
    chunks = iter(response)
    assert next(chunks) == b"part 1"  # then the write fails: the server stops reading
    del chunks  # the generator is dropped (GeneratorExit) before close() is called
    if server_closes:
        response.close()  # type: ignore[attr-defined]
    copy = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert copy.json()["status"] == "duplicate"
    assert calls == 1


def test_replay_store_none_lets_copies_through() -> None:
    wrapped, app = make(replay_store=None)
    for _ in range(2):
        assert call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed())).status == 200
    assert len(app.calls) == 2


# -- report-only ------------------------------------------------------------------------


def test_report_only_passes_forged_request_marked_unverified() -> None:
    wrapped, app = make(routes=[Route(PATH, SCHEME, report_only=True)])
    headers = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    result = call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=headers))
    assert result.status == 200
    [seen] = app.calls
    verdict = seen["verdict"]
    assert verdict.verified is False
    assert verdict.report_only is True
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert seen["body"] == BODY


def test_report_only_still_refuses_oversized_bodies() -> None:
    wrapped, app = make(routes=[Route(PATH, SCHEME, report_only=True, max_body=4)])
    result = call(wrapped, build_wsgi_environ(PATH, body=BODY))
    assert result.status == 413
    assert app.calls == []


# -- a real server ----------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_real_round_trip_through_wsgiref() -> None:
    app = App()
    wrapped, _ = make(app)
    server = make_server("127.0.0.1", 0, wrapped, handler_class=QuietHandler)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:

        def post(headers: dict[str, str]) -> tuple[int, bytes]:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{PATH}", data=BODY, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                with exc:
                    return exc.code, exc.read()

        status, body = post(signed())
        assert (status, body) == (200, b"app")
        status, body = post({"X-Hub-Signature-256": "sha256=" + "1" * 64})
        assert status == 401
        assert json.loads(body)["error"] == "bad_signature"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [c["body"] for c in app.calls] == [BODY]
    assert app.calls[0]["verdict"].verified


def test_body_stream_given_to_app_is_bytesio() -> None:
    wrapped, app = make()
    call(wrapped, build_wsgi_environ(PATH, body=BODY, headers=signed()))
    assert isinstance(app.calls[0]["environ"]["wsgi.input"], io.BytesIO)
