"""Resolve secret references into keys: literals, ``env:NAME``, ``file:/path``, callables.

This is where secrets are read (I/O), which is why it lives outside ``core``.

- Literals and ``env:`` are read once, at start-up.
- ``file:`` (Docker and Kubernetes secret files) and callables (vaults, KMS) are read once
  at start-up, synchronously, so a configuration mistake raises there. After that they are
  refreshed in the background, never on the request path: ``KeySource.current()`` only
  returns the last good keys (stale-while-revalidate).
- Refresh intervals: a file is checked for changes every second
  (``FILE_CHECK_INTERVAL``); a callable is called every ``DEFAULT_REFRESH`` seconds, or
  every ``ttl`` seconds when wrapped in ``cached(fn, ttl=...)`` (``vault_kv`` is).
- One refresh at a time per source, on one daemon thread per source and process, started
  by the first request the process serves (so after a fork: gunicorn ``--preload`` too),
  never at import time.
- A failed refresh is retried with exponential back-off (1 s, 2 s, 4 s ... capped at 60 s).
  Meanwhile the last good keys keep verifying for ``grace`` seconds (5 minutes by default),
  counted from the first attempt that did not succeed (a refresh that hangs counts from
  its start); then the source yields no key and requests are refused (fail closed) until
  a refresh succeeds again.
- ``Key`` adds an id and a validity window (``not_before``/``not_after``) to a reference.
- A ``core.credentials.RemoteKeys`` declaration (AWS SNS's signing certificates) becomes a
  source fetching the keys the sender names, on demand, in the background, from allowed
  https URLs only: see ``webhook_guard.remotekeys``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from webhook_guard.core.credentials import RemoteKeys
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.scheme import Scheme, SecretSpec
from webhook_guard.exceptions import ConfigurationError
from webhook_guard.observability import logger

__all__ = (
    "BACKOFF_CAP",
    "DEFAULT_GRACE",
    "DEFAULT_REFRESH",
    "FILE_CHECK_INTERVAL",
    "Cached",
    "Key",
    "KeySource",
    "Scheduler",
    "bind_credentials",
    "cached",
    "is_literal",
    "parse_instant",
    "resolve",
    "resolve_one",
    "thread_scheduler",
)

#: Seconds a failing run-time source keeps serving its last good value.
DEFAULT_GRACE = 300.0
#: Seconds between two checks of a secret file for changes.
FILE_CHECK_INTERVAL = 1.0
#: Seconds between two calls of a secret callable not wrapped in ``cached``.
DEFAULT_REFRESH = 10.0
#: First retry delay after a failed refresh; doubled per failure up to ``BACKOFF_CAP``.
BACKOFF_BASE = 1.0
#: Longest delay between two attempts while a source is failing.
BACKOFF_CAP = 60.0
#: Shortest refresh interval (a ``cached`` ttl below it is raised to it).
MIN_REFRESH = 0.1

Clock = Callable[[], float]
#: Starts the background refresh of a source in the current process and returns a
#: function that asks for an early refresh (the request path calls it when one is overdue).
Scheduler = Callable[["KeySource"], Callable[[], None]]


def parse_instant(value: Any, *, what: str = "date") -> float | None:
    """Epoch seconds from a datetime, date, number or ISO 8601 string (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a date, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO 8601 date") from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return float(value.timestamp())
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).timestamp()
    raise ValueError(f"{what}: expected a date, not {type(value).__name__}")


