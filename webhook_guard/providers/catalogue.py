"""Body-HMAC providers (a signature over the raw body, no timestamp) and static-token
presets: each is one row of data over ``HMACScheme`` or ``Token``.

These schemes carry no freshness: the replay key is the signature (the body digest), kept
for the route's ``replay_ttl``. Pass the provider's delivery id downstream to de-duplicate
across longer periods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from webhook_guard.core.scheme import Scheme, SecretSpec
from webhook_guard.providers._hmac import Encoding, HMACScheme
from webhook_guard.providers.token import Token

__all__ = ("BODY_HMAC", "FACTORIES", "TOKENS", "BodyHMAC", "TokenPreset")


class BodyHMAC(NamedTuple):
    """One provider's body signature: header, digest, encoding and prefix."""

    header: str
    algorithm: str = "sha256"
    encoding: Encoding = "hex"
    prefix: str = ""


#: Registry name -> scheme (``shared/providers.md`` has the sources).
BODY_HMAC: dict[str, BodyHMAC] = {
    "shopify": BodyHMAC("X-Shopify-Hmac-Sha256", encoding="base64"),
    "bitbucket": BodyHMAC("X-Hub-Signature", prefix="sha256="),
    "jira": BodyHMAC("X-Hub-Signature", prefix="sha256="),
    "gitea": BodyHMAC("X-Gitea-Signature"),
    "gogs": BodyHMAC("X-Gogs-Signature"),
    "forgejo": BodyHMAC("X-Forgejo-Signature"),
    "intercom": BodyHMAC("X-Hub-Signature", algorithm="sha1", prefix="sha1="),
    "typeform": BodyHMAC("Typeform-Signature", encoding="base64", prefix="sha256="),
    "razorpay": BodyHMAC("X-Razorpay-Signature"),
    "paystack": BodyHMAC("x-paystack-signature", algorithm="sha512"),
    "line": BodyHMAC("x-line-signature", encoding="base64"),
    "quickbooks": BodyHMAC("intuit-signature", encoding="base64"),
    "meta": BodyHMAC("X-Hub-Signature-256", prefix="sha256="),
    "whatsapp": BodyHMAC("X-Hub-Signature-256", prefix="sha256="),
    "instagram": BodyHMAC("X-Hub-Signature-256", prefix="sha256="),
    "vercel": BodyHMAC("x-vercel-signature", algorithm="sha1"),
    "sentry": BodyHMAC("Sentry-Hook-Signature"),
    "woocommerce": BodyHMAC("X-WC-Webhook-Signature", encoding="base64"),
    "lemon_squeezy": BodyHMAC("X-Signature"),
    "notion": BodyHMAC("X-Notion-Signature", prefix="sha256="),
    "segment": BodyHMAC("X-Signature", algorithm="sha1"),
    "coinbase_commerce": BodyHMAC("X-CC-Webhook-Signature"),
    "circleci": BodyHMAC("circleci-signature", prefix="v1="),
}


class TokenPreset(NamedTuple):
    """A static token sent verbatim in a header."""

    header: str
    prefix: str = ""


TOKENS: dict[str, TokenPreset] = {
    "gitlab": TokenPreset("X-Gitlab-Token"),
    "telegram": TokenPreset("X-Telegram-Bot-Api-Secret-Token"),
    "okta": TokenPreset("Authorization"),
    "cloudflare": TokenPreset("cf-webhook-auth"),
}


def _body_hmac(name: str, spec: BodyHMAC) -> Callable[..., Scheme]:
    def factory(*, secret: SecretSpec, **options: Any) -> HMACScheme:
        return HMACScheme(
            secret=secret,
            header=spec.header,
            algorithm=spec.algorithm,
            encoding=spec.encoding,
            prefix=spec.prefix,
            name=name,
            **options,
        )

    factory.__name__ = name
    factory.__doc__ = f"{name}: ``{spec.header}: {spec.prefix}<{spec.encoding} HMAC-{spec.algorithm.upper()} of the body>``."
    return factory


def _token(name: str, spec: TokenPreset) -> Callable[..., Scheme]:
    def factory(*, secret: SecretSpec, prefix: str = spec.prefix) -> Token:
        return Token(secret=secret, header=spec.header, prefix=prefix, name=name)

    factory.__name__ = name
    factory.__doc__ = f"{name}: a static token in ``{spec.header}``."
    return factory


#: Factories by registry name.
FACTORIES: dict[str, Callable[..., Scheme]] = {
    **{name: _body_hmac(name, spec) for name, spec in BODY_HMAC.items()},
    **{name: _token(name, spec) for name, spec in TOKENS.items()},
}
