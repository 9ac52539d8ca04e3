"""The sans-IO Engine: plans, verification outcomes, replay keys and statuses."""

from __future__ import annotations

import pytest

from webhook_guard.core.guard import (
    DEFAULT_MAX_BODY,
    DEFAULT_REPLAY_TTL,
    READ_TO_END,
    REPLAY_MARGIN,
    Engine,
    Plan,
    body_framing,
)
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.routes import Route
from webhook_guard.core.scheme import Check, Scheme
from webhook_guard.core.verdict import Reason, Verdict
from webhook_guard.providers import dingtalk, github, token

NOW = 1_700_000_000.0
SECRET = "gh-secret"
KEYS = KeySet([Secret(SECRET, key_id="current")])
BODY = b'{"zen": "Keep it logically awesome."}'


class Exploding(Scheme):
    name = "exploding"

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        raise RuntimeError("a scheme bug")

    def sign(self, body: bytes, *, secret: str | bytes, timestamp: float | None = None) -> dict[str, str]:
        return {}


class Lying(Scheme):
    """Claims VERIFIED with signed replay material (to test replay-key derivation)."""

    name = "lying"

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        return Check(Reason.VERIFIED, key_id="k", replay_material=b"material")

    def sign(self, body: bytes, *, secret: str | bytes, timestamp: float | None = None) -> dict[str, str]:
        return {}


def req(headers: dict[str, str], body: bytes = BODY) -> WebhookRequest:
    return WebhookRequest(method="POST", path="/", headers=Headers(headers.items()), body=body)


def plan_for(engine: Engine, path: str) -> Plan:
    found = engine.match(path)
    assert found is not None
    plan = engine.plan(found)
    assert isinstance(plan, Plan)
    return plan


def signed() -> WebhookRequest:
    return req(github(secret=SECRET).sign(BODY, secret=SECRET))


# -- plan ----------------------------------------------------------------------------------


def test_plan_not_guarded() -> None:
    assert Engine([Route("/hooks/github", github(secret=SECRET))]).match("/other") is None


def test_plan_disguised_path_is_bad_path() -> None:
    verdict = plan_for(Engine([Route("/hooks/github", github(secret=SECRET))]), "/hooks//github").refusal
    assert isinstance(verdict, Verdict)
    assert verdict.reason is Reason.BAD_PATH
    assert verdict.status == 400
    assert not verdict.verified


def test_plan_body_limits() -> None:
    engine = Engine(
        [Route("/a", github(secret=SECRET)), Route("/b/{x}", github(secret=SECRET), max_body=10)],
        max_body=123,
    )
    assert plan_for(engine, "/a").max_body == 123
    plan = plan_for(engine, "/b/y")
    assert plan.max_body == 10
    assert dict(plan.params) == {"x": "y"}
    # Without an explicit limit a provider's largest documented payload applies (GitHub:
    # 25 MB), else DEFAULT_MAX_BODY.
    assert plan_for(Engine([Route("/a", github(secret=SECRET))]), "/a").max_body == 25 * 1024 * 1024
    assert plan_for(Engine([Route("/a", token(secret=SECRET, header="X-T"))]), "/a").max_body == DEFAULT_MAX_BODY


def test_zero_body_limit_is_kept() -> None:
    engine = Engine([Route("/a", github(secret=SECRET), max_body=0)])
    assert plan_for(engine, "/a").max_body == 0


# -- verify --------------------------------------------------------------------------------


def test_verified() -> None:
    engine = Engine([Route("/hooks/github/{repo}", github(secret=SECRET))])
    plan = plan_for(engine, "/hooks/github/api")
    verdict = engine.verify(plan, signed(), KEYS, NOW)
    assert verdict.verified
    assert verdict.reason is Reason.VERIFIED
    assert verdict.status == 200
    assert verdict.provider == "github"
    assert verdict.route == "/hooks/github/{repo}"
    assert dict(verdict.params) == {"repo": "api"}
    assert verdict.key_id == "current"
    assert verdict.body_signed is True
    assert verdict.body == BODY
    assert verdict.replay_key is not None


def test_unsigned_route() -> None:
    engine = Engine([Route("/open", unsigned=True)])
    verdict = engine.verify(plan_for(engine, "/open"), req({}), KeySet(()), NOW)
    assert not verdict.verified
    assert verdict.reason is Reason.UNSIGNED
    assert verdict.status == 200
    assert verdict.provider == "unsigned"
    assert verdict.body == BODY


