"""AWS SNS HTTP/S notifications: an RSA signature by the certificate at ``SigningCertURL``.

The body is a JSON message (sent as ``text/plain``). Its ``Signature`` (Base64) signs a
canonical string of ``name\\nvalue\\n`` pairs, in this order:

- ``Notification``: Message, MessageId, Subject (when present), Timestamp, TopicArn, Type;
- ``SubscriptionConfirmation`` and ``UnsubscribeConfirmation``: Message, MessageId,
  SubscribeURL, Timestamp, Token, TopicArn, Type;

with SHA1withRSA (``SignatureVersion`` 1) or SHA256withRSA (2), PKCS#1 v1.5. Nothing else
in the body is signed (``MessageAttributes``, ``UnsubscribeURL``...): ``body_signed`` is
False and ``verdict.details["signed"]`` holds the signed fields, the ones to trust.

Rules (stricter than most validators, on purpose):

- **Topics.** AWS signs the messages of *every* topic, including one an attacker creates
  and subscribes your endpoint to. A route names the topic ARNs it accepts (``topics=``,
  required); any other topic is refused (``bad_request``) before a certificate is fetched.
- **Certificates** are the route's keys, with the certificate's URL as key id: by default
  fetched on demand from ``https://sns.<region>.amazonaws.com[.cn]/...pem`` only, off the
  request path (``RemoteKeys``, resolved by the configuration layer: see
  ``webhook_guard.remotekeys``); or pinned: ``secret={url: "file:cert.pem"}``. A message
  whose certificate is not there yet is refused with ``no_active_key``, answered 503 so
  that SNS retries it (SNS retries 5xx answers only).
- **Window**: ``Timestamp`` (the publish time, unchanged on retries) at most 3900 s old
  (SNS retries for at most an hour) and 300 s ahead.
- **Identity**: ``MessageId`` is signed and kept on retries: it is the event id.
- **Headers**: ``x-amz-sns-message-type``, ``-message-id`` and ``-topic-arn`` are unsigned
  copies; when present they must equal the signed values (``bad_request`` otherwise).
- **Subscriptions**: a verified ``SubscriptionConfirmation`` goes to the app, unless the
  route sets ``confirm_subscription=True``: then the guard visits its ``SubscribeURL``
  (same host rules, in the background) and answers 200 itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from webhook_guard.core.credentials import RemoteKeys
from webhook_guard.core.keys import DerivedKeys, KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.timestamps import format_rfc3339, parse_rfc3339
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family, Provider, now_or
from webhook_guard.providers._parse import b64_canonical, json_object
from webhook_guard.providers.asymmetric import require_crypto
from webhook_guard.providers.handshakes import Handshake, answered

__all__ = ("SNS", "SNS_HOSTS", "SNSConfirmation", "canonical_string", "self_signed_certificate")

#: The hosts SNS serves its signing certificates and subscription URLs from:
#: ``sns.<region>.amazonaws.com`` (``.com.cn`` in China), the region spelled as AWS spells
#: them (``us-east-1``, ``us-gov-west-1``, ``us-isob-east-1``). A looser label would also
#: match S3's virtual-hosted buckets (``sns.s3.amazonaws.com`` is a bucket named ``sns``,
#: served under Amazon's certificate), whose owner could then sign any message.
SNS_HOSTS = r"sns\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}\.amazonaws\.com(\.cn)?"
#: The certificate URL ``sign`` and the test kit use (pinned to the signing key's certificate).
TEST_CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-webhook-guard-test.pem"
)
TEST_TOPIC = "arn:aws:sns:us-east-1:123456789012:webhook-guard-test"

_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_FIELDS = {
    "Notification": _NOTIFICATION,
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}
_HASHES = {"1": "SHA1", "2": "SHA256"}
#: The headers SNS copies signed fields into (unsigned themselves).
_HEADERS = (
    ("x-amz-sns-message-type", "Type"),
    ("x-amz-sns-message-id", "MessageId"),
    ("x-amz-sns-topic-arn", "TopicArn"),
)
_MAX_SIGNATURE = 1024  # Base64 of a 4096-bit RSA signature is 684 characters
_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_BAD = Check(Reason.BAD_SIGNATURE)
_BAD_REQUEST = Check(Reason.BAD_REQUEST)
_NO_KEY = Check(Reason.NO_ACTIVE_KEY)


def canonical_string(message: dict[str, Any]) -> bytes | None:
    """The bytes SNS signs for ``message``; None when its ``Type`` is unknown, or a signed
    field is missing, not a string, or holds a newline outside ``Message`` (``Subject`` may
    be absent or null)."""
    kind = message.get("Type")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return None
    out = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            return None
        if name != "Message" and "\n" in value:
            # The string is "name\nvalue\n" pairs: a newline in a value could carry the
            # next pair (a MessageId absorbing "\nSubject\n..."), the same signed bytes
            # read as another message. Only the Message may span lines (AWS forbids line
            # breaks in a Subject; the other fields are ids, times, ARNs and URLs).
            return None
        out.append(f"{name}\n{value}\n")
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
        return None


def _load_certificate(pem: bytes) -> Any:
    """The RSA public key of a PEM certificate, or None."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except Exception:  # any parsing error: the certificate verifies nothing
        return None
    return key if isinstance(key, RSAPublicKey) else None


