"""Route patterns, matching, and denial of disguised variants of guarded paths."""

from __future__ import annotations

import pytest

from webhook_guard.core.routes import DENY, Route, RouteTable, loosen, normalise_pattern


def table(*patterns: str) -> RouteTable:
    return RouteTable(Route(normalise_pattern(p)) for p in patterns)


def matched(routes: RouteTable, path: str) -> tuple[str, dict[str, str]]:
    """The matched route's pattern and params; fails when the path is passed or denied."""
    found = routes.match(path)
    assert isinstance(found, tuple), found
    route, params = found
    return route.pattern, dict(params)


GUARDED = table("/hooks/github", "/hooks/github/{repo}", "/hooks/dingtalk/", "/events/*")


# -- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pattern", "params"),
    [
        pytest.param("/hooks/github", "/hooks/github", {}, id="exact"),
        pytest.param("/hooks/github/", "/hooks/github", {}, id="exact-request-trailing-slash"),
        pytest.param("/hooks/dingtalk", "/hooks/dingtalk", {}, id="pattern-trailing-slash"),
        pytest.param("/hooks/dingtalk/", "/hooks/dingtalk", {}, id="both-trailing-slash"),
        pytest.param("/hooks/github/api", "/hooks/github/{repo}", {"repo": "api"}, id="param"),
        pytest.param("/hooks/github/api/", "/hooks/github/{repo}", {"repo": "api"}, id="param-slash"),
        pytest.param("/hooks/github/My-Repo.x", "/hooks/github/{repo}", {"repo": "My-Repo.x"}, id="param-case-kept"),
        pytest.param("/events", "/events/*", {}, id="wildcard-bare"),
        pytest.param("/events/", "/events/*", {}, id="wildcard-slash"),
        pytest.param("/events/a", "/events/*", {"*": "a"}, id="wildcard-one"),
        pytest.param("/events/a/b/c", "/events/*", {"*": "a/b/c"}, id="wildcard-deep"),
    ],
)
def test_match(path: str, pattern: str, params: dict[str, str]) -> None:
    assert matched(GUARDED, path) == (pattern, params)


def test_static_beats_dynamic_in_either_order() -> None:
    for patterns in (("/hooks/{name}", "/hooks/special"), ("/hooks/special", "/hooks/{name}")):
        routes = table(*patterns)
        assert matched(routes, "/hooks/special") == ("/hooks/special", {})
        assert matched(routes, "/hooks/other") == ("/hooks/{name}", {"name": "other"})


def test_first_dynamic_route_wins() -> None:
    routes = table("/a/{x}", "/a/*")
    assert matched(routes, "/a/b") == ("/a/{x}", {"x": "b"})