class Key:
    """A secret reference with a key id and an optional validity window.

    During a rotation list both keys; the old one stops verifying at its ``not_after``
    without a restart::

        github(secret=[
            Key("env:GH_SECRET_2026_11", id="2026-11", created="2026-11-01"),
            Key("env:GH_SECRET_2026_08", id="2026-08", not_after="2026-11-15T00:00:00Z"),
        ])

    :param secret: a literal, ``env:NAME`` or ``file:/path`` reference.
    :param id: the key id reported in verdicts and logs (default: derived from the reference).
    :param not_before: the key is not accepted before this instant.
    :param not_after: the key is refused from this instant on.
    :param created: when the key was made (``webhook-guard check`` reports its age).
    """

    __slots__ = ("created", "id", "not_after", "not_before", "secret")

    def __init__(
        self,
        secret: str | bytes,
        *,
        id: str | None = None,
        not_before: Any = None,
        not_after: Any = None,
        created: Any = None,
    ) -> None:
        self.secret = secret
        self.id = id
        self.not_before = parse_instant(not_before, what="not_before")
        self.not_after = parse_instant(not_after, what="not_after")
        self.created = parse_instant(created, what="created")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Key:
        unknown = set(data) - {"secret", "id", "not_before", "not_after", "created"}
        if unknown or "secret" not in data:
            raise ValueError(
                f"a key needs 'secret' and may have id/not_before/not_after/created (got {sorted(data)})"
            )
        return cls(
            data["secret"],
            id=data.get("id"),
            not_before=data.get("not_before"),
            not_after=data.get("not_after"),
            created=data.get("created"),
        )

    def __repr__(self) -> str:
        shown = self.secret if is_reference(self.secret) else "***"
        return f"Key({shown!r}, id={self.id!r})"


def is_reference(ref: object) -> bool:
    return isinstance(ref, str) and ref.startswith(("env:", "file:"))


def is_literal(ref: object) -> bool:
    """True for a literal secret (not ``env:``/``file:``, not a callable)."""
    if isinstance(ref, Key):
        return is_literal(ref.secret)
    if isinstance(ref, Mapping):
        return is_literal(ref.get("secret"))
    return isinstance(ref, (str, bytes)) and not is_reference(ref)


# -- what a dynamic source is made of -----------------------------------------------------


class _Fixed:
    """A literal or ``env:`` key next to file keys: never changes."""

    __slots__ = ("secrets",)

    def __init__(self, secret: Secret) -> None:
        self.secrets = (secret,)

    def load(self) -> tuple[Secret, ...]:
        return self.secrets


class _File:
    """A ``file:`` key: re-read when the file's stamp (mtime, size, inode) changes."""

    __slots__ = ("_stamp", "meta", "path", "secrets")

    def __init__(self, secret: Secret, path: str, meta: dict[str, Any]) -> None:
        self.secrets = (secret,)
        self.path = path
        self.meta = meta
        self._stamp = _file_stamp(path)

    def load(self) -> tuple[Secret, ...]:
        stamp = _file_stamp(self.path)
        if stamp != self._stamp:
            data = _read_file(self.path)
            self.secrets = (Secret(data, **self.meta),)
            self._stamp = stamp
        return self.secrets


class _Call:
    """A callable returning the current value(s): a string, a list, or ``{key_id: value}``."""

    __slots__ = ("_raw", "fn", "secrets")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self._raw: Any = None
        self.secrets: tuple[Secret, ...] = ()

    def load(self) -> tuple[Secret, ...]:
        raw = _frozen(self.fn())
        if self.secrets and raw == self._raw:
            return self.secrets  # unchanged: keep the Secret objects and their HMAC states
        secrets = tuple(_literal_keys(raw, prefix="callable"))
        if not secrets:
            raise ValueError("no key")
        self._raw, self.secrets = raw, secrets
        return secrets


_Part = _Fixed | _File | _Call
#: One part's keys and since when it has been failing (None: it is not).
_Slot = tuple[tuple[Secret, ...], "float | None"]


class _State:
    """A snapshot the request path reads with one attribute access (replaced, not changed,
    by a refresh; only ``expired_noted`` is set, so an outage is logged once)."""

    __slots__ = ("deadline", "expired_noted", "failures", "keys", "next_at", "slots")

    def __init__(
        self, slots: tuple[_Slot, ...], keys: KeySet, next_at: float, failures: int, grace: float
    ) -> None:
        self.slots = slots
        self.keys = keys
        self.next_at = next_at
        self.failures = failures
        self.deadline = min((t + grace for _, t in slots if t is not None), default=math.inf)
        self.expired_noted = False

    def degraded(self, now: float, grace: float) -> KeySet:
        """The keys of the parts still within their grace period."""
        return KeySet(
            s for secrets, t in self.slots if t is None or now - t <= grace for s in secrets
        )


class InvalidSecret(Exception):
    """A refreshed value the route's scheme cannot use (logged by this name only)."""


