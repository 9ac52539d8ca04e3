"""pytest fixtures for testing webhook handlers guarded by webhook_guard.

Installed with the package and loaded through the ``pytest11`` entry point, so a project
that depends on ``webhook-guard`` has these fixtures with no configuration. No fixture is
autouse and nothing heavy is imported: frameworks are imported only when a helper posts
through their test client. To load it explicitly instead (entry points disabled with
``PYTEST_DISABLE_PLUGIN_AUTOLOAD``): ``pytest -p webhook_guard.pytest_plugin``.

- ``webhook_clock``: a ``FrozenClock`` set to the current second. Give it to the guard
  (``Guard(routes, clock=webhook_clock)``) to freeze its time; ``webhook_clock.advance(301)``
  moves it (a stale delivery without sleeping).
- ``webhook_signer``: ``webhook_signer(provider, body, *, secret, **options)`` returns the
  provider's ``SignedRequest`` (``.headers``, ``.query``, ``.body``, ``.url``), signed at
  ``webhook_clock``'s time unless ``timestamp=`` is given. For asymmetric providers
  ``secret`` is the private key.
- ``webhook_post``: ``webhook_post(client, signed, path)`` sends it through Werkzeug/Flask's
  test client, Starlette/FastAPI's ``TestClient`` or Django's ``Client``.

Example::

    def test_push_is_handled(webhook_signer, webhook_post):
        client = create_app().test_client()
        signed = webhook_signer("github", b'{"ref": "main"}', secret="s3cret")
        assert webhook_post(client, signed, "/hooks/github").status_code == 200
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from webhook_guard.testing import FrozenClock, SignedRequest, post_signed, sign_request

__all__ = ("FrozenClock", "SignedRequest", "WebhookPoster", "WebhookSigner")


class WebhookSigner:
    """The ``webhook_signer`` fixture: signs like a provider at ``clock``'s time.

    :param clock: the clock whose time signatures carry (``webhook_clock``).
    """

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def __call__(
        self,
        provider_name: str,
        body: bytes | str,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        **options: Any,
    ) -> SignedRequest:
        """``body`` signed as ``provider_name`` signs it (see ``testing.sign_request``)."""
        return sign_request(
            provider_name,
            body,
            secret=secret,
            timestamp=self.clock() if timestamp is None else timestamp,
            url=url,
            **options,
        )


class WebhookPoster:
    """The ``webhook_post`` fixture: ``webhook_post(client, signed, path=None)``."""

    def __call__(self, client: Any, signed: SignedRequest, path: str | None = None) -> Any:
        """Send ``signed`` with a Werkzeug/Flask, Starlette/FastAPI or Django test client
        and return the client's response (see ``testing.post_signed``)."""
        return post_signed(client, signed, path)


@pytest.fixture
def webhook_clock() -> FrozenClock:
    """A frozen clock at the current second: ``Guard(routes, clock=webhook_clock)``;
    ``webhook_clock.advance(seconds)`` moves it."""
    return FrozenClock(float(int(time.time())))


@pytest.fixture
def webhook_signer(webhook_clock: FrozenClock) -> WebhookSigner:
    """``webhook_signer(provider, body, *, secret, **options) -> SignedRequest``, signed at
    ``webhook_clock``'s time."""
    return WebhookSigner(webhook_clock)


@pytest.fixture
def webhook_post() -> WebhookPoster:
    """``webhook_post(client, signed, path=None)``: send a ``SignedRequest`` through a
    framework's test client."""
    return WebhookPoster()