def test_unsigned_flag_wins_over_a_provider() -> None:
    engine = Engine([Route("/open", github(secret=SECRET), unsigned=True)])
    verdict = engine.verify(plan_for(engine, "/open"), signed(), KEYS, NOW)
    assert not verdict.verified
    assert verdict.reason is Reason.UNSIGNED


def test_no_keys_is_no_active_key() -> None:
    engine = Engine([Route("/h", github(secret=SECRET))])
    verdict = engine.verify(plan_for(engine, "/h"), signed(), KeySet(()), NOW)
    assert not verdict.verified
    assert verdict.reason is Reason.NO_ACTIVE_KEY
    assert verdict.status == 401


def test_scheme_exception_is_internal_error_never_verified() -> None:
    engine = Engine([Route("/h", Exploding(secret=SECRET))])
    verdict = engine.verify(plan_for(engine, "/h"), signed(), KEYS, NOW)
    assert not verdict.verified
    assert verdict.reason is Reason.INTERNAL_ERROR
    assert verdict.status == 500
    assert verdict.replay_key is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, Reason.MISSING_SIGNATURE, id="missing"),
        pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, Reason.BAD_SIGNATURE, id="bad"),
        pytest.param({"X-Hub-Signature-256": "nope"}, Reason.MALFORMED_SIGNATURE, id="malformed"),
    ],
)
def test_rejections_carry_route_and_no_key(headers: dict[str, str], reason: Reason) -> None:
    engine = Engine([Route("/h", github(secret=SECRET))])
    verdict = engine.verify(plan_for(engine, "/h"), req(headers), KEYS, NOW)
    assert not verdict.verified
    assert verdict.reason is reason
    assert verdict.status == 401
    assert verdict.route == "/h"
    assert verdict.provider == "github"
    assert verdict.key_id is None
    assert verdict.replay_key is None


def test_status_override_applies_to_auth_failures_only() -> None:
    engine = Engine([Route("/h", github(secret=SECRET), status=403)])
    plan = plan_for(engine, "/h")
    assert engine.verify(plan, req({}), KEYS, NOW).status == 403
    assert engine.verify(plan, signed(), KeySet(()), NOW).status == 403
    assert engine.verify(plan, signed(), KEYS, NOW).status == 200
    for reason in Reason:
        if reason is Reason.VERIFIED:
            continue
        expected = 403 if reason.status == 401 else reason.status
        assert engine.refuse(plan, reason).status == expected, reason
    exploding = Engine([Route("/x", Exploding(secret=SECRET), status=403)])
    assert exploding.verify(plan_for(exploding, "/x"), req({}), KEYS, NOW).status == 500


def test_reject_without_plan() -> None:
    verdict = Engine([]).refuse(Plan(None, {}, 0, None), Reason.BAD_PATH)
    assert verdict.status == 400
    assert verdict.route == ""
    assert not verdict.verified


# -- replay keys ---------------------------------------------------------------------------


def test_replay_key_is_namespaced_by_route() -> None:
    scheme = github(secret=SECRET)
    engine = Engine([Route("/a", scheme), Route("/b", scheme)])
    a1 = engine.verify(plan_for(engine, "/a"), signed(), KEYS, NOW).replay_key
    a2 = engine.verify(plan_for(engine, "/a"), signed(), KEYS, NOW).replay_key
    b = engine.verify(plan_for(engine, "/b"), signed(), KEYS, NOW).replay_key
    assert a1 is not None
    assert b is not None
    assert a1 == a2
    assert a1 != b


def test_replay_key_is_namespaced_for_identical_material() -> None:
    engine = Engine([Route("/a", Lying(secret=SECRET)), Route("/b", Lying(secret=SECRET))])
    a = engine.verify(plan_for(engine, "/a"), req({}), KEYS, NOW).replay_key
    b = engine.verify(plan_for(engine, "/b"), req({}), KEYS, NOW).replay_key
    assert a is not None
    assert b is not None
    assert a != b


def test_replay_key_differs_per_body() -> None:
    engine = Engine([Route("/a", github(secret=SECRET))])
    plan = plan_for(engine, "/a")
    other = b"{}"
    one = engine.verify(plan, signed(), KEYS, NOW).replay_key
    two = engine.verify(plan, req(github(secret=SECRET).sign(other, secret=SECRET), other), KEYS, NOW).replay_key
    assert one != two


