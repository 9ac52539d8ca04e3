"""Static tokens: GitLab, Telegram, Okta, Cloudflare, DingTalk access tokens, ``token``, and
tokens inside the body (Microsoft Graph's ``clientState``).

A token proves only that the sender knows it: nothing is signed, so there is no replay
key and ``body_signed`` is False. Several tokens can be active at once; each is compared
in constant time (every one of them, so the timing does not say which matched) and can
be revoked alone by removing it.

Parameters (``Provider.spec``; ``token`` and ``okta`` take them as options): ``header``
or ``query`` (exactly one), ``prefix`` (``"Bearer "``), and ``hash``: ``sha1`` when the
sender sends the hex SHA-1 of the token instead of the token (SeaTable before 3.0);
``header_replaces_query``: a configured ``header`` replaces the default ``query``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, single_header, try_keys
from webhook_guard.core.signing import SignedRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.providers._base import Family
from webhook_guard.providers._parse import json_object, one_query

__all__ = ("BodyToken", "Token")

_MISSING = Check(Reason.MISSING_SIGNATURE)
_MALFORMED = Check(Reason.MALFORMED_SIGNATURE)
_VERIFIED = Reason.VERIFIED


def _plain(key: Secret, message: None) -> bytes:
    return key.value


def _sha1(key: Secret, message: None) -> bytes:
    return hashlib.sha1(key.value).hexdigest().encode("ascii")  # noqa: S324 - the sender's hash


class Token(Family):
    """A static token in a header (with an optional prefix) or a query parameter."""

    body_signed = False

    def configure(self, options: dict[str, Any]) -> None:
        spec = self.spec
        self.header: str | None = spec.get("header")
        self.query: str | None = spec.get("query")
        if self.header is not None and spec.get("header_replaces_query"):
            self.query = None  # DingTalk tokens: a header instead of the default query
        self.prefix: str = spec.get("prefix", "")
        self._expected = _sha1 if spec.get("hash") == "sha1" else _plain
        if (self.header is None) == (self.query is None):
            raise ConfigurationError(
                f"{self.name}: set exactly one of header= or query=", code="webhook_guard.E004"
            )

    def signature_present(self, request: WebhookRequest) -> bool:
        return self._received(request)[0] is not None

    def _received(self, request: WebhookRequest) -> tuple[str | None, bool]:
        if self.header is not None:
            return single_header(request.headers, self.header)
        return one_query(request, self.query or "")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        value, ok = self._received(request)
        if value is None:
            return _MISSING
        if not ok or not value.startswith(self.prefix) or not value.isascii():
            return _MALFORMED
        presented = value[len(self.prefix) :].encode("ascii")
        result = try_keys(keys, self._expected, None, presented, None, None, b"", every=True)
        if result[0] is _VERIFIED:
            return Check(_VERIFIED, key_id=result.key_id)  # nothing signed: no replay key
        return result

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The request carrying the token (in its header, or its query parameter)."""
        token = self._expected(Secret(secret, key_id="sign"), None).decode("utf-8")
        if self.header is not None:
            headers = {self.header: self.prefix + token}
            return self.signed(headers, body, url=url, content_type=content_type)
        query = urlencode({self.query or "": token})
        return self.signed({}, body, url=url, content_type=content_type, query=query)


class BodyToken(Family):
    """A shared secret carried in every item of a JSON body: Microsoft Graph change
    notifications (``{"value": [{"clientState": ..}, ..]}``; lifecycle notifications too).

    Every item must carry a configured token (constant time, every key compared). Nothing
    is signed: no replay key, ``body_signed=False``. Parameters (``Provider.spec``):
    ``items`` (the list's key) and ``field`` (the token's key in each item).
    """

    body_signed = False

    def configure(self, options: dict[str, Any]) -> None:
        self._items_key: str = self.spec.get("items", "value")
        self._field: str = self.spec.get("field", "clientState")

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        data = json_object(request.body, limit=None)
        items = data.get(self._items_key) if data is not None else None
        if not isinstance(items, list) or not items or len(items) > 1000:
            return Check(Reason.BAD_REQUEST)
        key_id = None
        for item in items:
            token = item.get(self._field) if isinstance(item, dict) else None
            if token is None:
                return _MISSING
            if not isinstance(token, str) or not token.isascii():
                return _MALFORMED
            result = try_keys(
                keys, _plain, None, token.encode("ascii"), None, None, b"", every=True
            )
            if result[0] is not _VERIFIED:
                return result
            key_id = result.key_id
        return Check(_VERIFIED, key_id=key_id)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | bytes,
        timestamp: float | None = None,
        url: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """The JSON ``body`` with the token set in every item."""
        data = json.loads(body) if body.strip() else {self._items_key: [{}]}
        token = secret.decode("utf-8") if isinstance(secret, bytes) else secret
        for item in data[self._items_key]:
            item[self._field] = token
        wire = json.dumps(data).encode("utf-8")
        return self.signed({}, wire, url=url, content_type=content_type or "application/json")
