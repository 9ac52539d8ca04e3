"""AWS SNS: RSA signatures by the certificate at ``SigningCertURL``, over the canonical
string of the message's signed fields.

Oracles: real messages SNS delivered (published in write-ups of the "Big IAM Challenge",
2024-12 and 2025-01), verified with the certificate AWS serves at their
``SigningCertURL`` (valid 2024-09-22 to 2025-09-02); ``cryptography`` for our own
signatures. Certificates are fetched from a server on 127.0.0.1 (TLS with a test CA,
the allowlist widened for the test only).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.test_vault import _tls
from webhook_guard import Guard, Route, Verdict
from webhook_guard.core.credentials import RemoteKeys
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.verdict import VERDICT_KEY, Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers import aws_sns, get
from webhook_guard.providers.sns import (
    SNS_HOSTS,
    TEST_CERT_URL,
    TEST_TOPIC,
    canonical_string,
    self_signed_certificate,
)
from webhook_guard.remotekeys import MAX_PENDING, RemoteKeySet, remote_source
from webhook_guard.testing import FrozenClock, build_wsgi_environ

pytest.importorskip("cryptography")

# -- real messages -----------------------------------------------------------------------------

AWS_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
AWS_CERT = """-----BEGIN CERTIFICATE-----
MIIF0DCCBLigAwIBAgIQAyCoIhX867GjhyDZiP4XGDANBgkqhkiG9w0BAQsFADA8
MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRwwGgYDVQQDExNBbWF6b24g
UlNBIDIwNDggTTAxMB4XDTI0MDkyMjAwMDAwMFoXDTI1MDkwMjIzNTk1OVowHDEa
MBgGA1UEAxMRc25zLmFtYXpvbmF3cy5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IB
DwAwggEKAoIBAQC0/wWcCYcehQdYLe1wZdO+IAAd75A4L3X7jP4H3KRzBA2Atzca
JQWB9erTYQ4cWLr1IRBQ6DB9GDr20w1qxwTJ2CV0NSk8QzoFWFeSk3E8aSqMUx/j
K63MV6XitiPMRxkuuqLTJUfl8QgZxSSM51rG/Br+In5ivswClGtLvmZnF+9VCJ1w
E6vL6a0zP+kWk4Y8q/6rOfgobhhbw2k3VDb8N0YRPpLYWT11heMcfYDmClNyUxl3
ESbSjEGgEU9owIuyRzGgkgtMnY9Z/4+VCJZZnch/FPP8FFhrtm4gjEgqBURvKui9
ZlEt/9UFyzVeUCGh0R4GXXFbDgfLhhGt5d8RAgMBAAGjggLsMIIC6DAfBgNVHSME
GDAWgBSBuA5jiokSGOX6OztQlZ/m5ZAThTAdBgNVHQ4EFgQUrSq3sNEggo3vgUj/
t4xZakbNVO4wHAYDVR0RBBUwE4IRc25zLmFtYXpvbmF3cy5jb20wEwYDVR0gBAww
CjAIBgZngQwBAgEwDgYDVR0PAQH/BAQDAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMB
BggrBgEFBQcDAjA7BgNVHR8ENDAyMDCgLqAshipodHRwOi8vY3JsLnIybTAxLmFt
YXpvbnRydXN0LmNvbS9yMm0wMS5jcmwwdQYIKwYBBQUHAQEEaTBnMC0GCCsGAQUF
BzABhiFodHRwOi8vb2NzcC5yMm0wMS5hbWF6b250cnVzdC5jb20wNgYIKwYBBQUH
MAKGKmh0dHA6Ly9jcnQucjJtMDEuYW1hem9udHJ1c3QuY29tL3IybTAxLmNlcjAM
BgNVHRMBAf8EAjAAMIIBgAYKKwYBBAHWeQIEAgSCAXAEggFsAWoAdwAS8U40vVNy
TIQGGcOPP3oT+Oe1YoeInG0wBYTr5YYmOgAAAZIXwJsKAAAEAwBIMEYCIQD7dbPV
/tWvSVGmyb93TgxG/zuhN7AB6Yk5ljUr2QcVqwIhAJFv7++wJg8pcOk30Rgq7DUS
z6VP9WuoL/rh5G23UE4XAHYAfVkeEuF4KnscYWd8Xv340IdcFKBOlZ65Ay/ZDowu
ebgAAAGSF8CawQAABAMARzBFAiBfoU6gn6fqCM+tigL0GzPlwDUup0ewgbOovqB+
sCxBBgIhAPLgAOfAJ1boJNqDDU1K3cQ3XAbEJ++8LNAN1GvUkH6HAHcAzPsPaoVx
CWX+lZtTzumyfCLphVwNl422qX5UwP5MDbAAAAGSF8Ca1gAABAMASDBGAiEArHb3
dfcrBWIOO1+0rb0xgiVcya8nE3hWFDdKBAEV6NQCIQCwsTRlrxTOVmvBDsdLKyug
A/xKFbHgr9aiCH/eSiHvvjANBgkqhkiG9w0BAQsFAAOCAQEAv5QK4s1WyNA2l7Px
PDM/81JoJaEqxHDBrMFwLQuCyqAeMYltIGZrehQSdvgYk4E9WY4/3u18EekBuvZI
G5HzM06PuNfnnfma2l3ZxGRWk8QgIbCHW+caQDJIhbGDAKZe9pb2RXWkslaFaWGf
0zY8EJ/cko/FeYANa9gQdeQcCTlegGkhv/+UlSNTTlDlqhgCNglutDnwU7qq0pxM
jNgJ9oQin8hMeIi/ZkIYjtkZov8GWw+EDq6bPyMZnA00RtgsU+91CWsPgL5lc13x
nCj0NZGbuRqtdjGkyv0q07v0BQzdqB3vHXUpM1m7D/fUkOy/vS2PGU405AY6Fgde
DaLMDw==
-----END CERTIFICATE-----
"""
AWS_TOPIC = "arn:aws:sns:us-east-1:092297851374:TBICWizPushNotifications"
_UNSUBSCRIBE = (
    "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + AWS_TOPIC
)
NOTIFICATION_1 = {
    "Type": "Notification",
    "MessageId": "aea8d84f-3088-55d3-960e-87a236f0f077",
    "TopicArn": AWS_TOPIC,
    "Message": "{wiz:always-suspect-asterisks}",
    "Timestamp": "2024-12-30T20:36:08.499Z",
    "SignatureVersion": "1",
    "Signature": (
        "RGj/FtpdBbGTZRpwnDd3rKiw+3Ld4z9klml0ZkVINC4hm+lYVzlbjFgN93mVpaE8+WOdN67kkY6Br4SWy7WKuZEFHZdPU8Bw"
        "ceaW7GoG6p7yDQWhDQKUEpCGKasJgm7bdwOvC1Ur2EJdUloTYc4IEhG9yfYM1RCnHTDOz8rexbk5ShHLI9w+/yHZ05dUcrST"
        "g+zfLoE5+TwNin2YiW96R5h56HtJOkHRBWS0UQoY5uYGcgOEJB2ODdyS47gwVTTtyDEUU45LrL5RarFvsRjNbGs3UpMZqqZSa"
        "s+Jd5bMfINuWplNJiIBAk1VzYeaXA0GT2qgV7Qula71OwG3e2Alog=="
    ),
    "SigningCertURL": AWS_CERT_URL,
    "UnsubscribeURL": _UNSUBSCRIBE + ":34127ebe-a089-40af-96a2-72e86ef9d015",
}
NOTIFICATION_2 = {
    "Type": "Notification",
    "MessageId": "cf626a84-6014-5f7b-ae44-0a8b6c00f0f6",
    "TopicArn": AWS_TOPIC,
    "Message": "{wiz:always-suspect-asterisks}",
    "Timestamp": "2025-01-25T15:57:08.497Z",
    "SignatureVersion": "1",
    "Signature": (
        "dOnhS0W5G8/DDS4GCxRTQ3IIYTlXgEHllJiL/ePM4wo1CcE2nju2YHJfbuQQ/nG+q7pk+Oi+2p32vF1FOGrE+bACdr/uEEcV"
        "4L/oglI1Uv5rx2fUUtO+9JQcf+XhceKrPlvuQywFjSBhgR2VpRwHXS9MrIiyGk4E0gQha5BJVbDPme6Li0qlVyKEx6rCA7wX"
        "t7qtWBT/1Csb4zkS+NG8KzMyjyeqSk3UY+h6kAcZXP8OqdFuI+2EEMrhBnxqSw3Ro86jIN76nngAFlgMu8l20tA4qkQ82eYPB"
        "s551om2ut7R8Z+s0F1hQANKN7zkovBS6C+a8VmEamkx8sK/nQlmKA=="
    ),
    "SigningCertURL": AWS_CERT_URL,
    "UnsubscribeURL": _UNSUBSCRIBE + ":26ec4347-b10d-4942-b797-f59fbc3a7452",
}
_TOKEN = (
    "2336412f37fb687f5d51e6e2425a8a58714989472d236a6cba8478a654dc0e7f80161c55d6a73bf77ee9560b99fe7f67"
    "49fc26b2b0186453c7abd48bd7e0ecda3dd2e3267e6349e30e3d50b8f2286b082d53fa789a2663a66d46b95d85fd5617"
    "6923ac0799789cd4cc02ff58f36808e90b1b9367c30ba0b398b461a37963e9ed"
)
CONFIRMATION = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "2cbb4f40-6af8-4e2c-ad1c-c337328bb9fd",
    "Token": _TOKEN,
    "TopicArn": AWS_TOPIC,
    "Message": (
        f"You have chosen to subscribe to the topic {AWS_TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    ),
    "SubscribeURL": (
        f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={AWS_TOPIC}&Token={_TOKEN}"
    ),
    "Timestamp": "2025-01-25T16:09:23.224Z",
    "SignatureVersion": "1",
    "Signature": (
        "k90wEAyUHIGHx0SOtDqiz4Wnft/Je+Nr5c3x6RHpKI2maYiiX0fKvCrMGyjC6zyiaDvbJgmLg2iMzfnvSogoie0lN6SfzN8j"
        "+RiFIhXa4B9KljZyTVmNXsslvEWvt8cdH6WAnTtwoxvE1eSTOROUay7FsMTIxYnON4ljriFLCQEHY2bq9EIccexMyG9jLxxK"
        "OUXC87snLs3JsU1rgQHCii+czANp8WPjzUGh7VzcqEZV2Y7okqiuVqw5kViZ2+7GchXwdnuU9faliv+1eLsgGJUzcKKsox/dJ"
        "/FOXYTvkZRzu+ZR483DoNwnuLzD+AqbiEcHfiHXi2FNqpp6K56P2g=="
    ),
    "SigningCertURL": AWS_CERT_URL,
}
REAL = {
    "notification-1": NOTIFICATION_1,
    "notification-2": NOTIFICATION_2,
    "confirmation": CONFIRMATION,
}
PINNED = aws_sns(secret={AWS_CERT_URL: AWS_CERT}, topics=[AWS_TOPIC])
AWS_KEYS = KeySet([Secret(AWS_CERT, key_id=AWS_CERT_URL)])


def _at(message: dict[str, Any]) -> float:
    from webhook_guard.core.timestamps import parse_rfc3339

    stamp = message.get("Timestamp")
    seconds = parse_rfc3339(stamp) if isinstance(stamp, str) else None
    return _at(NOTIFICATION_1) if seconds is None else seconds


def check(
    message: dict[str, Any] | bytes,
    *,
    scheme: Any = PINNED,
    keys: KeySet = AWS_KEYS,
    now: float | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Check:
    body = message if isinstance(message, bytes) else json.dumps(message, indent=2).encode()
    if now is None:
        now = _at(NOTIFICATION_1 if isinstance(message, bytes) else message) + 10
    items = [("Content-Type", "text/plain; charset=UTF-8"), *(headers or [])]
    return scheme.check(WebhookRequest("POST", "/sns", Headers(items), body), keys, now)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_sns_messages_verify_with_the_aws_certificate(name: str) -> None:
    message = REAL[name]
    result = check(message)
    assert result.reason is Reason.VERIFIED
    assert result.key_id == AWS_CERT_URL
    assert result.message_id == message["MessageId"]
    assert result.replay_material == b"sns\x00" + message["MessageId"].encode()
    assert result.timestamp == int(_at(message))
    signed = result.details["signed"]
    assert signed["Type"] == message["Type"]
    assert "UnsubscribeURL" not in signed  # not signed: not in details["signed"]
    assert "SigningCertURL" not in signed


def test_canonical_strings() -> None:
    assert canonical_string(NOTIFICATION_1) == (
        b"Message\n{wiz:always-suspect-asterisks}\nMessageId\naea8d84f-3088-55d3-960e-87a236f0f077\n"
        b"Timestamp\n2024-12-30T20:36:08.499Z\nTopicArn\n"
        + AWS_TOPIC.encode()
        + b"\nType\nNotification\n"
    )
    assert canonical_string({**NOTIFICATION_1, "Subject": None}) == canonical_string(NOTIFICATION_1)
    with_subject = canonical_string({**NOTIFICATION_1, "Subject": "Hi"})
    assert with_subject is not None
    assert (
        b"MessageId\naea8d84f-3088-55d3-960e-87a236f0f077\nSubject\nHi\nTimestamp\n" in with_subject
    )
    assert canonical_string({**CONFIRMATION, "Type": "Other"}) is None
    assert canonical_string({**CONFIRMATION, "Token": 1}) is None
    assert canonical_string({k: v for k, v in CONFIRMATION.items() if k != "SubscribeURL"}) is None


@pytest.mark.parametrize("name", sorted(REAL))
def test_every_signed_field_is_signed(name: str) -> None:
    message = REAL[name]
    fields = (
        ("Message", "MessageId")
        if message["Type"] == "Notification"
        else ("Message", "MessageId", "SubscribeURL", "Token")
    )  # TopicArn, Timestamp and Type are looked at before the signature: see below
    for field in fields:
        changed = {**message, field: message[field] + "x"}
        assert check(changed).reason is Reason.BAD_SIGNATURE, field
    # Subject is signed when present: adding one breaks the signature.
    if message["Type"] == "Notification":
        assert check({**message, "Subject": "x"}).reason is Reason.BAD_SIGNATURE
    # The unsigned fields are not.
    extra = {**message, "UnsubscribeURL": "https://example.com/", "MessageAttributes": {"a": 1}}
    assert check(extra).reason is Reason.VERIFIED


def test_type_timestamp_and_topic_are_signed() -> None:
    other_type = {**NOTIFICATION_1, "Type": "UnsubscribeConfirmation"}
    assert check(other_type).reason is Reason.BAD_REQUEST  # its fields are missing
    moved = {**NOTIFICATION_1, "Timestamp": "2024-12-30T20:36:09.499Z"}
    assert check(moved, now=_at(NOTIFICATION_1)).reason is Reason.BAD_SIGNATURE
    both = aws_sns(secret={AWS_CERT_URL: AWS_CERT}, topics=[AWS_TOPIC, AWS_TOPIC + "2"])
    other_topic = {**NOTIFICATION_1, "TopicArn": AWS_TOPIC + "2"}
    assert check(other_topic, scheme=both).reason is Reason.BAD_SIGNATURE


def test_a_foreign_topic_is_refused_before_its_signature() -> None:
    # SNS signs every topic's messages: a genuine message of another topic is refused.
    scheme = aws_sns(secret={AWS_CERT_URL: AWS_CERT}, topics=["arn:aws:sns:us-east-1:1:mine"])
    assert check(NOTIFICATION_1, scheme=scheme).reason is Reason.BAD_REQUEST


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({}, "E003"),
        ({"topics": []}, "E003"),
        ({"topics": ["not-an-arn"]}, "E004"),
        ({"topics": [AWS_TOPIC], "confirm_subscription": True}, "E004"),  # pinned: no visits
    ],
)
def test_configuration(options: dict[str, Any], code: str) -> None:
    with pytest.raises(ConfigurationError, match=code):
        aws_sns(secret={AWS_CERT_URL: AWS_CERT}, **options)


def test_pinned_certificates_are_checked_at_configuration() -> None:
    with pytest.raises(ConfigurationError, match=r"X\.509"):
        aws_sns(secret={AWS_CERT_URL: "not a certificate"}, topics=[AWS_TOPIC])


def test_defaults() -> None:
    scheme = aws_sns(topics=AWS_TOPIC)
    assert scheme.secret == RemoteKeys(hosts=SNS_HOSTS)
    assert (scheme.window, scheme.future_window, scheme.retry_horizon) == (3900.0, 300.0, 3900.0)
    assert scheme.body_signed is False
    assert get("aws_sns") is aws_sns


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (AWS_CERT_URL, True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", True),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", False),
        ("https://sns.us-east-1.amazonaws.com.evil.com/x.pem", False),
        ("https://evil.com/sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com@evil.com/x.pem", False),
        ("https://user@sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com:8443/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com/x.pem?a=1", False),
        ("https://sns.us-east-1.amazonaws.com/x.pem#a", False),
        ("https://sns.us-east-1.amazonaws.com/x.crt", False),
        ("https://SNS.us-east-1.amazonaws.com/x.pem", False),
        ("https://s3.amazonaws.com/x.pem", False),
        ("https://sns.us_east.amazonaws.com/x.pem", False),
        ("https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem", True),
        ("https://sns.us-isob-east-1.amazonaws.com/SimpleNotificationService-1.pem", True),
        ("https://sns.ap-southeast-5.amazonaws.com/SimpleNotificationService-1.pem", True),
        # S3 virtual-hosted buckets named "sns", served under Amazon's own certificate.
        ("https://sns.s3.amazonaws.com/SimpleNotificationService-1.pem", False),
        ("https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-1.pem", False),
        ("https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-1.pem", False),
        ("https://sns.s3-website-us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.s3.us-east-1.amazonaws.com/x.pem", False),
    ],
)
def test_certificate_urls_allowed(url: str, allowed: bool) -> None:
    assert RemoteKeys(hosts=SNS_HOSTS).allows(url) is allowed


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Signature": None}, Reason.MISSING_SIGNATURE),
        ({"SignatureVersion": "3"}, Reason.MALFORMED_SIGNATURE),
        ({"SignatureVersion": 1}, Reason.MALFORMED_SIGNATURE),
        ({"Signature": "not base64!"}, Reason.MALFORMED_SIGNATURE),
        ({"Signature": "QQ=="}, Reason.BAD_SIGNATURE),
        ({"Signature": "A" * 2000}, Reason.MALFORMED_SIGNATURE),
        ({"SigningCertURL": None}, Reason.MALFORMED_SIGNATURE),
        ({"SigningCertURL": AWS_CERT_URL.replace("9c", "8c")}, Reason.NO_ACTIVE_KEY),
        ({"Timestamp": "yesterday"}, Reason.MALFORMED_TIMESTAMP),
        ({"Message": 1}, Reason.BAD_REQUEST),
        ({"Type": None}, Reason.BAD_REQUEST),
    ],
)
def test_refusals(change: dict[str, Any], reason: Reason) -> None:
    message = {k: v for k, v in {**NOTIFICATION_1, **change}.items() if v is not None}
    assert check(message).reason is reason


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"not json", b'{"Type": "Notification", "Type": "Notification"}']
)
def test_bodies_that_are_not_one_json_object(body: bytes) -> None:
    assert check(body).reason is Reason.BAD_REQUEST


def test_window() -> None:
    at = _at(NOTIFICATION_1)
    assert check(NOTIFICATION_1, now=at + 3900).reason is Reason.VERIFIED
    assert check(NOTIFICATION_1, now=at + 3901).reason is Reason.STALE_TIMESTAMP
    assert check(NOTIFICATION_1, now=at - 301).reason is Reason.FUTURE_TIMESTAMP


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("x-amz-sns-message-type", "Notification")], Reason.VERIFIED),
        ([("x-amz-sns-message-id", NOTIFICATION_1["MessageId"])], Reason.VERIFIED),
        ([("x-amz-sns-topic-arn", AWS_TOPIC)], Reason.VERIFIED),
        ([("x-amz-sns-message-type", "SubscriptionConfirmation")], Reason.BAD_REQUEST),
        ([("x-amz-sns-message-id", "other")], Reason.BAD_REQUEST),
        ([("x-amz-sns-topic-arn", AWS_TOPIC + "2")], Reason.BAD_REQUEST),
        ([("x-amz-sns-message-type", "Notification")] * 2, Reason.BAD_REQUEST),
    ],
)
def test_unsigned_header_copies_must_agree(headers: list[tuple[str, str]], reason: Reason) -> None:
    assert check(NOTIFICATION_1, headers=headers).reason is reason


# -- our own signatures ------------------------------------------------------------------------


def _rsa_pem() -> str:
    return aws_sns.family.generate_private_key(aws_sns)


PRIVATE = _rsa_pem()
CERT = self_signed_certificate(PRIVATE)
OURS = aws_sns(secret={TEST_CERT_URL: CERT}, topics=[TEST_TOPIC])
OUR_KEYS = KeySet([Secret(CERT, key_id=TEST_CERT_URL)])
NOW = 1_750_000_000.0


@pytest.mark.parametrize("version", ["1", "2"])
def test_sign_round_trip_both_versions(version: str) -> None:
    signed = OURS.sign(
        b"hello \xc3\xa9", secret=PRIVATE, timestamp=NOW, version=version, subject="Hi"
    )
    message = json.loads(signed.body)
    assert (message["SignatureVersion"], message["Subject"], message["Message"]) == (
        version,
        "Hi",
        "hello é",
    )
    assert message["Timestamp"] == "2025-06-15T15:06:40.000Z"
    result = check(
        signed.body, scheme=OURS, keys=OUR_KEYS, now=NOW, headers=list(signed.headers.items())
    )
    assert result.reason is Reason.VERIFIED
    # SHA-1 and SHA-256 are not interchangeable.
    swapped = {**message, "SignatureVersion": "2" if version == "1" else "1"}
    assert check(swapped, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is Reason.BAD_SIGNATURE


def test_equal_calls_sign_equal_messages_and_another_event_another_id() -> None:
    first = OURS.sign(b"a", secret=PRIVATE, timestamp=NOW)
    assert OURS.sign(b"a", secret=PRIVATE, timestamp=NOW).body == first.body
    other = OURS.sign(b"b", secret=PRIVATE, timestamp=NOW)
    assert json.loads(other.body)["MessageId"] != json.loads(first.body)["MessageId"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param(
            "MessageId", "{MessageId}\nSubject\n{Subject}", id="message-id-absorbs-subject"
        ),
        pytest.param("Subject", "Hi\nthere", id="subject"),
        pytest.param("TopicArn", TEST_TOPIC + "\n", id="topic-arn"),
    ],
)
def test_a_newline_outside_the_message_is_refused(field: str, value: str) -> None:
    """The canonical string is "name\\nvalue\\n" pairs: with a newline allowed in the
    MessageId, a copy without its Subject signs the same bytes under another MessageId
    (another replay key for the same delivery)."""
    signed = OURS.sign(b"alarm", secret=PRIVATE, timestamp=NOW, subject="ALARM: cpu")
    message = json.loads(signed.body)
    assert check(message, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is Reason.VERIFIED
    changed = {**message, field: value.format(**message)}
    if field == "MessageId":
        del changed["Subject"]
        assert canonical_string(changed) is None
        assert canonical_string({**changed, "MessageId": message["MessageId"]}) is not None
    assert check(changed, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is Reason.BAD_REQUEST


def test_a_multi_line_message_verifies() -> None:
    signed = OURS.sign(b"line 1\nline 2\n", secret=PRIVATE, timestamp=NOW, subject="Hi")
    assert check(signed.body, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is Reason.VERIFIED


def test_another_key_under_the_same_url_is_refused() -> None:
    signed = OURS.sign(b"a", secret=_rsa_pem(), timestamp=NOW)
    assert check(signed.body, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is Reason.BAD_SIGNATURE


def test_a_non_rsa_certificate_verifies_nothing() -> None:
    from tests.providers.test_registry import _EC, _pem

    ec_cert = self_signed_certificate(_pem(_EC))
    assert OURS.check_secret(ec_cert.encode()) is not None
    signed = OURS.sign(b"a", secret=PRIVATE, timestamp=NOW)
    keys = KeySet([Secret(ec_cert, key_id=TEST_CERT_URL)])
    assert check(signed.body, scheme=OURS, keys=keys, now=NOW).reason is Reason.BAD_SIGNATURE


def _guard(scheme: Any, now: float) -> Guard:
    return Guard([Route("/sns", scheme)], clock=FrozenClock(now))


def _send(guard: Guard, body: bytes, headers: Any = ()) -> tuple[int, bytes, list[Verdict]]:
    seen: list[Verdict] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ[VERDICT_KEY])
        start_response("200 OK", [])
        return [b"app"]

    environ = build_wsgi_environ("/sns", body=body, headers=dict(headers))
    status: list[str] = []
    out = b"".join(guard.wsgi(app)(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0][:3]), out, seen


def test_unknown_certificate_is_a_503_so_that_sns_retries() -> None:
    message = {**NOTIFICATION_1, "SigningCertURL": AWS_CERT_URL.replace("9c", "8c")}
    status, _, seen = _send(_guard(PINNED, _at(NOTIFICATION_1)), json.dumps(message).encode())
    assert (status, seen) == (503, [])
    status, _, seen = _send(
        _guard(PINNED, _at(NOTIFICATION_1)), json.dumps({**message, "Message": "x"}).encode()
    )
    assert status == 503
    # Any other authentication failure stays a 401 (SNS does not retry it).
    status, _, _ = _send(
        _guard(PINNED, _at(NOTIFICATION_1)), json.dumps({**NOTIFICATION_1, "Message": "x"}).encode()
    )
    assert status == 401


def test_confirmation_goes_to_the_app_unless_opted_in() -> None:
    status, out, seen = _send(_guard(PINNED, _at(CONFIRMATION)), json.dumps(CONFIRMATION).encode())
    assert (status, out) == (200, b"app")
    assert seen[0].details["signed"]["SubscribeURL"] == CONFIRMATION["SubscribeURL"]


# -- certificates fetched from a server (127.0.0.1, a test CA) ---------------------------------


class _Server:
    """Serves ``documents`` by path over TLS; records every request line."""

    def __init__(self, context: Any) -> None:
        self.documents: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests.append(self.path)
                status, body, headers = served.documents.get(
                    self.path.split("?")[0], (404, b"", {})
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.socket = context.wrap_socket(self.http.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def server(tmp_path: Any) -> Iterator[tuple[_Server, str]]:
    context, ca_file = _tls(tmp_path)
    served = _Server(context)
    try:
        yield served, ca_file
    finally:
        served.http.shutdown()
        served.http.server_close()


def _local(ca_file: str, **options: Any) -> RemoteKeys:
    return RemoteKeys(hosts=r"127\.0\.0\.1:\d+", cafile=ca_file, **options)  # widened for the test


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_fetched_in_the_background_then_verified(server: tuple[_Server, str]) -> None:
    served, ca_file = server
    url = served.base + "/SimpleNotificationService-test.pem"
    served.documents["/SimpleNotificationService-test.pem"] = (200, CERT.encode(), {})
    scheme = aws_sns(secret=_local(ca_file), topics=[TEST_TOPIC])
    guard = _guard(scheme, NOW)
    signed = OURS.sign(b"hello", secret=PRIVATE, timestamp=NOW, cert_url=url)
    status, _, seen = _send(guard, signed.body, signed.headers)
    assert (status, seen) == (503, [])  # not fetched yet: SNS retries
    source = guard._keys["/sns"]
    assert source is not None
    _wait(lambda: any(k.key_id == url for k in source.current()))
    status, out, seen = _send(guard, signed.body, signed.headers)
    assert (status, out) == (200, b"app")
    assert seen[0].message_id == json.loads(signed.body)["MessageId"]
    assert served.requests == ["/SimpleNotificationService-test.pem"]  # fetched once


def test_nothing_outside_the_allowlist_is_fetched(server: tuple[_Server, str]) -> None:
    served, ca_file = server
    scheme = aws_sns(secret=_local(ca_file), topics=[TEST_TOPIC])
    guard = _guard(scheme, NOW)
    for url in (
        served.base.replace("https", "http") + "/a.pem",
        served.base + "/a.pem?x=1",
        served.base + "/a.txt",
        "https://localhost:" + served.base.rsplit(":", 1)[1] + "/a.pem",
    ):
        signed = OURS.sign(b"x", secret=PRIVATE, timestamp=NOW, cert_url=url)
        status, _, _ = _send(guard, signed.body)
        assert status == 401, url
    time.sleep(0.2)
    assert served.requests == []


def test_failures_redirects_and_junk_never_evict_good_certificates(
    server: tuple[_Server, str],
) -> None:
    served, ca_file = server
    served.documents["/good.pem"] = (200, CERT.encode(), {})
    served.documents["/moved.pem"] = (302, b"", {"Location": served.base + "/good.pem"})
    served.documents["/junk.pem"] = (200, b"<html>", {})
    served.documents["/big.pem"] = (200, b"-----BEGIN CERTIFICATE-----" + b"A" * 70000, {})
    source = remote_source(_local(ca_file), route="/sns", scheduler=lambda s: lambda: None)
    keys = source.current()
    assert isinstance(keys, RemoteKeySet)
    assert bool(keys) is True  # never "no key" for the guard
    assert keys.want(served.base + "/good.pem")
    assert source.refresh_now()
    for path in ("/moved.pem", "/junk.pem", "/big.pem", "/missing.pem"):
        assert source.current().want(served.base + path)
    assert source.refresh_now()  # the failures are the URLs', never the source's
    assert [k.key_id for k in source.current()] == [served.base + "/good.pem"]
    assert source.failures == 0
    assert "/good.pem" in served.requests
    assert served.requests.count("/good.pem") == 1  # the redirect was not followed
    # A failed URL is not fetched again at once.
    source.current().want(served.base + "/missing.pem")
    source.refresh_now()
    assert served.requests.count("/missing.pem") == 1


def test_a_certificate_read_past_the_timeout_in_all_fails_its_url(
    server: tuple[_Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that trickles its answer cannot hold the refresher for a socket timeout
    per byte: the whole document must be read within ``TIMEOUT``. Here each look at the
    clock finds 3 s gone, so the second read is past the 5 s."""
    import webhook_guard._http

    served, ca_file = server
    served.documents["/slow.pem"] = (200, CERT.encode(), {})
    ticks = itertools.count(1)
    start = time.monotonic()
    monkeypatch.setattr(webhook_guard._http, "monotonic", lambda: start + 3.0 * next(ticks))
    source = remote_source(_local(ca_file), route="/sns", scheduler=lambda s: lambda: None)
    assert source.current().want(served.base + "/slow.pem")
    source.refresh_now()
    assert served.requests == ["/slow.pem"]
    assert list(source.current()) == []
    monkeypatch.undo()  # the same document, read in time, is held
    served.documents["/fast.pem"] = (200, CERT.encode(), {})
    assert source.current().want(served.base + "/fast.pem")
    source.refresh_now()
    assert [k.key_id for k in source.current()] == [served.base + "/fast.pem"]


