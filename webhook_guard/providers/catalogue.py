"""The catalogue: every provider as one row of data over its family.

Find a provider by its registry name (``stripe = Provider("stripe", ...)``). A row says
which family verifies it (``webhook_guard.providers.<family>``), the family's
parameters, the timestamp window, where the signed event id sits, how long the provider
retries, its largest documented payload, its handshake, its documentation and what the
tests check it against. The README's provider table is generated from these rows
(``python -m tests.test_readme_providers``).

Every public name here is a provider: ``webhook_guard.providers`` exports them all.
"""

from __future__ import annotations

from webhook_guard.core.scheme import Credential
from webhook_guard.core.signing import FORM as _FORM
from webhook_guard.core.verdict import Reason as _Reason
from webhook_guard.providers._base import DAY, HOUR, MIB
from webhook_guard.providers._base import Provider as _Provider
from webhook_guard.providers.asymmetric import Asymmetric as _Asymmetric
from webhook_guard.providers.body import BodyHMAC as _BodyHMAC
from webhook_guard.providers.embedded import Adyen as _Adyen
from webhook_guard.providers.embedded import Mailgun as _Mailgun
from webhook_guard.providers.feishu_events import Feishu as _Feishu
from webhook_guard.providers.handshakes import DiscordPing as _DiscordPing
from webhook_guard.providers.handshakes import OktaChallenge as _OktaChallenge
from webhook_guard.providers.handshakes import SlackChallenge as _SlackChallenge
from webhook_guard.providers.handshakes import TwitchChallenge as _TwitchChallenge
from webhook_guard.providers.handshakes import ZoomValidation as _ZoomValidation
from webhook_guard.providers.jws import JWS as _JWS
from webhook_guard.providers.siglist import SignatureList as _SignatureList
from webhook_guard.providers.sns import SNS as _SNS
from webhook_guard.providers.sns import SNSConfirmation as _SNSConfirmation
from webhook_guard.providers.standard import StandardWebhooks as _StandardWebhooks
from webhook_guard.providers.subscriptions import HeaderEcho as _HeaderEcho
from webhook_guard.providers.subscriptions import HeadProbe as _HeadProbe
from webhook_guard.providers.subscriptions import HubChallenge as _HubChallenge
from webhook_guard.providers.subscriptions import NotionVerification as _NotionVerification
from webhook_guard.providers.subscriptions import QueryEcho as _QueryEcho
from webhook_guard.providers.subscriptions import ValidationEcho as _ValidationEcho
from webhook_guard.providers.template import TemplateHMAC as _TemplateHMAC
from webhook_guard.providers.tencent import Tencent as _Tencent
from webhook_guard.providers.tokens import BodyToken as _BodyToken
from webhook_guard.providers.tokens import Token as _Token
from webhook_guard.providers.urlsigned import URLSigned as _URLSigned

_SVIX_RETRY = 30 * HOUR  # Svix: 8 attempts over about 27.6 hours
_V0 = {"prefix": "v0=", "template": "v0:{timestamp}:{body}"}
_HUB = {"header": "X-Hub-Signature-256", "prefix": "sha256="}
_META_NOTES = "legacy `X-Hub-Signature` (SHA-1) not accepted"
_META_ALGORITHM = "HMAC-SHA256 of the body (escaped `\\uXXXX`/`\\/` bytes as sent), key = app secret"

# =============================================================================== seeds

dingtalk = _Provider(
    "dingtalk",
    _TemplateHMAC,
    {"header": "sign", "encoding": "base64", "template": "{timestamp}\n{secret}",
     "timestamp_header": "timestamp", "timestamp_unit": "ms", "identity": "timestamp",
     "quoted": True, "max_signature": 128},
    title="DingTalk robot callback",
    docs="https://open.dingtalk.com/document/orgapp/receive-message",
    window=180.0,
    max_window=3600.0,
    headers='`timestamp` (ms), `sign`',
    algorithm='Base64 HMAC-SHA256 of `timestamp + "\\n" + secret` (**body not signed**)',
    oracle="documented sample vector (DingTalk docs)",
)  # fmt: skip
dingtalk_token = _Provider(
    "dingtalk_token",
    _Token,
    {"query": "access_token", "header_replaces_query": True},
    title="DingTalk access tokens",
    configurable=("query", "header"),
    headers="`access_token` query (or a header)",
    algorithm="static tokens, several per route",
    oracle="documented algorithm",
)
dingtalk_events = _Provider(
    "dingtalk_events",
    _Tencent,
    {"signature_params": ("signature", "msg_signature"), "timestamp_params": ("timestamp", "timeStamp"),
     "unit": "ms", "envelope": "json", "receive_id": "owner_key", "check_url": True},
    title="DingTalk event subscription",
    docs="https://open.dingtalk.com/document/orgapp/configure-event-subcription",
    credentials=(Credential("owner_key", "the receive id (AppKey, CorpId or SuiteKey)", required=False),),
    headers='query `signature`/`msg_signature`, `timestamp`/`timeStamp`, `nonce`; body `{"encrypt"}`',
    algorithm="SHA1 over sorted values + AES-256-CBC",
    notes="`crypto`",
    oracle="official vector (open-dingtalk/DingTalk-Callback-Crypto)",
)  # fmt: skip
seatable = _Provider(
    "seatable",
    _BodyHMAC,
    {"header": "X-SeaTable-Signature", "prefix": "sha256="},
    title="SeaTable",
    docs="https://seatable.io/docs/webhooks/",
    headers="`X-SeaTable-Signature: sha256=<hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm (seatable/dtable-events)",
)
seatable_legacy = _Provider(
    "seatable_legacy",
    _Token,
    {"header": "X-SeaTable-Signature", "hash": "sha1"},
    title="SeaTable before 3.0 (legacy, opt-in)",
    docs="https://seatable.io/docs/webhooks/",
    legacy=(
        "X-SeaTable-Signature is the hex SHA-1 of the secret, the same on every request: a"
        " static token that signs neither the body nor a time (body_signed=False); upgrade"
        " SeaTable to 3.0 and use seatable"
    ),
    headers="`X-SeaTable-Signature: <hex sha1(secret)>`",
    algorithm="hex SHA-1 of the secret, a constant (**body not signed**)",
    notes="opt-in legacy: a start-up `WebhookGuardWarning`",
    oracle="documented algorithm (seatable/dtable-events before 3.0), `hashlib` vector",
)
github = _Provider(
    "github",
    _BodyHMAC,
    _HUB,
    title="GitHub",
    docs="https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
    max_body=25 * MIB,  # "Payloads are capped at 25 MB"
    choices={"algorithm": {"sha256": {}, "sha1": {
        "header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1="}}},
    headers="`X-Hub-Signature-256: sha256=<hex>`",
    algorithm='HMAC-SHA256 of the body (`algorithm="sha1"` opt-in, never a fallback)',
    oracle="published vector (GitHub docs), octokit vector",
)  # fmt: skip