def test_multiple_params() -> None:
    routes = table("/t/{tenant}/hooks/{provider}")
    assert matched(routes, "/t/acme/hooks/github")[1] == {"tenant": "acme", "provider": "github"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/HOOKS/github", id="case-prefix"),
        pytest.param("/hooks/GitHub", id="case-leaf"),
        pytest.param("/Hooks/Github/api", id="case-param-route"),
        pytest.param("//hooks/github", id="leading-double-slash"),
        pytest.param("/hooks//github", id="inner-double-slash"),
        pytest.param("/hooks/github//", id="trailing-double-slash"),
        pytest.param("/hooks/./github", id="dot-segment"),
        pytest.param("/hooks/x/../github", id="dotdot-segment"),
        pytest.param("/other/../hooks/github", id="dotdot-from-elsewhere"),
        pytest.param("/hooks/github/.", id="trailing-dot"),
        pytest.param("/hooks/github/api/..", id="dotdot-onto-exact"),
        pytest.param("/hooks/github;x=1", id="matrix-param"),
        pytest.param("/hooks;x/github", id="matrix-param-prefix"),
        pytest.param("/hooks/github/api;jsessionid=1", id="matrix-param-in-param"),
        pytest.param("/hooks\\github", id="backslash"),
        pytest.param("\\hooks\\github", id="all-backslashes"),
        pytest.param("/hooks/git%68ub", id="pct-encoded-letter"),
        pytest.param("/hooks%2Fgithub", id="pct-encoded-slash"),
        pytest.param("/hooks%2fgithub", id="pct-encoded-slash-lower"),
        pytest.param("/%68ooks/github", id="pct-encoded-prefix"),
        pytest.param("/hooks/git%2568ub", id="double-encoded"),
        pytest.param("/hooks/git%252568ub", id="triple-encoded"),
        pytest.param("/hooks/%2e%2e/hooks/github", id="pct-encoded-dotdot"),
        pytest.param("/hooks/github%3bx", id="pct-encoded-semicolon"),
        pytest.param("/hooks/github%00", id="pct-encoded-nul"),
        pytest.param("/hooks/github\x00", id="nul"),
        pytest.param("/hooks/gith\x00ub", id="nul-inside"),
        # "$" in a router's regex (Starlette, FastAPI, Django re_path) matches before a
        # final newline: "^/hooks/github$" matches "/hooks/github\n".
        pytest.param("/hooks/github\n", id="trailing-newline"),
        pytest.param("/hooks/dingtalk/\n", id="trailing-slash-newline"),
        pytest.param("/hooks/git\nhub", id="newline-inside"),
        pytest.param("/hooks/github%0a", id="pct-encoded-newline"),
        pytest.param("/hooks/github/api\n", id="newline-in-param"),
        pytest.param("/events/x\n", id="newline-wildcard"),
        pytest.param("/hooks/github/a%2Fb", id="encoded-slash-in-param"),
        pytest.param("/EVENTS/x", id="case-wildcard"),
        pytest.param("/events//x", id="double-slash-wildcard"),
        pytest.param("/events/../events/x", id="dotdot-wildcard"),
        pytest.param("/events/x;y", id="matrix-wildcard"),
        pytest.param("/hooks/DingTalk/", id="case-with-trailing-slash"),
        pytest.param("hooks/github", id="no-leading-slash"),
        pytest.param("hooks/github/api", id="no-leading-slash-param-route"),
        pytest.param("events/x", id="no-leading-slash-wildcard"),
        pytest.param("Hooks/GitHub/", id="no-leading-slash-case"),
    ],
)
def test_disguised_variants_are_denied(path: str) -> None:
    assert GUARDED.match(path) is DENY


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/hooks/githubx", id="longer-leaf"),
        pytest.param("/hooks/githu", id="shorter-leaf"),
        pytest.param("/hooks/gitlab", id="sibling"),
        pytest.param("/hooks", id="parent"),
        pytest.param("/hooks/", id="parent-slash"),
        pytest.param("/other", id="other"),
        pytest.param("/", id="root"),
        pytest.param("", id="empty"),
        pytest.param("/hooks/github/api/extra", id="deeper-than-param"),
        pytest.param("/eventsx", id="wildcard-longer-prefix"),
        pytest.param("/static/app.js", id="unrelated-asset"),
        pytest.param("/other/a%20b", id="unrelated-encoded"),
        pytest.param("/other//x", id="unrelated-double-slash"),
    ],
)
def test_genuinely_different_paths_pass(path: str) -> None:
    assert GUARDED.match(path) is None


def test_param_value_with_odd_shape_is_denied_not_captured() -> None:
    assert GUARDED.match("/hooks/github/..") is DENY
    assert GUARDED.match("/hooks/github/%2e") is DENY


def test_root_pattern() -> None:
    routes = table("/")
    assert matched(routes, "/") == ("/", {})
    assert routes.match("//") is DENY
    assert routes.match("/x") is None


def test_param_at_first_segment_denies_disguises_everywhere() -> None:
    routes = table("/{tenant}/hook")
    assert matched(routes, "/acme/hook") == ("/{tenant}/hook", {"tenant": "acme"})
    assert routes.match("/acme/HOOK") is DENY
    assert routes.match("//acme/hook") is DENY
    assert routes.match("/acme/other") is None


