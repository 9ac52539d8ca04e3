"""Keys fetched from URLs the sender names: AWS SNS's ``SigningCertURL``.

A route whose ``secret`` is a ``core.credentials.RemoteKeys`` declaration gets a
``RemoteKeySource``: a ``KeySource`` (see ``webhook_guard.keysources``) whose keys are the
certificates fetched so far, each with its URL as key id. The request path never waits
for the network:

- the scheme looks the message's URL up among the keys; when it is missing it calls
  ``keys.want(url)``, which checks the URL against the declaration (https, an allowed
  host, the suffix; nothing else is ever fetched), queues it and wakes the source's
  background refresher; the request is refused (``no_active_key``: SNS retries it);
- the refresher fetches queued URLs on its own thread: TLS verified (``cafile`` or the
  system's CAs), no redirect followed, a time-out, at most ``MAX_DOCUMENT`` bytes, a PEM
  certificate; a URL that fails is not retried for ``RETRY_AFTER`` seconds and never
  makes the other keys fail (a URL an attacker names cannot evict good certificates);
- at most ``max_keys`` certificates are kept (the oldest go first), at most
  ``MAX_PENDING`` URLs wait;
- ``keys.visit(url)`` queues a GET of an SNS ``SubscribeURL`` (a confirmation the route
  opted in to), made by the same thread, with the same host rules.

The key set a remote source hands out is never empty for the guard (``RemoteKeySet``):
a missing key is the scheme's to ask for, not a reason to refuse before looking.
"""

from __future__ import annotations

import ssl
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from webhook_guard._http import read_within
from webhook_guard.core.credentials import RemoteKeys
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.keysources import DEFAULT_GRACE, KeySource, Scheduler
from webhook_guard.observability import logger

__all__ = ("MAX_DOCUMENT", "RemoteKeySet", "RemoteKeySource", "remote_source")

#: The largest certificate document read (an SNS certificate is about 2 KB).
MAX_DOCUMENT = 64 * 1024
#: Most URLs waiting to be fetched or visited.
MAX_PENDING = 16
#: Seconds before a URL that failed is fetched again.
RETRY_AFTER = 60.0
#: Seconds one fetch may take.
TIMEOUT = 5.0
#: Seconds between two looks at a healthy remote source (queued URLs wake it at once).
INTERVAL = 60.0
_PEM = b"-----BEGIN CERTIFICATE-----"

Fetch = Callable[[str], bytes]


class RemoteKeySet(KeySet):
    """The certificates fetched so far (key id = URL), with the source's callbacks.

    ``want(url)``: queue ``url`` for fetching; False when the declaration does not allow
    it. ``visit(url)``: queue a GET of an SNS ``SubscribeURL``; False when not allowed.
    ``verified(url)``: the certificate at ``url`` verified a message (it is evicted last).
    """

    want: Callable[[str], bool]
    visit: Callable[[str], bool]
    verified: Callable[[str], None]

    def __bool__(self) -> bool:
        return True  # never "no key": the scheme asks for the one it needs


class _Remote:
    """The one part of a ``RemoteKeySource``: fetched certificates and queued URLs."""

    def __init__(self, spec: RemoteKeys, fetch: Fetch, clock: Callable[[], float]) -> None:
        self.spec = spec
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, bytes] = {}
        self._pending: dict[str, None] = {}
        self._visits: dict[str, None] = {}
        self._failed: dict[str, float] = {}
        #: Certificates that verified a message. When the cache is full the others go
        #: first: URLs named by unverified requests must not push out the genuine one.
        self._verified: set[str] = set()
        self.secrets: tuple[Secret, ...] = ()
        self.wake: Callable[[], None] = lambda: None
        #: The scheme's test of one certificate (``RemoteKeySource.validate``).
        self.check: Callable[[bytes], str | None] | None = None

    def busy(self) -> bool:
        return bool(self._pending or self._visits)

    def want(self, url: str) -> bool:
        if not self.spec.allows(url):
            return False
        with self._lock:
            if url in self._certs or url in self._pending or len(self._pending) >= MAX_PENDING:
                return True
            if self._failed.get(url, 0.0) > self._clock():
                return True  # failed lately: not fetched again yet
            self._pending[url] = None
        self.wake()
        return True

    def verified(self, url: str) -> None:
        if url not in self._verified:
            with self._lock:
                if url in self._certs:
                    self._verified.add(url)

    def visit(self, url: str) -> bool:
        if not subscribe_url_allowed(self.spec, url):
            return False
        with self._lock:
            if len(self._visits) < MAX_PENDING:
                self._visits[url] = None
        self.wake()
        return True

    def load(self) -> tuple[Secret, ...]:
        with self._lock:
            pending, self._pending = list(self._pending), {}
            visits, self._visits = list(self._visits), {}
        for url in pending:
            try:
                document = self._fetch(url)
                if not document.lstrip().startswith(_PEM):
                    raise ValueError("not a PEM certificate")
                if self.check is not None and self.check(document) is not None:
                    raise ValueError("a certificate the scheme cannot use")
            except Exception as exc:  # one URL's failure never fails the others
                if len(self._failed) >= 1024:  # bounded: URLs an attacker names
                    self._failed.clear()
                self._failed[url] = self._clock() + RETRY_AFTER
                _log(url, "webhook_guard.remote_key_failed", type(exc).__name__)
                continue
            self._failed.pop(url, None)
            with self._lock:
                self._certs[url] = document
                while len(self._certs) > self.spec.max_keys:
                    # The oldest certificate that never verified a message, else the oldest.
                    victim = next((u for u in self._certs if u not in self._verified), None)
                    victim = next(iter(self._certs)) if victim is None else victim
                    del self._certs[victim]
                    self._verified.discard(victim)
        for url in visits:
            try:
                self._fetch(url)
            except Exception as exc:  # the URL's query holds the token: never logged
                _log(
                    url.split("?", 1)[0],
                    "webhook_guard.subscription_confirm_failed",
                    type(exc).__name__,
                )
            else:
                _log(url.split("?", 1)[0], "webhook_guard.subscription_confirmed", None)
        if pending:
            self.secrets = tuple(Secret(v, key_id=u) for u, v in self._certs.items())
        return self.secrets


