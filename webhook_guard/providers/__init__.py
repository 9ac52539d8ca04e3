"""Provider schemes, one per provider: every factory importable by name.

``from webhook_guard.providers import stripe`` works for every name in ``names()``: each is
a ``Provider`` row of ``catalogue`` (see ``webhook_guard.providers._base``), and calling it
builds a route's scheme (``stripe(secret="env:STRIPE_SECRET")``). ``get(name)`` returns a
provider by name, for configuration files.
"""

from __future__ import annotations

from typing import Any

from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import catalogue
from webhook_guard.providers._base import Provider

# Every provider of the catalogue, imported by name so that type checkers see them
# (tests/providers/test_registry.py checks this list against the registry).
from webhook_guard.providers.catalogue import (
    adyen,
    airtable,
    asana,
    aws_sns,
    bitbucket,
    bolt,
    box,
    buildkite,
    calendly,
    circleci,
    clerk,
    cloudflare,
    coinbase_commerce,
    dingtalk,
    dingtalk_events,
    dingtalk_token,
    discord,
    dropbox,
    feishu,
    forgejo,
    frameio,
    gitea,
    github,
    gitlab,
    gitlab_signed,
    gogs,
    hmac,
    hubspot,
    hubspot_v1,
    hubspot_v2,
    instagram,
    intercom,
    jira,
    lark,
    lemon_squeezy,
    line,
    linear,
    mailgun,
    mandrill,
    meta,
    microsoft_graph,
    mux,
    netlify,
    notion,
    okta,
    paddle,
    pagerduty,
    paystack,
    persona,
    plivo,
    polar,
    quickbooks,
    razorpay,
    resend,
    seatable,
    seatable_legacy,
    segment,
    sendgrid,
    sentry,
    shopify,
    shopify_app_proxy,
    slack,
    square,
    standard_webhooks,
    stripe,
    svix,
    telegram,
    telnyx,
    token,
    trello,
    twilio,
    twitch,
    typeform,
    vercel,
    wechat,
    wecom,
    whatsapp,
    woocommerce,
    xero,
    zendesk,
    zoom,
)

__all__ = (
    "Provider",
    "REGISTRY",
    "adyen",
    "airtable",
    "asana",
    "aws_sns",
    "bitbucket",
    "bolt",
    "box",
    "buildkite",
    "calendly",
    "circleci",
    "clerk",
    "cloudflare",
    "coinbase_commerce",
    "dingtalk",
    "dingtalk_events",
    "dingtalk_token",
    "discord",
    "dropbox",
    "feishu",
    "forgejo",
    "frameio",
    "get",
    "gitea",
    "github",
    "gitlab",
    "gitlab_signed",
    "gogs",
    "hmac",
    "hubspot",
    "hubspot_v1",
    "hubspot_v2",
    "instagram",
    "intercom",
    "jira",
    "lark",
    "lemon_squeezy",
    "line",
    "linear",
    "mailgun",
    "mandrill",
    "meta",
    "microsoft_graph",
    "mux",
    "names",
    "netlify",
    "notion",
    "okta",
    "paddle",
    "pagerduty",
    "paystack",
    "persona",
    "plivo",
    "polar",
    "quickbooks",
    "razorpay",
    "resend",
    "seatable",
    "seatable_legacy",
    "segment",
    "sendgrid",
    "sentry",
    "shopify",
    "shopify_app_proxy",
    "slack",
    "square",
    "standard_webhooks",
    "stripe",
    "svix",
    "telegram",
    "telnyx",
    "token",
    "trello",
    "twilio",
    "twitch",
    "typeform",
    "vercel",
    "wechat",
    "wecom",
    "whatsapp",
    "woocommerce",
    "xero",
    "zendesk",
    "zoom",
)

#: Providers by registry name, in catalogue order.
REGISTRY: dict[str, Provider[Any]] = {
    row.name: row for row in vars(catalogue).values() if isinstance(row, Provider)
}


def get(name: str) -> Provider[Any]:
    """The provider registered as ``name``; ``ConfigurationError`` (E001) when there is none."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(REGISTRY))
        raise ConfigurationError(
            f"unknown provider {name!r} (known: {known})", code="webhook_guard.E001"
        ) from None


def names() -> list[str]:
    """Every registered provider name, sorted."""
    return sorted(REGISTRY)
