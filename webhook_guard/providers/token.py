"""Static shared tokens (``token``): GitLab, Telegram, Okta, DingTalk access tokens.

A token proves only that the sender knows it: nothing is signed, so there is no replay
key and ``body_signed`` is False. Several tokens can be active at once; each is compared
in constant time and can be revoked alone by removing it.
"""

from __future__ import annotations

from webhook_guard.core.keys import KeySet, compare
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import MAX_HEADER_LENGTH, Check, Scheme, SecretSpec, single_header
from webhook_guard.core.verdict import Reason
from webhook_guard.exceptions import ConfigurationError

__all__ = ("Token", "token")


class Token(Scheme):
    """A static token in a header (with an optional prefix such as ``Bearer ``) or a query parameter."""

    name = "token"
    body_signed = False

    def __init__(
        self,
        *,
        secret: SecretSpec,
        header: str | None = None,
        query: str | None = None,
        prefix: str = "",
        name: str | None = None,
    ) -> None:
        super().__init__(secret=secret)
        if name is not None:
            self.name = name
        self.header = header
        self.query = query
        self.prefix = prefix
        self.validate()

    def validate(self) -> None:
        if (self.header is None) == (self.query is None):
            raise ConfigurationError(
                f"{self.name}: set exactly one of header= or query=", code="webhook_guard.E004"
            )

    def _received(self, request: WebhookRequest) -> tuple[str | None, bool]:
        if self.header is not None:
            return single_header(request.headers, self.header)
        values = request.query_values(self.query or "")
        if not values:
            return None, True
        return values[0], len(values) == 1 and len(values[0]) <= MAX_HEADER_LENGTH

    def check(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        value, ok = self._received(request)
        if value is None:
            return Check(Reason.MISSING_SIGNATURE)
        if not ok or not value.startswith(self.prefix) or not value.isascii():
            return Check(Reason.MALFORMED_SIGNATURE)
        presented = value[len(self.prefix) :]
        matched = None
        for key in keys:  # every key is compared, so timing does not say which one matched
            if compare(key.value, presented) and matched is None:
                matched = key.key_id
        if matched is None:
            return Check(Reason.BAD_SIGNATURE)
        return Check(Reason.VERIFIED, key_id=matched)

    def sign(
        self, body: bytes, *, secret: str | bytes, timestamp: float | None = None
    ) -> dict[str, str]:
        """The header carrying the token (query tokens: use ``query_param``)."""
        value = secret.decode("utf-8") if isinstance(secret, bytes) else secret
        if self.header is None:
            return {}
        return {self.header: self.prefix + value}

    def query_param(self, secret: str) -> str:
        """``name=value`` for a token carried in the query string."""
        from urllib.parse import urlencode

        return urlencode({self.query or "": secret})


def token(
    *, secret: SecretSpec, header: str | None = None, query: str | None = None, prefix: str = ""
) -> Token:
    """A static token in ``header`` (e.g. ``X-Gitlab-Token``) or in the ``query`` parameter.

    :param secret: the accepted token(s); a mapping names each (per-application tokens).
    :param prefix: text before the token in the header, e.g. ``"Bearer "``.
    """
    return Token(secret=secret, header=header, query=query, prefix=prefix)
