"""Exceptions raised by webhook_guard.

The tree::

    WebhookGuardError
     +-- ConfigurationError      bad configuration, raised at start-up (has ``code``)
     +-- MissingExtraError       an optional dependency is not installed (names the extra)
     +-- StoreError              the replay store failed or cannot prove freshness

    WebhookGuardWarning (UserWarning)   a configuration that can fail silently

Malformed or forged requests never raise: they produce a rejecting ``Verdict``.
"""

from __future__ import annotations

__all__ = (
    "ConfigurationError",
    "MissingExtraError",
    "StoreError",
    "WebhookGuardError",
    "WebhookGuardWarning",
)


class WebhookGuardError(Exception):
    """Root of every exception this package raises."""


class ConfigurationError(WebhookGuardError):
    """The guard's configuration is invalid.

    :param message: what is wrong; names the route and the reference, never a secret value.
    :param code: a stable identifier such as ``webhook_guard.E002``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


class MissingExtraError(ConfigurationError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, extra: str, module: str) -> None:
        ConfigurationError.__init__(
            self,
            f"{module!r} is not installed: pip install 'webhook-guard[{extra}]'",
            code="webhook_guard.E010",
        )
        self.extra = extra


class StoreError(WebhookGuardError):
    """The replay store could not answer; the request is refused with 503."""


class WebhookGuardWarning(UserWarning):
    """A deployment problem that does not stop the guard but can weaken it silently: the
    in-memory replay store under several processes, a replay store down at start-up, a
    Redis that may evict keys, a literal secret in a file.

    Emitted with ``warnings.warn`` (so it shows on stderr with no logging set up) and
    logged. Filter it, or turn it into an error in CI::

        warnings.simplefilter("error", WebhookGuardWarning)
    """
