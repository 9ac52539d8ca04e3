"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.

The legacy ``X-Hub-Signature`` (SHA-1) header is used only when a route opts in with
``algorithm="sha1"``, and then *instead of* SHA-256, never as a fallback: stripping one
header can never downgrade a route. ``X-GitHub-Delivery`` is not signed, so the replay
key is derived from the signature instead.
"""

from __future__ import annotations

from webhook_guard.core.scheme import SecretSpec
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._hmac import HMACScheme

__all__ = ("github",)


def github(*, secret: SecretSpec, algorithm: str = "sha256") -> HMACScheme:
    """GitHub webhooks (also GitHub Enterprise Server).

    :param secret: the webhook secret reference(s).
    :param algorithm: ``"sha256"`` (default). ``"sha1"`` is an explicit opt-in for senders
        that only send the legacy header.
    """
    if algorithm == "sha256":
        header = "X-Hub-Signature-256"
    elif algorithm == "sha1":
        header = "X-Hub-Signature"
    else:
        raise ConfigurationError(
            f"github: algorithm must be 'sha256' or 'sha1', not {algorithm!r}",
            code="webhook_guard.E004",
        )
    return HMACScheme(
        secret=secret, header=header, algorithm=algorithm, prefix=f"{algorithm}=", name="github"
    )
