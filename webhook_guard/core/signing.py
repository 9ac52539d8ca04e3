"""What a provider sends: ``SignedRequest``, the one result of every scheme's ``sign``.

Sans-IO like the rest of the core: a scheme builds the request a genuine sender would
send (headers, query, body, URL); the test kit, the pytest plugin and the CLI put it on
the wire.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ("FORM", "SignedRequest", "guess_content_type", "join_query")

FORM = "application/x-www-form-urlencoded"
_FORM_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~%+*-")


@dataclass(frozen=True, eq=False)
class SignedRequest(MutableMapping[str, str]):
    """One request as the provider sends it (a record: its fields cannot be rebound).

    It is also a mapping of its headers (``signed["Stripe-Signature"]``, ``dict(signed)``,
    ``headers=scheme.sign(...)``, ``signed == {"X-Hub-Signature-256": ...}``; setting an
    item edits ``headers``) for code that only wants headers; the body to send is
    ``.body``, which differs from the body given to ``sign`` for providers that encrypt
    or wrap it. Two ``SignedRequest`` are equal when all their fields are.

    :param headers: the provider's headers (signatures, timestamps, ids), and the
        ``Content-Type`` when the provider made the body (encrypted envelopes, Mailgun's
        wrapped event) or the caller named one (``content_type=``). The test kit's
        ``sign_request`` adds the body's usual ``Content-Type`` (a form for URL-signed
        providers) to the others, so its result is ready to send.
    :param body: the bytes to send: the body given to ``sign`` unless the provider changes
        it (encrypted callbacks send ciphertext, Mailgun wraps the event with its signature).
    :param query: the query string to send (without ``?``): a signature carried in the
        query (WeCom, WeChat, DingTalk events, Shopify app proxy), a query token, or the
        query of the signed URL.
    :param url: the URL the request was signed for, with ``query``; empty when no ``url``
        was given.
    :param method: the HTTP method the signature is for.
    """

    headers: dict[str, str]
    body: bytes
    query: str = ""
    url: str = ""
    method: str = "POST"

    @property
    def target(self) -> str:
        """``url`` when there is one, else ``"?" + query`` (or ``""``)."""
        if self.url:
            return self.url
        return f"?{self.query}" if self.query else ""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SignedRequest):
            mine = (self.headers, self.body, self.query, self.url, self.method)
            return mine == (other.headers, other.body, other.query, other.url, other.method)
        if isinstance(other, Mapping):
            return self.headers == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] # a mutable mapping

    def __getitem__(self, name: str) -> str:
        return self.headers[name]

    def __setitem__(self, name: str, value: str) -> None:
        self.headers[name] = value

    def __delitem__(self, name: str) -> None:
        del self.headers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)


def guess_content_type(body: bytes, *, form: bool = False) -> str | None:
    """The ``Content-Type`` a sender of ``body`` declares (None for an empty body): JSON,
    XML, a form (or ``form=True``: URL-signed providers post forms), else octet-stream."""
    if not body:
        return None
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        return "application/json"
    if head == b"<":
        return "text/xml"
    if form or _looks_like_form(body):
        return FORM
    return "application/octet-stream"


def _looks_like_form(body: bytes) -> bool:
    name, eq, value = body.partition(b"=")
    return bool(eq and name) and _FORM_CHARS.issuperset(name) and not any(
        c in b" \t\r\n" for c in value
    )


def join_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended (``&`` when it has a query already)."""
    if not url or not query:
        return url
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"