class KeySource:
    """The current ``KeySet`` of a route (see the module docstring for the rules).

    ``current()`` is what the guard calls once per request. It never waits for a refresh:
    it returns the last good keys, asks the background refresher for an early refresh when
    one is overdue, and returns no key once the source has failed for longer than ``grace``.

    :param static: the keys of a source that never changes (literals, ``env:``).
    :param parts: the parts of a refreshed source (files, a callable), read at start-up.
    :param interval: seconds between two refreshes of a healthy source.
    :param grace: seconds a failing source keeps serving its last good keys.
    :param clock: seconds; the guard's clock (injected in tests).
    :param scheduler: starts the background refresher (``thread_scheduler`` by default);
        tests pass one that starts nothing and drive refreshes with ``refresh_now()``.
    :param route: the route pattern, for logs.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_grace",
        "_interval",
        "_lock",
        "_lock_pid",
        "_parts",
        "_pid",
        "_scheduler",
        "_state",
        "_static",
        "_wake",
        "check",
        "route",
    )

    def __init__(
        self,
        static: KeySet | None = None,
        *,
        parts: Sequence[_Part] = (),
        interval: float = DEFAULT_REFRESH,
        grace: float = DEFAULT_GRACE,
        clock: Clock = time.monotonic,
        scheduler: Scheduler | None = None,
        route: str = "",
    ) -> None:
        self._static = static
        self._parts = tuple(parts)
        self._interval = max(float(interval), MIN_REFRESH)
        self._grace = float(grace)
        self._clock = clock
        self._scheduler = scheduler or thread_scheduler
        self.route = route
        #: ``check(value) -> problem or None``: a refreshed value with a problem (malformed
        #: for the route's scheme) is a failed refresh: the last good keys stay in use.
        self.check: Callable[[bytes], str | None] | None = None
        self._lock = threading.Lock()  # held while a refresh runs: one in flight per source
        self._lock_pid = _pid
        self._pid: int | None = None  # the process whose refresher is running
        self._wake: Callable[[], None] = _nothing
        slots = tuple((p.secrets, None) for p in self._parts)
        self._state = _State(slots, self._flatten(slots), clock() + self._interval, 0, self._grace)

    def current(self) -> KeySet:
        """The keys to verify with now; no keys once the source is past its grace period."""
        static = self._static
        if static is not None:
            return static
        if self._pid != _pid:
            self._start()
        state = self._state
        now = self._clock()
        if now >= state.next_at and not self._lock.locked():
            self._wake()
        if now > state.deadline:
            if not state.expired_noted:
                state.expired_noted = True
                _log_expired(self)
            return state.degraded(now, self._grace)
        return state.keys

    @property
    def loaded_keys(self) -> KeySet:
        """The keys read so far, without starting the background refresher: what start-up
        checks look at (``current()`` starts the refresher, which belongs to the process
        serving requests, not to a ``--preload`` master or an import)."""
        return self._static if self._static is not None else self._state.keys

    def validate(self, check: Callable[[bytes], str | None], *, name_keys: bool = True) -> None:
        """Every key read so far must pass ``check`` (``ConfigurationError`` E002 naming the
        route, and the key's id with ``name_keys``, never its value); the values later
        refreshes bring must too, or the refresh fails and the last good keys stay."""
        for key in self.loaded_keys:
            problem = check(key.value)
            if problem is not None:
                which = f"key {key.key_id!r}: " if name_keys else ""
                raise ConfigurationError(
                    f"route {self.route!r}: {which}{problem}", code="webhook_guard.E002"
                )
        if self._static is None:
            self.check = check

    @property
    def static_keys(self) -> KeySet | None:
        """The keys of a source that never changes (literals, ``env:``), else None."""
        return self._static

    @property
    def refreshing(self) -> bool:
        """True for a source refreshed in the background (files, callables)."""
        return self._static is None

    @property
    def next_refresh(self) -> float:
        """When the next refresh is due, on the source's clock (``inf`` for a fixed source)."""
        return math.inf if self._static is not None else self._state.next_at

    @property
    def failures(self) -> int:
        """Failed refreshes in a row (0 when the last one succeeded)."""
        return 0 if self._static is not None else self._state.failures

    def refresh_now(self) -> bool:
        """Refresh on the calling thread; True when it succeeded.

        Returns False at once, calling nothing, when a refresh is already in flight.
        """
        lock = self._lock
        if self._static is not None or not lock.acquire(blocking=False):
            return False
        try:
            return self._refresh()
        finally:
            lock.release()

    def _due_in(self) -> float:
        """Seconds until the next refresh (<= 0: due now); a clock set back counts as due."""
        delay = self._state.next_at - self._clock()
        return 0.0 if delay > max(self._interval, BACKOFF_CAP) else delay

    def _refresh_if_due(self) -> None:
        with self._lock:  # waits for a refresh_now() in flight, then looks again
            if self._due_in() <= 0:
                self._refresh()

    def _refresh(self) -> bool:
        before = self._state
        started = self._clock()
        # While the attempt runs its start counts as the start of trouble, so a refresh that
        # hangs fails closed after the grace period like one that raises.
        attempt = tuple((s, started if t is None else t) for s, t in before.slots)
        self._state = _State(attempt, before.keys, before.next_at, before.failures, self._grace)
        self._state.expired_noted = before.expired_noted
        slots: list[_Slot] = []
        error: str | None = None
        for part, (secrets, trouble) in zip(self._parts, before.slots, strict=True):
            try:
                loaded = part.load()
                check = self.check
                if loaded is not secrets and check is not None and any(
                    check(key.value) is not None for key in loaded
                ):
                    raise InvalidSecret  # by name: the value is never put in the message
                slots.append((loaded, None))
            except Exception as exc:  # any failure of user code or I/O keeps the last good keys
                error = error or type(exc).__name__
                slots.append((secrets, started if trouble is None else trouble))
        new = tuple(slots)
        same = all(a[0] is b[0] for a, b in zip(new, before.slots, strict=True))
        keys = before.keys if same else self._flatten(new)
        failures = 0 if error is None else before.failures + 1
        now = self._clock()
        next_at = now + (self._interval if error is None else self._backoff(failures))
        state = _State(new, keys, next_at, failures, self._grace)
        state.expired_noted = before.expired_noted and error is not None  # once per outage
        self._state = state
        if error is not None and failures == 1:
            _log_failed(self, error)
        elif error is None and before.failures:
            _log_recovered(self, before.failures)
        return error is None

    def _flatten(self, slots: Sequence[_Slot]) -> KeySet:
        """The key set of ``slots`` (a remote source hands out its own kind)."""
        return _flatten(slots)

    def _backoff(self, failures: int) -> float:
        cap = min(BACKOFF_CAP, max(self._grace / 4, BACKOFF_BASE))
        delay = min(cap, BACKOFF_BASE * 2.0 ** min(failures - 1, 32))
        # Jitter spreads the retries of many workers after a shared vault outage.
        return delay * (0.5 + 0.5 * random.random())  # noqa: S311 - not for security

    def _start(self) -> None:
        with _START_LOCK:
            pid = _pid
            if self._pid == pid:
                return
            if self._lock_pid != pid:
                # A refresh in flight in the parent did not survive the fork: its lock would
                # stay held for ever.
                self._lock = threading.Lock()
                self._lock_pid = pid
            try:
                self._wake = self._scheduler(self)
            except RuntimeError:  # no new thread now (interpreter shutting down): next time
                return
            self._pid = pid


def thread_scheduler(source: KeySource) -> Callable[[], None]:
    """The default ``Scheduler``: one daemon thread refreshing ``source`` when it is due.

    The thread holds only a weak reference and stops once the source is garbage.
    """
    wake = threading.Event()
    weakref.finalize(source, wake.set)
    thread = threading.Thread(
        target=_refresh_loop,
        args=(weakref.ref(source), wake),
        name=f"webhook_guard keys {source.route}",
        daemon=True,
    )
    thread.start()
    return wake.set


def _refresh_loop(ref: weakref.ref[KeySource], wake: threading.Event) -> None:
    while True:
        wake.clear()
        source = ref()
        if source is None:
            return
        delay = source._due_in()
        if delay <= 0:
            source._refresh_if_due()
            del source
            continue
        del source  # hold no reference while waiting, so the source can be collected
        wake.wait(delay)


def _nothing() -> None:
    return None


_START_LOCK = threading.Lock()
# This process's id, kept current by a fork hook: os.getpid() is a system call, and
# current() compares it on every request to notice that it runs in a new worker.
_pid = os.getpid()


def _after_fork() -> None:
    global _START_LOCK, _pid
    _START_LOCK = threading.Lock()  # a thread of the parent may have held it
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):  # every platform with fork()
    os.register_at_fork(after_in_child=_after_fork)