def self_signed_certificate(private_key_pem: str | bytes) -> str:
    """A self-signed certificate (PEM) for an RSA private key: what a test route pins."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    data = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    key: Any = serialization.load_pem_private_key(data, password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    import datetime

    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(data).digest()[:8], "big"))
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


class SNSConfirmation(Handshake):
    """A verified ``SubscriptionConfirmation`` of an allowed topic, confirmed by the guard
    (opt-in): its ``SubscribeURL`` is visited by the key source's background thread."""

    label = "`SubscriptionConfirmation`"
    summary = (
        "verified `SubscriptionConfirmation` of an allowed topic confirmed (its `SubscribeURL`"
        " visited in the background) and answered 200 with `confirm_subscription=True`;"
        " otherwise passed to the app"
    )

    def after(self, scheme: Family, request: WebhookRequest, result: Check, keys: KeySet) -> Check:
        signed = result.details.get("signed")
        if not signed or signed.get("Type") != "SubscriptionConfirmation":
            return result
        visit = getattr(keys, "visit", None)
        if visit is None or not visit(signed["SubscribeURL"]):
            return result  # not a URL the guard visits: the app decides
        return answered(result, (200, (), b""), "subscription_confirmation")


class SNS(Family):
    """AWS SNS HTTP/S notifications (see the module docstring)."""

    asymmetric = True
    body_signed = False
    options = ("topics",)

    def configure(self, options: dict[str, Any]) -> None:
        require_crypto()
        topics = options.pop("topics", None)
        if isinstance(topics, str):
            topics = (topics,)
        if not topics or not all(isinstance(t, str) and t.startswith("arn:") for t in topics):
            raise ConfigurationError(
                f"{self.name}: topics= must list the topic ARNs the route accepts (SNS signs"
                " every topic's messages, an attacker's too)",
                code="webhook_guard.E003" if not topics else "webhook_guard.E004",
            )
        self.topics = frozenset(topics)
        if self.secret is None:
            self.secret = RemoteKeys(hosts=SNS_HOSTS)
        if getattr(self, "confirm_subscription", False) and not isinstance(self.secret, RemoteKeys):
            raise ConfigurationError(
                f"{self.name}: confirm_subscription=True needs the fetched certificates"
                " (the default secret): their source visits the SubscribeURL",
                code="webhook_guard.E004",
            )
        self._public_key = DerivedKeys(lambda key: _load_certificate(key.value))
        if not isinstance(self.secret, RemoteKeys):
            self.check_literal_secrets()  # pinned certificates

    def check_secret(self, value: bytes) -> str | None:
        if _load_certificate(value) is None:
            return "not a PEM X.509 certificate with an RSA key"
        return None

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        message = json_object(request.body, limit=None, unique=True)
        if message is None:
            return _BAD_REQUEST
        signature, version = message.get("Signature"), message.get("SignatureVersion")
        if signature is None:
            return _MISSING
        if not isinstance(version, str) or version not in _HASHES or not isinstance(signature, str):
            return _MALFORMED
        raw = b64_canonical(signature, limit=_MAX_SIGNATURE)
        if raw is None:
            return _MALFORMED
        signed = canonical_string(message)
        if signed is None:
            return _BAD_REQUEST
        if message["TopicArn"] not in self.topics:
            return _BAD_REQUEST  # genuine or not, not a topic of this route
        for header, name in _HEADERS:  # unsigned copies: an app may read them, so they agree
            values = request.headers.getlist(header)
            if values and (len(values) > 1 or values[0] != message[name]):
                return _BAD_REQUEST
        seconds = parse_rfc3339(message["Timestamp"])
        if seconds is None:
            return Check(Reason.MALFORMED_TIMESTAMP)
        late = self._window.check(seconds, now)  # type: ignore[union-attr]
        if late is not None:
            return Check(late)
        url = message.get("SigningCertURL")
        if not isinstance(url, str):
            return _MALFORMED
        key = next((k for k in keys if k.key_id == url), None)
        if key is None:
            want = getattr(keys, "want", None)
            if want is not None and not want(url):
                return _MALFORMED  # not a certificate URL of SNS: never fetched
            return _NO_KEY  # fetched in the background; SNS retries on the 503
        public = self._public_key(key)
        if public is None or not _verify(public, raw, signed, _HASHES[version]):
            return _BAD
        verified = getattr(keys, "verified", None)
        if verified is not None:
            verified(url)  # a certificate in use is the last one the cache gives up
        message_id = message["MessageId"]
        return Check(
            Reason.VERIFIED, key_id=url, replay_material=b"sns\x00" + message_id.encode(),
            timestamp=int(seconds), message_id=message_id if len(message_id) <= 256 else None,
            details={"signed": {n: message[n] for n in _FIELDS[message["Type"]] if n in message}},
        )  # fmt: skip

    @classmethod
    def public_key(cls, row: Provider[Any], private_key: str | bytes) -> str:
        """The certificate a route pins for ``private_key`` (self-signed)."""
        return self_signed_certificate(private_key)

    @classmethod
    def generate_private_key(cls, row: Provider[Any]) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @classmethod
    def route_credentials(cls, row: Provider[Any], signing: str | bytes) -> dict[str, Any]:
        return {"secret": {TEST_CERT_URL: cls.public_key(row, signing)}, "topics": [TEST_TOPIC]}

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
        topic: str | None = None,
        subject: str | None = None,
        message_type: str = "Notification",
        message_id: str | None = None,
        cert_url: str = TEST_CERT_URL,
        version: str = "1",
        subscribe_url: str | None = None,
    ) -> SignedRequest:
        """The SNS message publishing ``body`` (its ``Message``), signed with the RSA
        private key ``secret`` (PEM) under ``cert_url``; ``message_id`` defaults to one
        derived from the message, so equal calls sign equal messages. ``message_type``
        ``SubscriptionConfirmation`` (or ``UnsubscribeConfirmation``) adds a ``Token`` and
        a ``SubscribeURL`` (``subscribe_url`` to name another)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        topic = topic or next(iter(sorted(self.topics)))
        stamp = format_rfc3339(now_or(timestamp))[:23] + "Z"  # milliseconds, as SNS writes
        text = body.decode("utf-8")
        if message_id is None:
            seed = hashlib.sha256(b"\x00".join([body, topic.encode(), stamp.encode()])).digest()
            message_id = str(uuid.UUID(bytes=seed[:16], version=4))
        message: dict[str, Any] = {"Type": message_type, "MessageId": message_id}
        if message_type != "Notification":
            token = hashlib.sha256(message_id.encode()).hexdigest()
            message["Token"] = token
            region = topic.split(":")[3] if topic.count(":") >= 5 else "us-east-1"
            message["SubscribeURL"] = subscribe_url or (
                f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription"
                f"&TopicArn={topic}&Token={token}"
            )
        message.update({"TopicArn": topic, "Message": text, "Timestamp": stamp})
        if subject is not None:
            message["Subject"] = subject
        signed = canonical_string(message)
        if signed is None:
            raise ValueError(f"{self.name}: cannot sign a {message_type!r} message")
        data = secret.encode() if isinstance(secret, str) else secret
        key: Any = serialization.load_pem_private_key(data, password=None)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
        raw = key.sign(signed, padding.PKCS1v15(), algorithm)
        message["SignatureVersion"] = version
        message["Signature"] = base64.b64encode(raw).decode("ascii")
        message["SigningCertURL"] = cert_url
        wire = json.dumps(message, indent=2).encode("utf-8")
        headers = {
            "x-amz-sns-message-type": message_type,
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": topic,
        }
        return self.signed(
            headers, wire, url=url, content_type=content_type or "text/plain; charset=UTF-8"
        )


def _verify(public: Any, signature: bytes, message: bytes, algorithm: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public.verify(signature, message, padding.PKCS1v15(), getattr(hashes, algorithm)())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