# ========================================================================== asymmetric

discord = _Provider(
    "discord",
    _Asymmetric,
    {"signature_header": "X-Signature-Ed25519", "timestamp_header": "X-Signature-Timestamp",
     "key": "ed25519-hex"},
    title="Discord",
    docs="https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint",
    window=300.0,
    handshake=_DiscordPing(),
    headers="`X-Signature-Ed25519` (hex), `X-Signature-Timestamp`",
    algorithm="Ed25519 over timestamp + body; `secret=` is the public key",
    notes="`crypto`",
    oracle="discord-interactions SDK, PyNaCl",
)  # fmt: skip
telnyx = _Provider(
    "telnyx",
    _Asymmetric,
    {"signature_header": "telnyx-signature-ed25519", "timestamp_header": "telnyx-timestamp",
     "separator": b"|", "key": "ed25519-base64"},
    title="Telnyx",
    docs="https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks",
    window=300.0,
    event_id=("data", "id"),
    headers="`telnyx-signature-ed25519` (Base64), `telnyx-timestamp`",
    algorithm="Ed25519 over `timestamp`, `\\|`, body; `secret=` is the public key",
    notes="`crypto`",
    oracle="telnyx SDK, PyNaCl",
)  # fmt: skip
sendgrid = _Provider(
    "sendgrid",
    _Asymmetric,
    {"signature_header": "X-Twilio-Email-Event-Webhook-Signature",
     "timestamp_header": "X-Twilio-Email-Event-Webhook-Timestamp", "key": "p256"},
    title="SendGrid Event Webhook",
    docs="https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
    window=300.0,
    headers="`X-Twilio-Email-Event-Webhook-Signature`, `...-Timestamp`",
    algorithm="ECDSA P-256/SHA-256 over timestamp + body (canonical DER only)",
    notes="`crypto`",
    oracle="published vector (sendgrid-python tests), sendgrid SDK",
)  # fmt: skip

# ============================================================= encrypted (Tencent, Feishu)

wecom = _Provider(
    "wecom",
    _Tencent,
    {"envelope": "xml", "receive_id": "corp_id", "echostr": "decrypt"},
    title="WeCom",
    docs="https://developer.work.weixin.qq.com/document/path/90930",
    credentials=(Credential("corp_id", "the receive id (CorpID, SuiteID or app id)", required=False),),
    headers="query `msg_signature`, `timestamp`, `nonce`; XML `<Encrypt>`",
    algorithm="SHA1 over sorted values + AES-256-CBC",
    notes="`crypto`",
    oracle="official vectors (Tencent WXBizMsgCrypt samples)",
)
wechat = _Provider(
    "wechat",
    _Tencent,
    {"envelope": "xml", "receive_id": "app_id", "echostr": "plain", "plain_mode": True},
    title="WeChat Official Accounts",
    docs="https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html",
    credentials=(Credential("app_id", "the AppID (safe mode)", required=False),),
    headers="query `signature`, `timestamp`, `nonce` (safe mode `msg_signature`)",
    algorithm="SHA1 over sorted values (+ AES in safe mode)",
    notes="`crypto` for safe mode",
    oracle="documented algorithm (Tencent samples)",
)
feishu = _Provider(
    "feishu",
    _Feishu,
    title="Feishu",
    docs="https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case",
    retry_horizon=8 * HOUR,  # re-pushed after 15 s, 5 min, 1 h and 6 h
    headers='`X-Lark-Request-Timestamp`, `X-Lark-Request-Nonce`, `X-Lark-Signature`; body `{"encrypt"}`',
    algorithm="SHA-256(ts + nonce + key + body) + AES-256-CBC",
    notes="`crypto`",
    oracle="lark-oapi SDK, official decryption vector (Feishu docs)",
)  # fmt: skip
lark = _Provider(
    "lark",
    _Feishu,
    title="Lark",
    docs="https://open.larksuite.com/document/server-docs/event-subscription-guide/overview",
    retry_horizon=8 * HOUR,
    headers=feishu.headers,
    algorithm=feishu.algorithm,
    notes="`crypto`",
    oracle=feishu.oracle,
)

# ==================================================================== Standard Webhooks

