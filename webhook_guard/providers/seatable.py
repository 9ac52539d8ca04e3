"""SeaTable (3.0 and later): ``X-SeaTable-Signature: sha256=<hex HMAC-SHA256(secret, body)>``.

There is no timestamp or delivery id; the replay key is the signature (a digest of the
body under the secret), remembered for the route's ``replay_ttl``.
"""

from __future__ import annotations

from webhook_guard.core.scheme import SecretSpec
from webhook_guard.providers._hmac import HMACScheme

__all__ = ("seatable",)


def seatable(*, secret: SecretSpec) -> HMACScheme:
    """SeaTable webhooks.

    :param secret: the webhook's secret key reference(s).
    """
    return HMACScheme(
        secret=secret, header="X-SeaTable-Signature", prefix="sha256=", name="seatable"
    )