def _flatten(slots: Sequence[_Slot]) -> KeySet:
    return KeySet(s for secrets, _ in slots for s in secrets)


def _frozen(value: Any) -> Any:
    """A value to compare with the next call's (a mutated list or dict must not look equal)."""
    if isinstance(value, Mapping):
        return dict(value.items())
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return tuple(value)
    return value


def _log_failed(source: KeySource, error: str) -> None:
    logger.warning(
        "webhook_guard: the secret source of route %s failed to refresh (%s); its last good"
        " keys verify for up to %.0f s while it is retried",
        source.route,
        error,
        source._grace,
        extra={
            "webhook_guard": {
                "event": "webhook_guard.keysource_failed",
                "route": source.route,
                "error": error,
            }
        },
    )


def _log_expired(source: KeySource) -> None:
    logger.error(
        "webhook_guard: the secret source of route %s has not refreshed for longer than its"
        " grace period; the route refuses requests (no_active_key) until it recovers",
        source.route,
        extra={
            "webhook_guard": {"event": "webhook_guard.keysource_expired", "route": source.route}
        },
    )


def _log_recovered(source: KeySource, failures: int) -> None:
    logger.info(
        "webhook_guard: the secret source of route %s refreshed again after %d failures",
        source.route,
        failures,
        extra={
            "webhook_guard": {"event": "webhook_guard.keysource_recovered", "route": source.route}
        },
    )