standard_webhooks = _Provider(
    "standard_webhooks",
    _StandardWebhooks,
    {"prefixes": ("webhook",)},
    title="Standard Webhooks",
    docs="https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
    window=300.0,
    retry_horizon=_SVIX_RETRY,
    headers="`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> ...`",
    algorithm="HMAC-SHA256 of `id.ts.body`, key = base64 of the `whsec_` secret; `v1a` Ed25519 with `public_key=`",
    notes="`crypto` for `v1a`",
    oracle="published vector (the spec's library tests), standardwebhooks SDK",
)  # fmt: skip
_SVIX_HEADERS = "`svix-id`, `svix-timestamp`, `svix-signature` (or `webhook-*`)"
svix = _Provider(
    "svix",
    _StandardWebhooks,
    {"prefixes": ("svix", "webhook")},
    title="Svix",
    docs="https://docs.svix.com/receiving/verifying-payloads/how-manual",
    window=300.0,
    retry_horizon=_SVIX_RETRY,
    headers=_SVIX_HEADERS,
    algorithm="as Standard Webhooks",
    oracle="svix SDK",
)
clerk = _Provider(
    "clerk",
    _StandardWebhooks,
    {"prefixes": ("svix", "webhook")},
    title="Clerk",
    docs="https://clerk.com/docs/webhooks/sync-data",
    window=300.0,
    retry_horizon=_SVIX_RETRY,
    headers=_SVIX_HEADERS,
    algorithm="as Standard Webhooks (delivered through Svix)",
    oracle="svix SDK",
)
resend = _Provider(
    "resend",
    _StandardWebhooks,
    {"prefixes": ("svix", "webhook")},
    title="Resend",
    docs="https://resend.com/docs/webhooks/verify-webhooks-requests",
    window=300.0,
    retry_horizon=_SVIX_RETRY,
    headers=_SVIX_HEADERS,
    algorithm="as Standard Webhooks (delivered through Svix)",
    oracle="svix SDK",
)
polar = _Provider(
    "polar",
    _StandardWebhooks,
    {"prefixes": ("webhook",), "key": "raw"},
    title="Polar",
    docs="https://docs.polar.sh/integrate/webhooks/endpoints",
    window=300.0,
    retry_horizon=_SVIX_RETRY,
    headers="`webhook-*`",
    algorithm="as Standard Webhooks, key = the raw `polar_whs_` secret",
    oracle="standardwebhooks SDK with the raw key (as polar-sdk)",
)
gitlab_signed = _Provider(
    "gitlab_signed",
    _StandardWebhooks,
    {"prefixes": ("webhook",)},
    title="GitLab signing tokens",
    docs="https://docs.gitlab.com/user/project/integrations/webhooks/",
    window=300.0,
    headers="`webhook-*`",
    algorithm="as Standard Webhooks (`whsec_` token)",
    oracle="standardwebhooks SDK",
)

# ==================================================================== signature lists

stripe = _Provider(
    "stripe",
    _SignatureList,
    {"header": "Stripe-Signature"},
    title="Stripe",
    docs="https://docs.stripe.com/webhooks#verify-manually",
    window=300.0,
    event_id=("id",),
    retry_horizon=3 * DAY,
    headers="`Stripe-Signature: t=..,v1=..[,v1=..]`",
    algorithm="hex HMAC-SHA256 of `t.body`, key = whole `whsec_...` string (UTF-8, not decoded)",
    notes="several `v1` (rotation, at most 8) accepted; `v0` and unknown versions ignored; `t` exactly once; window both ways (SDK: past only)",
    oracle="stripe SDK (both ways)",
)  # fmt: skip
calendly = _Provider(
    "calendly",
    _SignatureList,
    {"header": "Calendly-Webhook-Signature"},
    title="Calendly",
    docs="https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures",
    window=180.0,
    headers="`Calendly-Webhook-Signature: t=..,v1=..`",
    algorithm="hex HMAC-SHA256 of `t.body`",
    oracle="documented algorithm",
)
paddle = _Provider(
    "paddle",
    _SignatureList,
    {"header": "Paddle-Signature", "separator": ";", "ts_key": "ts", "sig_key": "h1", "joiner": ":"},
    title="Paddle Billing",
    docs="https://developer.paddle.com/webhooks/signature-verification",
    window=5.0,
    event_id=("event_id",),
    retry_horizon=3 * DAY,
    headers="`Paddle-Signature: ts=..;h1=..[;h1=..]`",
    algorithm="hex HMAC-SHA256 of `ts:body`, key = secret as-is",
    notes="several `h1` (rotation, at most 8); 5 s window (the SDK's default)",
    oracle="paddle-python-sdk (both ways)",
)  # fmt: skip
buildkite = _Provider(
    "buildkite",
    _SignatureList,
    {"header": "X-Buildkite-Signature", "ts_key": "timestamp", "sig_key": "signature"},
    title="Buildkite",
    docs="https://buildkite.com/docs/apis/webhooks#webhook-signature",
    window=300.0,
    headers="`X-Buildkite-Signature: timestamp=..,signature=..`",
    algorithm="hex HMAC-SHA256 of `timestamp.body`",
    notes="token mode: use `token` with `X-Buildkite-Token`",
    oracle="documented algorithm",
)
persona = _Provider(
    "persona",
    _SignatureList,
    {"header": "Persona-Signature", "groups": True},
    title="Persona",
    docs="https://docs.withpersona.com/webhooks",
    window=300.0,
    event_id=("data", "id"),
    retry_horizon=3 * DAY,
    headers="`Persona-Signature: t=..,v1=..[ t=..,v1=..]`",
    algorithm="hex HMAC-SHA256 of `t.body`",
    notes="space-separated groups during rotation (at most 8)",
    oracle="documented algorithm",
)
mux = _Provider(
    "mux",
    _SignatureList,
    {"header": "Mux-Signature"},
    title="Mux",
    docs="https://docs.mux.com/core/verify-webhook-signatures",
    window=300.0,
    event_id=("id",),
    retry_horizon=DAY,
    headers="`Mux-Signature: t=..,v1=..`",
    algorithm="hex HMAC-SHA256 of `t.body`",
    oracle="documented algorithm",
)
pagerduty = _Provider(
    "pagerduty",
    _SignatureList,
    {"header": "X-PagerDuty-Signature", "ts_key": None},
    title="PagerDuty (v3)",
    docs="https://developer.pagerduty.com/docs/webhooks/webhook-signatures/",
    event_id=("event", "id"),
    retry_horizon=HOUR,
    headers="`X-PagerDuty-Signature: v1=..[,v1=..]`",
    algorithm="hex HMAC-SHA256 of the raw body",
    notes="several `v1` (rotation, at most 8); no timestamp: use a replay store",
    oracle="documented algorithm",
)

# ===================================================================== template HMAC