def test_a_certificate_the_scheme_cannot_use_fails_its_url_only() -> None:
    """A document that looks like PEM but does not load is that URL's failure: the
    certificates held stay, and those fetched later are added (a failed refresh of the
    whole source would keep the old set, then drop every key after the grace period)."""
    good = CERT.encode()
    documents = {"a": good, "b": b"-----BEGIN CERTIFICATE-----\nnot base64\n", "c": good}
    source = remote_source(
        RemoteKeys(hosts=SNS_HOSTS),
        route="/sns",
        scheduler=lambda s: lambda: None,
        fetch=lambda url: documents[url.rsplit("/", 1)[1].removesuffix(".pem")],
    )
    source.validate(OURS.check_secret)
    held = []
    for name in ("a", "b", "c"):
        url = f"https://sns.us-east-1.amazonaws.com/{name}.pem"
        assert source.current().want(url)
        assert source.refresh_now()
        held.append([k.key_id.rsplit("/", 1)[1] for k in source.current()])
    assert held == [["a.pem"], ["a.pem"], ["a.pem", "c.pem"]]
    assert source.failures == 0


def test_the_queue_and_the_cache_are_bounded() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return CERT.encode()

    spec = RemoteKeys(hosts=SNS_HOSTS, max_keys=3)
    source = remote_source(spec, route="/sns", scheduler=lambda s: lambda: None, fetch=fetch)
    keys = source.current()
    urls = [f"https://sns.us-east-1.amazonaws.com/{i}.pem" for i in range(MAX_PENDING + 5)]
    assert all(keys.want(u) for u in urls)
    source.refresh_now()
    assert fetched == urls[:MAX_PENDING]
    assert [k.key_id for k in source.current()] == urls[MAX_PENDING - 3 : MAX_PENDING]