# -- cached ---------------------------------------------------------------------------------


class Cached:
    """A callable secret source with a refresh interval (made by ``cached``)."""

    __slots__ = ("_lock", "_state", "clock", "grace", "source", "ttl")

    def __init__(
        self, source: Callable[[], Any], *, ttl: float, grace: float | None, clock: Clock
    ) -> None:
        if not callable(source):
            raise TypeError("cached() needs a callable")
        if not ttl >= 0 or (grace is not None and not grace >= 0):  # NaN fails too
            raise ValueError("ttl and grace must be >= 0")
        self.source = source
        self.ttl = float(ttl)
        self.grace = grace
        self.clock = clock
        self._state: tuple[float, Any] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        """The value, calling the source when the last one is ``ttl`` seconds old."""
        state = self._state
        if state is not None and self.clock() - state[0] < self.ttl:
            return state[1]
        with self._lock:
            state = self._state
            if state is not None and self.clock() - state[0] < self.ttl:
                return state[1]
            return self.refresh()

    def refresh(self) -> Any:
        """Call the source now and keep its value (what the background refresh does)."""
        value = self.source()
        self._state = (self.clock(), value)
        return value

    def __repr__(self) -> str:
        return f"cached({getattr(self.source, '__qualname__', 'source')}, ttl={self.ttl:g})"


def cached(
    source: Callable[[], Any],
    *,
    ttl: float = 60.0,
    grace: float | None = None,
    clock: Clock = time.monotonic,
) -> Cached:
    """A secret source refreshed every ``ttl`` seconds (for vaults and KMS).

    - As a route's secret (``github(secret=cached(fetch, ttl=60))``): ``source`` is called
      once at start-up, then every ``ttl`` seconds on a background thread, never on the
      request path. A failure is retried with back-off while the last good value keeps
      verifying for ``grace`` seconds (default ``DEFAULT_GRACE``), then the route fails
      closed until ``source`` answers again.
    - Called directly, it returns the last value, calling ``source`` (on the calling
      thread) when that value is ``ttl`` seconds old; a failure is raised.

    :param source: returns a string, a list of strings (newest first) or ``{key_id: value}``.
    :param ttl: seconds between two calls of ``source`` (at least 0.1 s in the background).
    :param grace: seconds a failing source keeps its last good value (None: the default).
    :param clock: seconds, for the direct-call cache (injected in tests).
    """
    return Cached(source, ttl=ttl, grace=grace, clock=clock)