slack = _Provider(
    "slack",
    _TemplateHMAC,
    {"header": "X-Slack-Signature", **_V0, "timestamp_header": "X-Slack-Request-Timestamp"},
    title="Slack",
    docs="https://api.slack.com/authentication/verifying-requests-from-slack",
    window=300.0,
    event_id=("event_id",),
    retry_horizon=HOUR,
    handshake=_SlackChallenge(),
    headers="`X-Slack-Signature: v0=..`, `X-Slack-Request-Timestamp`",
    algorithm="hex HMAC-SHA256 of `v0:ts:body`",
    notes="raw form bytes are signed",
    oracle="published vector (Slack docs), slack_sdk (both ways)",
)  # fmt: skip
zoom = _Provider(
    "zoom",
    _TemplateHMAC,
    {"header": "x-zm-signature", **_V0, "timestamp_header": "x-zm-request-timestamp"},
    title="Zoom",
    docs="https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
    window=300.0,
    configurable=("timestamp_unit",),
    handshake=_ZoomValidation(),
    headers="`x-zm-signature: v0=..`, `x-zm-request-timestamp`",
    algorithm="hex HMAC-SHA256 of `v0:ts:body`",
    notes='`timestamp_unit="ms"` for millisecond senders',
    oracle="documented algorithm (zoom/webhook-sample)",
)  # fmt: skip
frameio = _Provider(
    "frameio",
    _TemplateHMAC,
    {"header": "X-Frameio-Signature", **_V0, "timestamp_header": "X-Frameio-Request-Timestamp"},
    title="Frame.io",
    docs="https://developer.frame.io/docs/automations-webhooks/webhooks-overview",
    window=300.0,
    headers="`X-Frameio-Signature: v0=..`, `X-Frameio-Request-Timestamp`",
    algorithm="hex HMAC-SHA256 of `v0:ts:body`",
    oracle="documented algorithm",
)  # fmt: skip
twitch = _Provider(
    "twitch",
    _TemplateHMAC,
    {"header": "Twitch-Eventsub-Message-Signature", "prefix": "sha256=",
     "template": "{id}{timestamp}{body}", "timestamp_header": "Twitch-Eventsub-Message-Timestamp",
     "timestamp_unit": "rfc3339", "fraction": True, "id_header": "Twitch-Eventsub-Message-Id",
     "identity": "id", "sign_headers": (("Twitch-Eventsub-Message-Type", "notification"),)},
    title="Twitch EventSub",
    docs="https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
    window=600.0,
    handshake=_TwitchChallenge(),
    headers="`Twitch-Eventsub-Message-Id`, `-Timestamp` (RFC 3339), `-Signature: sha256=..`, `-Type`",
    algorithm="hex HMAC-SHA256 of id + timestamp + body",
    notes="strict RFC 3339 (up to 9 fraction digits)",
    oracle="documented algorithm",
)  # fmt: skip
zendesk = _Provider(
    "zendesk",
    _TemplateHMAC,
    {"header": "X-Zendesk-Webhook-Signature", "encoding": "base64", "template": "{timestamp}{body}",
     "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp", "timestamp_unit": "rfc3339"},
    title="Zendesk",
    docs="https://developer.zendesk.com/documentation/webhooks/verifying/",
    window=300.0,
    headers="`X-Zendesk-Webhook-Signature`, `X-Zendesk-Webhook-Signature-Timestamp` (RFC 3339)",
    algorithm="Base64 HMAC-SHA256 of timestamp + body",
    notes="bodyless requests sign the timestamp alone; Zendesk sets no window",
    oracle="documented algorithm",
)  # fmt: skip
box = _Provider(
    "box",
    _TemplateHMAC,
    {"headers": ("BOX-SIGNATURE-PRIMARY", "BOX-SIGNATURE-SECONDARY"), "encoding": "base64",
     "template": "{body}{timestamp}", "timestamp_header": "BOX-DELIVERY-TIMESTAMP",
     "timestamp_unit": "rfc3339",
     "required": (("BOX-SIGNATURE-VERSION", "1"), ("BOX-SIGNATURE-ALGORITHM", "HmacSHA256"))},
    title="Box",
    docs="https://developer.box.com/guides/webhooks/v2/signatures-v2/",
    window=600.0,
    future_window=60.0,
    event_id=("id",),
    retry_horizon=2.5 * HOUR,
    headers="`BOX-SIGNATURE-PRIMARY`/`-SECONDARY`, `BOX-DELIVERY-TIMESTAMP` (RFC 3339), `BOX-SIGNATURE-VERSION: 1`, `BOX-SIGNATURE-ALGORITHM: HmacSHA256`",
    algorithm="Base64 HMAC-SHA256 of body + timestamp",
    notes="configure primary and secondary keys as a list; either key may match either header; 60 s ahead for clock skew (the SDK allows none)",
    oracle="box-sdk-gen (both ways)",
)  # fmt: skip
linear = _Provider(
    "linear",
    _TemplateHMAC,
    {"header": "Linear-Signature", "timestamp_field": "webhookTimestamp", "timestamp_unit": "ms"},
    title="Linear",
    docs="https://linear.app/developers/webhooks#securing-webhooks",
    window=60.0,
    headers="`Linear-Signature`",
    algorithm="hex HMAC-SHA256 of the raw body; the signed body field `webhookTimestamp` (ms) is the timestamp",
    notes="a verified body without an integer `webhookTimestamp` is refused",
    oracle="documented algorithm (Linear SDK)",
)  # fmt: skip
hmac = _Provider(
    "hmac",
    _TemplateHMAC,
    title="Any HMAC scheme",
    configurable=("header", "algorithm", "encoding", "prefix", "template", "timestamp_header",
                  "timestamp_unit", "id_header"),
    headers="configurable",
    algorithm="sha1/sha256/sha512, hex/base64, prefix, template",
    oracle="the hmac module",
)  # fmt: skip

# ========================================================================= URL-signed