def test_a_certificate_that_verified_is_evicted_last() -> None:
    """URLs named by unverified requests (allowed hosts serving real certificates) fill
    the cache; the certificate that verifies the route's messages stays."""
    spec = RemoteKeys(hosts=SNS_HOSTS, max_keys=3)
    source = remote_source(
        spec, route="/sns", scheduler=lambda s: lambda: None, fetch=lambda url: CERT.encode()
    )
    genuine = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-genuine.pem"
    assert source.current().want(genuine)
    source.refresh_now()
    signed = OURS.sign(b"hello", secret=PRIVATE, timestamp=NOW, cert_url=genuine)
    assert check(signed.body, scheme=OURS, keys=source.current(), now=NOW).reason is Reason.VERIFIED
    for i in range(8):
        assert source.current().want(f"https://sns.us-west-2.amazonaws.com/named-{i}.pem")
    source.refresh_now()
    held = [k.key_id for k in source.current()]
    assert len(held) == 3
    assert genuine in held


def test_urls_named_at_start_up_are_fetched_then(server: tuple[_Server, str]) -> None:
    served, ca_file = server
    served.documents["/good.pem"] = (200, CERT.encode(), {})
    source = remote_source(_local(ca_file, urls=(served.base + "/good.pem",)), route="/sns")
    assert [k.key_id for k in source.current()] == [served.base + "/good.pem"]
    with pytest.raises(ConfigurationError, match="cannot fetch"):
        remote_source(_local(ca_file, urls=(served.base + "/missing.pem",)), route="/sns")
    with pytest.raises(ConfigurationError, match="not an allowed"):
        remote_source(_local(ca_file, urls=("https://example.com/a.pem",)), route="/sns")