# -- patterns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        pytest.param("/hooks/github", "/hooks/github", id="plain"),
        pytest.param("/hooks/github/", "/hooks/github", id="trailing-slash-dropped"),
        pytest.param("/", "/", id="root"),
        pytest.param("/hooks/*", "/hooks/*", id="wildcard"),
        pytest.param("/*", "/*", id="root-wildcard"),
        pytest.param("/hooks/{repo}", "/hooks/{repo}", id="param"),
        pytest.param("/hooks/{repo}/", "/hooks/{repo}", id="param-trailing-slash"),
        pytest.param("/a/{b_1}/{_c}/*", "/a/{b_1}/{_c}/*", id="params-and-wildcard"),
    ],
)
def test_normalise_pattern(pattern: str, expected: str) -> None:
    assert normalise_pattern(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("", id="empty"),
        pytest.param("hooks/github", id="relative"),
        pytest.param("/hooks//github", id="double-slash"),
        pytest.param("/hooks/github//", id="trailing-double-slash"),
        pytest.param("/hooks/./github", id="dot-segment"),
        pytest.param("/hooks/../github", id="dotdot"),
        pytest.param("/hooks;x", id="semicolon"),
        pytest.param("/hooks\\github", id="backslash"),
        pytest.param("/hooks%2Fgithub", id="percent"),
        pytest.param("/hooks\x00", id="nul"),
        pytest.param("/hooks\n", id="newline"),
        pytest.param("/hooks?x=1", id="query"),
        pytest.param("/hooks#frag", id="fragment"),
        pytest.param("/hooks/*/x", id="wildcard-not-last"),
        pytest.param("/hooks*", id="star-in-segment"),
        pytest.param("/hooks/x*", id="star-suffix"),
        pytest.param("/hooks/{}", id="empty-param"),
        pytest.param("/hooks/{1x}", id="param-starts-with-digit"),
        pytest.param("/hooks/{a-b}", id="param-dash"),
        pytest.param("/hooks/x{a}", id="param-partial-segment"),
        pytest.param("/hooks/{a", id="unclosed-brace"),
        pytest.param("/hooks/a}", id="stray-brace"),
    ],
)
def test_invalid_patterns_raise(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        normalise_pattern(pattern)


# -- loosen --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "loose"),
    [
        pytest.param("/hooks/github", "/hooks/github", id="clean"),
        pytest.param("", "/", id="empty"),
        pytest.param("/", "/", id="root"),
        pytest.param("/Hooks/GitHub", "/hooks/github", id="case"),
        pytest.param("//hooks///github//", "/hooks/github", id="slashes"),
        pytest.param("/hooks/./github/.", "/hooks/github", id="dot"),
        pytest.param("/hooks/x/../github", "/hooks/github", id="dotdot"),
        pytest.param("/../../hooks/github", "/hooks/github", id="dotdot-above-root"),
        pytest.param("/hooks;a=1/github;b", "/hooks/github", id="matrix"),
        pytest.param("\\hooks\\github", "/hooks/github", id="backslash"),
        pytest.param("/hooks/git\x00hub", "/hooks/github", id="nul"),
        pytest.param("/hooks%2Fgithub", "/hooks/github", id="encoded-slash"),
        pytest.param("/hooks/%67ithub", "/hooks/github", id="encoded-letter"),
        pytest.param("/hooks/%2567ithub", "/hooks/github", id="double-encoded"),
        pytest.param("/hooks/%252567ithub", "/hooks/github", id="triple-encoded"),
        pytest.param("/hooks/%2e%2e/x", "/x", id="encoded-dotdot"),
        pytest.param("/hooks%5cgithub", "/hooks/github", id="encoded-backslash"),
        pytest.param("/hooks/github%00", "/hooks/github", id="encoded-nul"),
        pytest.param("/hooks/git\nhub\n", "/hooks/github", id="newline"),
        pytest.param("/hooks/github%0A", "/hooks/github", id="encoded-newline"),
        pytest.param("relative/path", "/relative/path", id="relative"),
    ],
)
def test_loosen(path: str, loose: str) -> None:
    assert loosen(path) == loose


def test_route_provider_name_unsigned() -> None:
    assert Route("/x", unsigned=True).provider_name == "unsigned"
    assert repr(DENY) == "DENY"


# -- remembered misses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/api/v1/items/42", None, id="unrelated"),
        pytest.param("/hooks/gitlab", None, id="sibling-under-a-route-prefix"),
        pytest.param("/other//x", None, id="odd-but-unrelated"),
        pytest.param("/HOOKS/github", DENY, id="disguise-never-remembered-as-a-miss"),
        pytest.param("/x/../hooks/github", DENY, id="dot-dot-disguise"),
        pytest.param("/hooks/github/", "/hooks/github", id="trailing-slash-match"),
    ],
)
def test_second_request_gets_the_first_answer(path: str, expected: object) -> None:
    routes = table("/hooks/github", "/hooks/github/{repo}", "/events/*")
    first, second = routes.match(path), routes.match(path)
    for found in (first, second):
        if isinstance(expected, str):
            assert isinstance(found, tuple)
            assert found[0].pattern == expected
        else:
            assert found is expected
    assert (path in routes._misses) is (expected is None)


def test_remembered_misses_are_bounded() -> None:
    from webhook_guard.core.routes import MAX_MISSES, MISS_PATH_LENGTH

    routes = table("/hooks/github")
    for i in range(MAX_MISSES + 10):
        assert routes.match(f"/api/{i}") is None
    assert 0 < len(routes._misses) <= MAX_MISSES
    long_path = "/api/" + "x" * MISS_PATH_LENGTH
    assert routes.match(long_path) is None
    assert long_path not in routes._misses