twilio = _Provider(
    "twilio",
    _URLSigned,
    {"canonical": "twilio", "header": "X-Twilio-Signature", "algorithm": "sha1"},
    title="Twilio",
    docs="https://www.twilio.com/docs/usage/webhooks/webhooks-security",
    choices={"algorithm": {"sha1": {}, "sha256": {"algorithm": "sha256"}}},
    headers="`X-Twilio-Signature`",
    algorithm='Base64 HMAC-SHA1 (SharedKey: `algorithm="sha256"`) of public URL + sorted form `name+value`; JSON bodies: URL with `bodySHA256=<hex sha256(body)>` (hash checked)',
    notes="needs the public URL (route `public_url`); exactly one URL, no port variants (stricter than the SDK); non-form body without `bodySHA256` refused",
    oracle="published vectors (twilio-python tests), twilio SDK (both ways)",
)  # fmt: skip
square = _Provider(
    "square",
    _URLSigned,
    {"canonical": "url_body"},
    title="Square",
    docs="https://developer.squareup.com/docs/webhooks/step3validate",
    retry_horizon=72 * HOUR,
    choices={"algorithm": {
        "sha256": {"header": "x-square-hmacsha256-signature"},
        "sha1": {"header": "x-square-signature", "algorithm": "sha1"}}},
    headers='`x-square-hmacsha256-signature` (legacy `x-square-signature` by `algorithm="sha1"`, instead)',
    algorithm="Base64 HMAC-SHA256 of notification URL + raw body",
    notes="`public_url` = the subscription's notification URL, byte for byte",
    oracle="published vectors (Square SDK tests), squareup SDK (both ways)",
)  # fmt: skip
mandrill = _Provider(
    "mandrill",
    _URLSigned,
    {"canonical": "mandrill", "header": "X-Mandrill-Signature", "algorithm": "sha1",
     "content_type": _FORM},
    title="Mailchimp Transactional (Mandrill)",
    docs="https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests",
    handshake=_HeadProbe(option="answer_head", default=False),
    headers="`X-Mandrill-Signature`",
    algorithm="Base64 HMAC-SHA1 of public URL + sorted POST `name+value`",
    notes="repeated form names refused",
    oracle="documented algorithm",
)  # fmt: skip
plivo = _Provider(
    "plivo",
    _URLSigned,
    {"canonical": "plivo", "header": "X-Plivo-Signature-V3", "list": True,
     "nonce_header": "X-Plivo-Signature-V3-Nonce", "content_type": _FORM},
    title="Plivo (V3)",
    docs="https://www.plivo.com/docs/voice/concepts/signature-validation",
    headers="`X-Plivo-Signature-V3` (comma list, at most 8), `X-Plivo-Signature-V3-Nonce`",
    algorithm="Base64 HMAC-SHA256 of `scheme://host/path` + sorted query (GET) or sorted query `.` sorted form `name+value` (POST), + `.` + nonce",
    notes="form POSTs and GETs only; any listed signature may match",
    oracle="plivo SDK (both ways)",
)  # fmt: skip
hubspot = _Provider(
    "hubspot",
    _URLSigned,
    {"canonical": "hubspot_v3", "header": "X-HubSpot-Signature-v3",
     "timestamp_header": "X-HubSpot-Request-Timestamp"},
    title="HubSpot (v3)",
    docs="https://developers.hubspot.com/docs/api/webhooks/validating-requests",
    window=300.0,
    headers="`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp` (ms)",
    algorithm="Base64 HMAC-SHA256 of method + URI (listed `%xx` escapes decoded) + body + timestamp",
    notes="client secret; window both ways (SDK: past only)",
    oracle="published vector (HubSpot docs), hubspot-api-client (both ways)",
)  # fmt: skip

_HUBSPOT_LEGACY = (
    "HubSpot's v1/v2 signature is a plain SHA-256 of the client secret and the request (no"
    " HMAC) with no timestamp: a captured request stays valid, and a length extension can"
    " append to a signed body without the secret (bodies that are not UTF-8 are refused,"
    " which stops the known forms); HubSpot signs webhooks with v3"
)
hubspot_v1 = _Provider(
    "hubspot_v1",
    _URLSigned,
    {"canonical": "body", "header": "X-HubSpot-Signature", "encoding": "hex", "hash": "prefixed",
     "url": False, "required": (("X-HubSpot-Signature-Version", "v1"),)},
    title="HubSpot v1 (legacy, opt-in)",
    docs="https://developers.hubspot.com/docs/api/webhooks/validating-requests",
    retry_horizon=36 * HOUR,  # 10 retries, about 34 hours
    legacy=_HUBSPOT_LEGACY,
    headers="`X-HubSpot-Signature` (hex), `X-HubSpot-Signature-Version: v1`",
    algorithm="hex SHA-256 of client secret + body (not an HMAC, no timestamp)",
    notes="opt-in legacy: a start-up `WebhookGuardWarning`",
    oracle="hubspot-api-client `Signature` (both ways)",
)  # fmt: skip
hubspot_v2 = _Provider(
    "hubspot_v2",
    _URLSigned,
    {"canonical": "hubspot_v2", "header": "X-HubSpot-Signature", "encoding": "hex",
     "hash": "prefixed", "required": (("X-HubSpot-Signature-Version", "v2"),)},
    title="HubSpot v2 (legacy, opt-in)",
    docs="https://developers.hubspot.com/docs/api/webhooks/validating-requests",
    retry_horizon=36 * HOUR,
    legacy=_HUBSPOT_LEGACY,
    headers="`X-HubSpot-Signature` (hex), `X-HubSpot-Signature-Version: v2`",
    algorithm="hex SHA-256 of client secret + method + URI + body (not an HMAC, no timestamp)",
    notes="opt-in legacy: a start-up `WebhookGuardWarning`; needs the public URL",
    oracle="hubspot-api-client `Signature` (both ways)",
)  # fmt: skip
shopify_app_proxy = _Provider(
    "shopify_app_proxy",
    _URLSigned,
    {"canonical": "shopify_proxy", "query": "signature", "encoding": "hex", "url": False,
     "timestamp_param": "timestamp", "body_signed": False},
    title="Shopify app proxy",
    docs="https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies",
    window=90.0,  # as Shopify's libraries (90 s each way)
    headers="query `signature` (hex), `timestamp`, `shop`, `path_prefix`, `logged_in_customer_id`",
    algorithm="hex HMAC-SHA256 of the sorted query `name=value` (repeated names joined by `,`), no separator",
    notes="key = app client secret; **the body of a proxied POST is not signed** (`body_signed=False`); a page loaded twice in one second is one signed request (a duplicate): `replay=False` for pages",
    oracle="published vectors (Shopify docs)",
)  # fmt: skip
trello = _Provider(
    "trello",
    _URLSigned,
    {"canonical": "body_url", "header": "X-Trello-Webhook", "algorithm": "sha1"},
    title="Trello",
    docs="https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/",
    # No event_id: one action reaches every webhook watching a model it touches (a board
    # and a card), each a delivery of its own with the same action id. A retry is the same
    # signed request, so the message identity dedupes it.
    retry_horizon=DAY,
    handshake=_HeadProbe(option="answer_head", default=False),
    headers="`X-Trello-Webhook`",
    algorithm="Base64 HMAC-SHA1 of body + callback URL, key = app secret",
    notes="`public_url` = the callback URL exactly as registered (with its query)",
    oracle="documented algorithm",
)  # fmt: skip