def test_confirm_subscription_visits_the_subscribe_url_in_the_background(
    server: tuple[_Server, str],
) -> None:
    served, ca_file = server
    served.documents["/cert.pem"] = (200, CERT.encode(), {})
    served.documents["/"] = (200, b"<ConfirmSubscriptionResponse/>", {})
    scheme = aws_sns(secret=_local(ca_file), topics=[TEST_TOPIC], confirm_subscription=True)
    guard = _guard(scheme, NOW)
    subscribe = f"{served.base}/?Action=ConfirmSubscription&TopicArn={TEST_TOPIC}&Token=abc"
    signed = OURS.sign(
        b"subscribe?", secret=PRIVATE, timestamp=NOW, cert_url=served.base + "/cert.pem",
        message_type="SubscriptionConfirmation", subscribe_url=subscribe,
    )  # fmt: skip
    assert _send(guard, signed.body)[0] == 503  # the certificate is fetched first
    source = guard._keys["/sns"]
    assert source is not None
    _wait(lambda: len(source.current()) == 1)
    status, out, seen = _send(guard, signed.body)
    assert (status, out, seen) == (200, b"", [])  # answered by the guard
    _wait(lambda: any(r.startswith("/?Action=ConfirmSubscription") for r in served.requests))
    # A notification still goes to the app.
    note = OURS.sign(b"event", secret=PRIVATE, timestamp=NOW, cert_url=served.base + "/cert.pem")
    assert _send(guard, note.body)[1] == b"app"


