"""Row defaults the guard applies: a provider's largest documented payload is its routes'
default body limit (an explicit ``Guard(max_body=...)`` and a route's own ``max_body`` still
win, as before), and its refusal status and body apply unless the route sets a status."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_guard import Guard, Route
from webhook_guard.core.guard import DEFAULT_MAX_BODY, Engine
from webhook_guard.core.verdict import VERDICT_KEY
from webhook_guard.providers import bitbucket, github, seatable
from webhook_guard.testing import build_wsgi_environ

MIB = 1024 * 1024


def limits(guard: Guard) -> dict[str, int]:
    return {r["route"]: r["max_body"] for r in guard.describe()}


def routes(**route_options: Any) -> list[Route]:
    return [
        Route("/github", github(secret="s"), **route_options),
        Route("/bitbucket", bitbucket(secret="s")),
        Route("/seatable", seatable(secret="s")),
    ]


@pytest.mark.parametrize(
    ("guard_options", "route_options", "expected"),
    [
        pytest.param({}, {}, {"/github": 25 * MIB, "/bitbucket": 256 * 1024, "/seatable": MIB}, id="documented"),
        pytest.param({"max_body": 2048}, {}, {"/github": 2048, "/bitbucket": 2048, "/seatable": 2048}, id="guard-explicit"),
        pytest.param({"max_body": 2048}, {"max_body": 10}, {"/github": 10, "/bitbucket": 2048, "/seatable": 2048}, id="route-wins"),
        pytest.param({"max_body": DEFAULT_MAX_BODY}, {}, {"/github": MIB, "/bitbucket": MIB, "/seatable": MIB}, id="explicit-1mib"),
    ],
)  # fmt: skip
def test_body_limit_per_route(
    guard_options: dict[str, Any], route_options: dict[str, Any], expected: dict[str, int]
) -> None:
    guard = Guard(routes(**route_options), check_store=False, **guard_options)
    assert limits(guard) == expected
    engine = Engine(routes(**route_options), **guard_options)
    assert {t.pattern: t.max_body for t in engine.targets} == expected


def test_a_large_github_delivery_is_read_and_verified() -> None:
    """GitHub sends up to 25 MB; a 2 MiB delivery (413 under a 1 MiB limit) verifies."""
    body = b'{"pad": "' + b"x" * (2 * MIB) + b'"}'
    signed = github(secret="s").sign(body, secret="s")
    seen: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ[VERDICT_KEY].verified)
        start_response("200 OK", [])
        return [b""]

    answers: list[str] = []
    for guard in (Guard(routes()), Guard(routes(), max_body=MIB)):
        environ = build_wsgi_environ("/github", body=body, headers=signed.headers)
        guard.wsgi(app)(environ, lambda s, h, e=None: answers.append(s))
    assert [a[:3] for a in answers] == ["200", "413"]
    assert seen == [True]


def test_a_providers_refusal_status_and_body_apply_unless_the_route_sets_one() -> None:
    from webhook_guard.core.verdict import Reason
    from webhook_guard.providers import Provider
    from webhook_guard.providers.body import BodyHMAC

    row = Provider("forbidding", BodyHMAC, {"header": "X-Sig"}, refusal_status=403, refusal_body=False)
    engine = Engine([Route("/a", row(secret="s")), Route("/b", row(secret="s"), status=418)])
    a, b = (t.refuse(Reason.BAD_SIGNATURE) for t in engine.targets)
    assert (a.status, b.status) == (403, 418)
    assert a.empty_refusal  # refusal_body=False: no JSON reason body
    assert engine.targets[0].refuse(Reason.BODY_TOO_LARGE).status == 413  # not an auth failure



def test_a_refusal_status_per_reason() -> None:
    """One status per reason (AWS SNS: a certificate still being fetched is a 503, as SNS
    retries 5xx only); the reasons it does not name stay 401; a route's status wins."""
    from webhook_guard.core.verdict import Reason
    from webhook_guard.providers import Provider
    from webhook_guard.providers.body import BodyHMAC

    row = Provider("retrying", BodyHMAC, {"header": "X-Sig"}, refusal_status={Reason.NO_ACTIVE_KEY: 503})
    engine = Engine([Route("/a", row(secret="s")), Route("/b", row(secret="s"), status=401)])
    a, b = engine.targets
    assert a.refuse(Reason.NO_ACTIVE_KEY).status == 503
    assert a.refuse(Reason.BAD_SIGNATURE).status == 401
    assert a.refuse(Reason.BAD_REQUEST).status == 400
    assert b.refuse(Reason.NO_ACTIVE_KEY).status == 401