# ========================================================================== body HMAC

shopify = _Provider(
    "shopify",
    _BodyHMAC,
    {"header": "X-Shopify-Hmac-Sha256", "aliases": ("shopify-hmac-sha256",), "encoding": "base64"},
    title="Shopify",
    docs="https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify",
    headers="`X-Shopify-Hmac-Sha256: <base64>` (or the newer format's `shopify-hmac-sha256`; never both)",
    algorithm="HMAC-SHA256 of the body, key = app client secret (or the admin's webhook signing key)",
    notes="dedupe on `X-Shopify-Webhook-Id` downstream",
    oracle="documented algorithm",
)  # fmt: skip
bitbucket = _Provider(
    "bitbucket",
    _BodyHMAC,
    {"header": "X-Hub-Signature", "prefix": "sha256="},
    title="Bitbucket Cloud / Data Center",
    docs="https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks",
    max_body=256 * 1024,  # "Webhook payload is limited to 256 KB"
    headers="`X-Hub-Signature: sha256=<hex>`",
    algorithm="HMAC-SHA256 of the body (SHA-256, unlike GitHub's legacy header of the same name)",
    oracle="documented algorithm",
)
jira = _Provider(
    "jira",
    _BodyHMAC,
    {"header": "X-Hub-Signature", "prefix": "sha256="},
    title="Jira (admin webhooks)",
    docs="https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
    headers="`X-Hub-Signature: sha256=<hex>`",
    algorithm="HMAC-SHA256 of the body",
    notes="Connect-app JWTs are not covered",
    oracle="documented algorithm",
)
gitea = _Provider(
    "gitea",
    _BodyHMAC,
    {"header": "X-Gitea-Signature"},
    title="Gitea",
    docs="https://docs.gitea.com/usage/webhooks",
    headers="`X-Gitea-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)
gogs = _Provider(
    "gogs",
    _BodyHMAC,
    {"header": "X-Gogs-Signature"},
    title="Gogs",
    docs="https://gogs.io/docs/features/webhook",
    headers="`X-Gogs-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)
forgejo = _Provider(
    "forgejo",
    _BodyHMAC,
    {"header": "X-Forgejo-Signature"},
    title="Forgejo",
    docs="https://forgejo.org/docs/latest/user/webhooks/",
    headers="`X-Forgejo-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)
intercom = _Provider(
    "intercom",
    _BodyHMAC,
    {"header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1="},
    title="Intercom",
    docs="https://developers.intercom.com/docs/webhooks/setting-up-webhooks",
    event_id=("id",),  # the body counts delivery_attempts: the id ties the attempts together
    headers="`X-Hub-Signature: sha1=<hex>`",
    algorithm="HMAC-SHA1 of the body, key = client secret",
    oracle="documented algorithm",
)
typeform = _Provider(
    "typeform",
    _BodyHMAC,
    {"header": "Typeform-Signature", "encoding": "base64", "prefix": "sha256="},
    title="Typeform",
    docs="https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
    headers="`Typeform-Signature: sha256=<base64>`",
    algorithm="HMAC-SHA256 of the body (Base64, not hex)",
    oracle="documented algorithm",
)
razorpay = _Provider(
    "razorpay",
    _BodyHMAC,
    {"header": "X-Razorpay-Signature"},
    title="Razorpay",
    docs="https://razorpay.com/docs/webhooks/validate-test/",
    headers="`X-Razorpay-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body, key = webhook secret",
    oracle="razorpay SDK (both ways)",
)
paystack = _Provider(
    "paystack",
    _BodyHMAC,
    {"header": "x-paystack-signature", "algorithm": "sha512"},
    title="Paystack",
    docs="https://paystack.com/docs/payments/webhooks/#verify-event-origin",
    retry_horizon=72 * HOUR,
    headers="`x-paystack-signature: <hex>`",
    algorithm="HMAC-SHA512 of the body, key = secret API key",
    oracle="documented algorithm",
)
line = _Provider(
    "line",
    _BodyHMAC,
    {"header": "x-line-signature", "encoding": "base64"},
    title="LINE Messaging API",
    docs="https://developers.line.biz/en/reference/messaging-api/#signature-validation",
    headers="`x-line-signature: <base64>`",
    algorithm="HMAC-SHA256 of the body, key = channel secret",
    oracle="line-bot-sdk (both ways)",
)
dropbox = _Provider(
    "dropbox",
    _BodyHMAC,
    {"header": "X-Dropbox-Signature"},
    title="Dropbox",
    docs="https://www.dropbox.com/developers/reference/webhooks#documentation",
    handshake=_QueryEcho("challenge", option="answer_challenge", summary=(
        "`GET ?challenge=` echoed (text/plain, nosniff) with `answer_challenge=True`"
        " (opt-in: unsigned)")),
    headers="`X-Dropbox-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body, key = app secret",
    oracle="documented algorithm",
)  # fmt: skip
asana = _Provider(
    "asana",
    _BodyHMAC,
    {"header": "X-Hook-Signature"},
    title="Asana",
    docs="https://developers.asana.com/docs/webhooks-guide#security",
    handshake=_HeaderEcho("X-Hook-Secret", option="handshake", detail="hook_secret", summary=(
        "first request's `X-Hook-Secret` echoed with `handshake=True` (opt-in, unsigned: enable"
        ' only while creating the webhook; the value is in `verdict.details["hook_secret"]`)')),
    headers="`X-Hook-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body, key = the `X-Hook-Secret` from the handshake",
    oracle="documented algorithm",
)  # fmt: skip
xero = _Provider(
    "xero",
    _BodyHMAC,
    {"header": "x-xero-signature", "encoding": "base64"},
    title="Xero",
    docs="https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/",
    refusal_body=False,  # "intent to receive": a bad signature must get an empty 401
    headers="`x-xero-signature: <base64>`",
    algorithm="HMAC-SHA256 of the body, key = webhook key",
    notes="intent-to-receive: good signature 200, bad **empty** 401 (refusals carry no body)",
    oracle="documented algorithm",
)
quickbooks = _Provider(
    "quickbooks",
    _BodyHMAC,
    {"header": "intuit-signature", "encoding": "base64"},
    title="QuickBooks / Intuit",
    docs="https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification",
    headers="`intuit-signature: <base64>`",
    algorithm="HMAC-SHA256 of the body, key = verifier token",
    oracle="documented algorithm",
)
meta = _Provider(
    "meta",
    _BodyHMAC,
    _HUB,
    title="Meta (Facebook)",
    docs="https://developers.facebook.com/docs/graph-api/webhooks/getting-started",
    retry_horizon=36 * HOUR,
    handshake=_HubChallenge(),
    headers="`X-Hub-Signature-256: sha256=<hex>`",
    algorithm=_META_ALGORITHM,
    notes=_META_NOTES,
    oracle="documented algorithm",
)
instagram = _Provider(
    "instagram",
    _BodyHMAC,
    _HUB,
    title="Instagram",
    docs="https://developers.facebook.com/docs/instagram-platform/webhooks",
    retry_horizon=36 * HOUR,
    handshake=_HubChallenge(),
    headers="`X-Hub-Signature-256: sha256=<hex>`",
    algorithm=_META_ALGORITHM,
    notes=_META_NOTES,
    oracle="documented algorithm",
)
whatsapp = _Provider(
    "whatsapp",
    _BodyHMAC,
    _HUB,
    title="WhatsApp Cloud API",
    docs="https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks",
    retry_horizon=7 * DAY,
    handshake=_HubChallenge(),
    headers="`X-Hub-Signature-256: sha256=<hex>`",
    algorithm=_META_ALGORITHM,
    notes=_META_NOTES,
    oracle="documented algorithm",
)
vercel = _Provider(
    "vercel",
    _BodyHMAC,
    {"header": "x-vercel-signature", "algorithm": "sha1"},
    title="Vercel",
    docs="https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
    headers="`x-vercel-signature: <hex>`",
    algorithm="HMAC-SHA1 of the body",
    oracle="documented algorithm",
)
sentry = _Provider(
    "sentry",
    _BodyHMAC,
    {"header": "Sentry-Hook-Signature"},
    title="Sentry",
    docs="https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#verifying-the-signature",
    headers="`Sentry-Hook-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the raw body, key = client secret",
    oracle="documented algorithm",
)
woocommerce = _Provider(
    "woocommerce",
    _BodyHMAC,
    {"header": "X-WC-Webhook-Signature", "encoding": "base64"},
    title="WooCommerce",
    docs="https://woocommerce.com/document/webhooks/",
    headers="`X-WC-Webhook-Signature: <base64>`",
    algorithm="HMAC-SHA256 of the body",
    notes="the creation ping is signed like any delivery",
    oracle="documented algorithm",
)
lemon_squeezy = _Provider(
    "lemon_squeezy",
    _BodyHMAC,
    {"header": "X-Signature"},
    title="Lemon Squeezy",
    docs="https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
    headers="`X-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)
notion = _Provider(
    "notion",
    _BodyHMAC,
    {"header": "X-Notion-Signature", "prefix": "sha256="},
    title="Notion",
    docs="https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended",
    event_id=("id",),  # attempt_number changes per attempt; the event id does not
    retry_horizon=26 * HOUR,
    handshake=_NotionVerification(option="verification", default=False),
    headers="`X-Notion-Signature: sha256=<hex>`",
    algorithm="HMAC-SHA256 of the body, key = the verification token",
    oracle="documented algorithm",
)  # fmt: skip
airtable = _Provider(
    "airtable",
    _BodyHMAC,
    {"header": "X-Airtable-Content-MAC", "prefix": "hmac-sha256=", "key": "base64"},
    title="Airtable",
    docs="https://airtable.com/developers/web/api/webhooks-overview#webhook-notification-delivery",
    headers="`X-Airtable-Content-MAC: hmac-sha256=<hex>`",
    algorithm="HMAC-SHA256 of the body, key = base64-**decoded** `macSecretBase64` (configure the base64 string)",
    oracle="pyairtable (both ways)",
)  # fmt: skip
segment = _Provider(
    "segment",
    _BodyHMAC,
    {"header": "X-Signature", "algorithm": "sha1"},
    title="Segment",
    docs="https://segment.com/docs/connections/destinations/catalog/actions-webhook/",
    headers="`X-Signature: <hex>`",
    algorithm="HMAC-SHA1 of the body",
    oracle="documented algorithm",
)
coinbase_commerce = _Provider(
    "coinbase_commerce",
    _BodyHMAC,
    {"header": "X-CC-Webhook-Signature"},
    title="Coinbase Commerce",
    docs="https://docs.cdp.coinbase.com/commerce/api-arcitecture/webhooks-overview",
    event_id=("event", "id"),  # attempt_number changes per attempt
    retry_horizon=72 * HOUR,
    headers="`X-CC-Webhook-Signature: <hex>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)
circleci = _Provider(
    "circleci",
    _BodyHMAC,
    {"header": "circleci-signature", "prefix": "v1="},
    title="CircleCI",
    docs="https://circleci.com/docs/webhooks-reference/",
    event_id=("id",),  # documented as the de-duplication key
    headers="`circleci-signature: v1=<hex>`",
    algorithm="HMAC-SHA256 of the body",
    notes="only a single `v1=` value",
    oracle="documented algorithm",
)
bolt = _Provider(
    "bolt",
    _BodyHMAC,
    {"header": "X-Bolt-Hmac-Sha256", "encoding": "base64"},
    title="Bolt",
    docs="https://help.bolt.com/developers/webhooks/",
    headers="`X-Bolt-Hmac-Sha256: <base64>`",
    algorithm="HMAC-SHA256 of the body",
    oracle="documented algorithm",
)

# ==================================================================== in-body signatures

mailgun = _Provider(
    "mailgun",
    _Mailgun,
    title="Mailgun",
    docs="https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks",
    window=300.0,
    headers='none: body `{"signature": {"timestamp", "token", "signature"}}` (or legacy form fields)',
    algorithm="hex HMAC-SHA256 of `timestamp + token` (**event data not signed**)",
    notes="`body_signed=False`; duplicate JSON keys rejected",
    oracle="documented algorithm",
)  # fmt: skip

adyen = _Provider(
    "adyen",
    _Adyen,
    title="Adyen (standard notifications)",
    docs="https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures/",
    retry_horizon=31 * DAY,  # a retry queue "for up to 30 days"
    headers='none: each item\'s `additionalData.hmacSignature`',
    algorithm="Base64 HMAC-SHA256 (hex key) of `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`, every item",
    notes="`body_signed=False`: only those fields are signed; an item twice in one request is refused; answer `[accepted]` (`details[\"reply\"]`)",
    oracle="Adyen Python library `util` (both ways), its test vector",
)  # fmt: skip

# ================================================================================= JWS

netlify = _Provider(
    "netlify",
    _JWS,
    {"header": "X-Webhook-Signature", "issuer": "netlify", "body_claim": "sha256"},
    title="Netlify",
    docs="https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature",
    retry_horizon=DAY,
    headers="`X-Webhook-Signature` (a JWS)",
    algorithm='JWS HS256 (only) with `iss: "netlify"` and `sha256` = hex SHA-256 of the body',
    notes="`alg` other than HS256 (`none` included) refused",
    oracle="PyJWT (both ways)",
)  # fmt: skip

# ================================================================================= SNS

aws_sns = _Provider(
    "aws_sns",
    _SNS,
    title="AWS SNS (HTTP/S subscriptions)",
    docs="https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html",
    window=3900.0,  # Timestamp is the publish time; SNS retries for at most 3600 s
    future_window=300.0,
    retry_horizon=3900.0,
    refusal_status={_Reason.NO_ACTIVE_KEY: 503},  # a certificate still being fetched: SNS retries 5xx
    handshake=_SNSConfirmation(option="confirm_subscription", default=False),
    headers="none: body `Signature`, `SignatureVersion`, `SigningCertURL` (JSON, sent as text/plain)",
    algorithm="RSA PKCS#1 v1.5 SHA-1 (v1) or SHA-256 (v2) over the canonical `name\\nvalue\\n` string, certificate at `SigningCertURL`",
    notes="`topics=` required; certificates fetched in the background from `https://sns.<region>.amazonaws.com[.cn]/*.pem` only (or pinned: `secret={url: ...}`); `body_signed=False`: trust `details[\"signed\"]`",
    oracle="real SNS messages (published) verified with AWS's certificate; `cryptography`",
)  # fmt: skip

# ============================================================================== tokens

gitlab = _Provider(
    "gitlab",
    _Token,
    {"header": "X-Gitlab-Token"},
    title="GitLab",
    docs="https://docs.gitlab.com/user/project/integrations/webhooks/#secret-token",
    configurable=("prefix",),
    headers="`X-Gitlab-Token`",
    algorithm="static token (constant-time)",
    oracle="documented algorithm",
)
telegram = _Provider(
    "telegram",
    _Token,
    {"header": "X-Telegram-Bot-Api-Secret-Token"},
    title="Telegram Bot API",
    docs="https://core.telegram.org/bots/api#setwebhook",
    configurable=("prefix",),
    headers="`X-Telegram-Bot-Api-Secret-Token`",
    algorithm="static token (constant-time)",
    oracle="documented algorithm",
)
okta = _Provider(
    "okta",
    _Token,
    {"header": "Authorization"},
    title="Okta event/inline hooks",
    docs="https://developer.okta.com/docs/concepts/event-hooks/",
    configurable=("header", "prefix"),
    handshake=_OktaChallenge(option="answer_verification"),
    headers="`Authorization` (or `header=`), verbatim or with `prefix=`",
    algorithm="static token (constant-time)",
    oracle="documented algorithm",
)
cloudflare = _Provider(
    "cloudflare",
    _Token,
    {"header": "cf-webhook-auth"},
    title="Cloudflare Notifications",
    docs="https://developers.cloudflare.com/notifications/get-started/configure-webhooks/",
    configurable=("prefix",),
    headers="`cf-webhook-auth`",
    algorithm="static token (constant-time)",
    oracle="documented algorithm",
)
token = _Provider(
    "token",
    _Token,
    title="Any static token",
    configurable=("header", "query", "prefix"),
    headers="a header (optional prefix) or query parameter",
    algorithm="constant-time compare",
    oracle="documented algorithm",
)
microsoft_graph = _Provider(
    "microsoft_graph",
    _BodyToken,
    {"items": "value", "field": "clientState"},
    title="Microsoft Graph change notifications",
    docs="https://learn.microsoft.com/graph/change-notifications-delivery-webhooks",
    handshake=_ValidationEcho(option="answer_validation", default=False),
    headers='none: each item\'s `clientState` in `{"value": [...]}`',
    algorithm="the subscription's `clientState`, compared in constant time (**nothing signed**)",
    notes="rich notifications' `validationTokens` (JWTs) not checked",
    oracle="documented algorithm",
)