def test_replay_disabled_on_route() -> None:
    engine = Engine([Route("/a", github(secret=SECRET), replay=False)])
    verdict = engine.verify(plan_for(engine, "/a"), signed(), KEYS, NOW)
    assert verdict.verified
    assert verdict.replay_key is None


def test_scheme_without_replay_material_has_no_replay_key() -> None:
    engine = Engine([Route("/t", token(secret="tok", header="X-Token"))])
    verdict = engine.verify(plan_for(engine, "/t"), req({"X-Token": "tok"}), KeySet([Secret("tok", key_id="t")]), NOW)
    assert verdict.verified
    assert verdict.replay_key is None
    assert verdict.body_signed is False


def test_replay_ttl() -> None:
    ding = Route("/d", dingtalk(secret="s", window=100, future_window=20))
    gh = Route("/g", github(secret=SECRET))
    gh_own = Route("/o", github(secret=SECRET), replay_ttl=5.0)
    engine = Engine([ding, gh, gh_own], replay_ttl=77.0)
    assert engine.replay_ttl(ding) == 120 + REPLAY_MARGIN
    assert engine.replay_ttl(gh) == 77.0
    assert engine.replay_ttl(gh_own) == 5.0
    assert Engine([gh]).replay_ttl(gh) == DEFAULT_REPLAY_TTL
    assert engine.replay_ttl(Route("/u", unsigned=True)) == 77.0


def test_dingtalk_verdict_says_body_not_signed() -> None:
    scheme = dingtalk(secret="app-secret")
    engine = Engine([Route("/d", scheme)])
    headers = scheme.sign(b"{}", secret="app-secret", timestamp=NOW)
    verdict = engine.verify(plan_for(engine, "/d"), req(headers, b"{}"), KeySet([Secret("app-secret", key_id="a")]), NOW)
    assert verdict.verified
    assert verdict.body_signed is False
    assert verdict.timestamp == int(NOW * 1000)
    rejected = engine.verify(plan_for(engine, "/d"), req({}), KEYS, NOW)
    assert rejected.body_signed is False


# -- body framing: one policy for every adapter ------------------------------------------


@pytest.mark.parametrize(
    ("lengths", "te", "terminated", "expected"),
    [
        pytest.param(["25"], None, False, 25, id="declared"),
        pytest.param(["0"], None, False, 0, id="declared-empty"),
        pytest.param(["25"], None, True, 25, id="declared-terminated"),
        pytest.param([], None, False, 0, id="none-no-body"),
        pytest.param([], None, True, READ_TO_END, id="none-server-frames"),
        pytest.param([], "chunked", True, READ_TO_END, id="chunked-terminated"),
        pytest.param([], "chunked", False, Reason.LENGTH_REQUIRED, id="chunked-unframed"),
        pytest.param(["25"], "chunked", True, Reason.BAD_REQUEST, id="length-and-chunked"),
        pytest.param(["25"], "identity", False, Reason.BAD_REQUEST, id="length-and-any-te"),
        pytest.param(["25", "25"], None, True, Reason.BAD_REQUEST, id="repeated"),
        pytest.param(["25", "26"], None, True, Reason.BAD_REQUEST, id="conflicting"),
        pytest.param(["25, 25"], None, False, Reason.BAD_REQUEST, id="joined"),
        pytest.param(["+25"], None, False, Reason.BAD_REQUEST, id="sign"),
        pytest.param([" 25"], None, False, Reason.BAD_REQUEST, id="space"),
        pytest.param(["2_5"], None, False, Reason.BAD_REQUEST, id="underscore"),
        pytest.param(["٢٥"], None, False, Reason.BAD_REQUEST, id="non-ascii-digits"),
        pytest.param(["9" * 19], None, False, Reason.BAD_REQUEST, id="too-many-digits"),
        pytest.param(["101"], None, False, Reason.BODY_TOO_LARGE, id="over-limit"),
        pytest.param(["100"], None, False, 100, id="at-limit"),
    ],
)
def test_body_framing(
    lengths: list[str], te: str | None, terminated: bool, expected: int | Reason
) -> None:
    assert body_framing(lengths, te, limit=100, terminated=terminated) == expected