def test_a_subscribe_url_elsewhere_is_not_visited(server: tuple[_Server, str]) -> None:
    served, ca_file = server
    served.documents["/cert.pem"] = (200, CERT.encode(), {})
    source = remote_source(_local(ca_file), route="/sns", scheduler=lambda s: lambda: None)
    keys = source.current()
    good = f"{served.base}/?Action=ConfirmSubscription&TopicArn={TEST_TOPIC}&Token=abc"
    assert keys.visit(good)
    for bad in (
        good.replace("https", "http"),
        good.replace("/?", "/x?"),
        good.replace("ConfirmSubscription", "Unsubscribe"),
        good + "&Token=again",
        f"{served.base}/?Action=ConfirmSubscription&TopicArn={TEST_TOPIC}",
        "https://example.com/?Action=ConfirmSubscription&TopicArn=a&Token=b",
    ):
        assert not keys.visit(bad), bad


# -- properties --------------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELD_NAMES = st.sampled_from(
    ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature",
     "SigningCertURL", "Subject", "Token", "SubscribeURL"]
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(_FIELD_NAMES, _json_values, max_size=4),
    real=st.sampled_from(sorted(REAL)),
)
def test_any_message_is_answered_and_only_the_genuine_one_verifies(
    changes: dict[str, Any], real: str
) -> None:
    message = {**REAL[real], **changes}
    result = check(message)
    assert isinstance(result, Check)
    if result.reason is Reason.VERIFIED:  # then every signed field is as SNS signed it
        signed = canonical_string(message)
        assert signed == canonical_string(REAL[real])
        assert message["Signature"] == REAL[real]["Signature"]


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(["Message", "MessageId", "Subject"]), value=st.text(max_size=30))
def test_changing_a_signed_field_of_our_signature_is_refused(field: str, value: str) -> None:
    signed = json.loads(OURS.sign(b"payload", secret=PRIVATE, timestamp=NOW, subject="S").body)
    assume(value != signed[field])
    changed = {**signed, field: value}
    assert check(changed, scheme=OURS, keys=OUR_KEYS, now=NOW).reason is not Reason.VERIFIED


def test_configuration_file(tmp_path: Any) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text(CERT)
    config = tmp_path / "webhook_guard.toml"
    config.write_text(
        f'[[routes]]\npath = "/sns"\nprovider = "aws_sns"\ntopics = ["{TEST_TOPIC}"]\n'
        f'[[routes]]\npath = "/pinned"\nprovider = "aws_sns"\ntopics = ["{TEST_TOPIC}"]\n'
        f'secret = {{ "{TEST_CERT_URL}" = "file:{cert}" }}\n'
    )
    guard = Guard.from_file(str(config), clock=FrozenClock(NOW))
    assert guard.routes[0].provider.secret == RemoteKeys(hosts=SNS_HOSTS)  # type: ignore[union-attr]
    signed = OURS.sign(b"from a file", secret=PRIVATE, timestamp=NOW)
    environ = build_wsgi_environ("/pinned", body=signed.body, headers=signed.headers)
    status: list[str] = []
    b"".join(
        guard.wsgi(lambda e, s: s("200 OK", []) or [b""])(
            environ, lambda s, h, e=None: status.append(s)
        )
    )
    assert status == ["200 OK"]