def subscribe_url_allowed(spec: RemoteKeys, url: object) -> bool:
    """An SNS ``SubscribeURL``: https, an allowed host, path ``/``, one
    ``Action=ConfirmSubscription``, a ``TopicArn`` and a ``Token``."""
    if not isinstance(url, str) or len(url) > 2048 or not url.isascii():
        return False
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, strict_parsing=True, max_num_fields=8)
    except ValueError:
        return False
    names = [k for k, _ in query]
    return (
        parts.scheme == "https"
        and parts.path == "/"
        and not parts.fragment
        and "@" not in parts.netloc
        and spec.host_allowed(parts.netloc)
        and ("Action", "ConfirmSubscription") in query
        and len(names) == len(set(names))
        and {"TopicArn", "Token"} <= set(names)
    )


class RemoteKeySource(KeySource):
    """A ``KeySource`` whose keys are fetched from allowed URLs on demand (see the module
    docstring); ``refresh_now()`` fetches what is queued on the calling thread."""

    __slots__ = ("_remote",)

    def __init__(
        self,
        remote: _Remote,
        *,
        clock: Callable[[], float] = time.monotonic,
        scheduler: Scheduler | None = None,
        route: str = "",
    ) -> None:
        self._remote = remote
        super().__init__(
            parts=[remote],  # type: ignore[list-item]
            interval=INTERVAL,
            grace=DEFAULT_GRACE,
            clock=clock,
            scheduler=scheduler,
            route=route,
        )
        ref = weakref.ref(self)
        remote.wake = lambda: _wake(ref)

    def validate(self, check: Callable[[bytes], str | None], *, name_keys: bool = True) -> None:
        """The certificates fetched at start-up must pass ``check`` (E002). Later, each
        fetched document must pass it on its own: one that does not is a failed fetch of
        its URL (retried later), never a failed refresh of every certificate held."""
        super().validate(check, name_keys=name_keys)
        self.check, self._remote.check = None, check

    def _flatten(self, slots: Sequence[tuple[tuple[Secret, ...], Any]]) -> KeySet:
        keys = RemoteKeySet(s for secrets, _ in slots for s in secrets)
        keys.want = self._remote.want
        keys.visit = self._remote.visit
        keys.verified = self._remote.verified
        return keys

    def _due_in(self) -> float:
        return 0.0 if self._remote.busy() else super()._due_in()


def _wake(ref: weakref.ref[RemoteKeySource]) -> None:
    source = ref()
    if source is not None:
        source._wake()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an error: only the allowed URL itself is read


def https_fetcher(cafile: str | None) -> Fetch:
    """GET over https only, TLS verified, no redirect, ``MAX_DOCUMENT`` read within
    ``TIMEOUT`` in all."""
    context = ssl.create_default_context(cafile=cafile)
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )

    def fetch(url: str) -> bytes:
        if not url.startswith("https://"):
            raise ValueError("https only")
        deadline = time.monotonic() + TIMEOUT
        with opener.open(url, timeout=TIMEOUT) as response:  # https only, an allowed URL
            if response.status != 200:
                raise urllib.error.HTTPError(
                    url, response.status, "not 200", response.headers, None
                )
            return read_within(response, deadline, MAX_DOCUMENT)

    return fetch


def remote_source(
    spec: RemoteKeys,
    *,
    route: str,
    clock: Callable[[], float] = time.monotonic,
    scheduler: Scheduler | None = None,
    fetch: Fetch | None = None,
) -> RemoteKeySource:
    """The source of a ``RemoteKeys`` declaration; its ``urls`` are fetched now (a failure
    is a ``ConfigurationError``, E002)."""
    remote = _Remote(spec, fetch or https_fetcher(spec.cafile), clock)
    for url in spec.urls:
        if not remote.want(url):
            raise ConfigurationError(
                f"route {route!r}: {url!r} is not an allowed key URL", code="webhook_guard.E002"
            )
    if spec.urls:
        remote.load()
        missing = [u for u in spec.urls if all(s.key_id != u for s in remote.secrets)]
        if missing:
            raise ConfigurationError(
                f"route {route!r}: cannot fetch {missing[0]!r}", code="webhook_guard.E002"
            )
    return RemoteKeySource(remote, clock=clock, scheduler=scheduler, route=route)


def _log(url: str, event: str, error: str | None) -> None:
    if error is None:
        logger.info("webhook_guard: visited %s", url, extra={"webhook_guard": {"event": event}})
        return
    logger.warning(
        "webhook_guard: cannot fetch %s (%s); retried after %.0f s",
        url,
        error,
        RETRY_AFTER,
        extra={"webhook_guard": {"event": event, "url": url, "error": error}},
    )