def _literal_keys(values: Any, *, prefix: str) -> list[Secret]:
    if isinstance(values, (str, bytes)):
        return [Secret(values, key_id=f"{prefix}#0")]
    if isinstance(values, Mapping):
        return [Secret(v, key_id=str(k)) for k, v in values.items()]
    if isinstance(values, Sequence):
        return [Secret(v, key_id=f"{prefix}#{i}") for i, v in enumerate(values)]
    raise TypeError(f"unsupported secret value of type {type(values).__name__}")


def _file_stamp(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _read_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    data = data.rstrip(b"\r\n")  # secret files usually end with a newline
    if not data.strip():
        raise ValueError("empty secret file")
    return data


def resolve_one(ref: str | bytes, *, route: str, what: str = "secret") -> bytes:
    """Read one literal, ``env:`` or ``file:`` reference now (for extra credentials).

    Raises ``ConfigurationError`` naming the route and the reference, never the value.
    """
    return _read_ref(ref, route=route, index=0, key_id=what).value


def _read_ref(ref: str | bytes, *, route: str, index: int, key_id: str | None) -> Secret:
    def fail(what: str, code: str = "webhook_guard.E002") -> ConfigurationError:
        return ConfigurationError(f"route {route!r}: {what}", code=code)

    if isinstance(ref, bytes):
        if not ref.strip():
            raise fail(f"secret #{index} is empty")
        return Secret(ref, key_id=key_id or f"#{index}")
    if not isinstance(ref, str):
        raise fail(f"secret #{index} must be a string reference")
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise fail(f"environment variable {name!r} (secret {ref!r}) is not set")
        if not value.strip():
            raise fail(f"environment variable {name!r} (secret {ref!r}) is empty")
        return Secret(value, key_id=key_id or ref)
    if ref.startswith("file:"):
        path = ref[5:]
        try:
            data = _read_file(path)
        except OSError as exc:
            raise fail(f"cannot read secret file {path!r} ({exc.strerror})") from None
        except ValueError:
            raise fail(f"secret file {path!r} is empty") from None
        return Secret(data, key_id=key_id or ref)
    if not ref.strip():
        raise fail(f"secret #{index} is empty")
    return Secret(ref, key_id=key_id or f"#{index}")


def _part(ref: Any, *, route: str, index: int, key_id: str | None) -> _Fixed | _File:
    meta: dict[str, Any] = {"not_before": None, "not_after": None, "created": None}
    if isinstance(ref, Mapping):
        try:
            ref = Key.from_mapping(ref)
        except ValueError as exc:
            raise ConfigurationError(
                f"route {route!r}: key #{index}: {exc}", code="webhook_guard.E002"
            ) from None
    if isinstance(ref, Key):
        key_id = ref.id or key_id
        meta.update(not_before=ref.not_before, not_after=ref.not_after, created=ref.created)
        ref = ref.secret
    secret = _read_ref(ref, route=route, index=index, key_id=key_id)
    try:
        secret = Secret(secret.value, key_id=secret.key_id, **meta)
    except ValueError as exc:
        raise ConfigurationError(f"route {route!r}: {exc}", code="webhook_guard.E005") from None
    meta["key_id"] = secret.key_id
    if isinstance(ref, str) and ref.startswith("file:"):
        try:
            return _File(secret, ref[5:], meta)
        except OSError as exc:
            raise ConfigurationError(
                f"route {route!r}: cannot read secret file {ref[5:]!r} ({exc.strerror})",
                code="webhook_guard.E002",
            ) from None
    return _Fixed(secret)


def bind_credentials(
    scheme: Scheme,
    *,
    route: str,
    grace: float = DEFAULT_GRACE,
    clock: Clock = time.monotonic,
    scheduler: Scheduler | None = None,
) -> None:
    """Resolve the credentials ``scheme`` declares besides ``secret`` (a verification
    token, an AES key, a receive id: see ``core.scheme.Credential``) and hand them to it.

    The same references and rotation as ``resolve``: literals, ``env:``, ``file:``
    (re-read when they change), callables and lists, refreshed in the background. Called
    by the guard at start-up; a missing, empty or malformed value is a
    ``ConfigurationError`` (E002) naming the route and the credential, never its value.
    An opt-in legacy scheme (``Scheme.legacy``) is warned about here.
    """
    for name, ref in scheme.references().items():
        source = resolve(ref, route=route, grace=grace, clock=clock, scheduler=scheduler)
        source.validate(functools.partial(scheme.credential_problem, name), name_keys=False)
        static = source.static_keys
        scheme.bind(name, static if static is not None else source)
    if scheme.legacy:
        from webhook_guard.observability import warn_config

        warn_config(
            f"webhook_guard: route {route!r} uses {scheme.name}, a legacy scheme: {scheme.legacy}",
            event="webhook_guard.legacy_scheme",
            route=route,
            stacklevel=4,
        )


def resolve(
    spec: SecretSpec | Key | Sequence[Any],
    *,
    route: str,
    grace: float = DEFAULT_GRACE,
    clock: Clock = time.monotonic,
    scheduler: Scheduler | None = None,
) -> KeySource:
    """Resolve a route's secret specification, raising ``ConfigurationError`` at start-up.

    Files and callables are read here, once, on the calling thread; afterwards they are
    refreshed in the background (see the module docstring).

    :param spec: a reference, a ``Key``, a list of them (newest first), a mapping of key id
        to reference, or a callable returning the current value(s) (``cached(fn, ttl=...)``
        to choose its refresh interval).
    :param route: the route pattern, named in error messages (never the secret).
    :param grace: seconds a failing run-time source keeps its last good value (a
        ``cached`` source's own ``grace`` wins).
    :param clock: seconds; the guard's clock (injected in tests).
    :param scheduler: starts the background refresh (``thread_scheduler`` by default).
    """
    if isinstance(spec, RemoteKeys):  # fetched from the URLs the sender names (AWS SNS)
        from webhook_guard.remotekeys import remote_source

        return remote_source(spec, route=route, clock=clock, scheduler=scheduler)
    if spec is None or (isinstance(spec, (list, tuple, dict)) and not spec):
        raise ConfigurationError(
            f"route {route!r} has no secret; mark it unsigned=True to accept unsigned requests",
            code="webhook_guard.E003",
        )
    if callable(spec) and not isinstance(spec, Key):
        interval, fn = DEFAULT_REFRESH, spec
        if isinstance(spec, Cached):
            interval, fn = spec.ttl, spec.refresh
            grace = grace if spec.grace is None else spec.grace
        part = _Call(fn)
        try:
            part.load()
        except Exception as exc:
            raise ConfigurationError(
                f"route {route!r}: the secret callable returned no usable secret"
                f" ({type(exc).__name__})",
                code="webhook_guard.E002",
            ) from None
        return KeySource(
            parts=[part],
            interval=interval,
            grace=grace,
            clock=clock,
            scheduler=scheduler,
            route=route,
        )
    items: list[tuple[str | None, Any]]
    if isinstance(spec, (str, bytes, Key)):
        items = [(None, spec)]
    elif isinstance(spec, Mapping) and not (
        "secret" in spec and isinstance(spec.get("secret"), (str, bytes))
    ):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, Mapping):
        items = [(None, spec)]
    elif isinstance(spec, Iterable):
        items = [(None, v) for v in spec]
    else:  # a number, a boolean...: a configuration typo, not a crash
        raise ConfigurationError(
            f"route {route!r}: a secret must be a reference ('env:NAME', 'file:/path'), a"
            f" list or a mapping of them, not {type(spec).__name__}",
            code="webhook_guard.E002",
        )
    parts = [_part(ref, route=route, index=i, key_id=kid) for i, (kid, ref) in enumerate(items)]
    ids = [s.key_id for p in parts for s in p.secrets]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(
            f"route {route!r}: key ids repeat: {ids}", code="webhook_guard.E002"
        )
    if any(isinstance(p, _File) for p in parts):
        return KeySource(
            parts=parts,
            interval=FILE_CHECK_INTERVAL,
            grace=grace,
            clock=clock,
            scheduler=scheduler,
            route=route,
        )
    return KeySource(KeySet(s for p in parts for s in p.secrets), route=route)
