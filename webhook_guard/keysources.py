"""Resolve secret references into keys: literals, ``env:NAME``, ``file:/path``, callables.

This is where secrets are read (I/O), which is why it lives outside ``core``.

- Literals and ``env:`` are read once, at start-up.
- ``file:`` (Docker and Kubernetes secret files) is read at start-up and re-read when the
  file changes (checked at most once a second), so a rotated file takes effect without
  a restart.
- A callable is called for every request (wrap it in ``cached`` for a vault or KMS).
- A source that fails at run time keeps serving its last good value for ``grace``
  seconds, then yields no key: requests are refused (fail closed).
- ``Key`` adds an id and a validity window (``not_before``/``not_after``) to a reference.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.scheme import SecretSpec
from webhook_guard.exceptions import ConfigurationError

__all__ = (
    "DEFAULT_GRACE",
    "Key",
    "KeySource",
    "cached",
    "is_literal",
    "parse_instant",
    "resolve",
    "resolve_one",
)

#: Seconds a failing run-time source keeps serving its last good value.
DEFAULT_GRACE = 300.0
#: Seconds between two checks of a secret file for changes.
FILE_CHECK_INTERVAL = 1.0

Clock = Callable[[], float]


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


class _Entry:
    """One key of a route: fixed, or re-read from a file when it changes."""

    __slots__ = ("_checked", "_failed_since", "_lock", "_stamp", "meta", "path", "secret")

    def __init__(self, secret: Secret, path: str | None, meta: dict[str, Any]) -> None:
        self.secret: Secret | None = secret
        self.path = path
        self.meta = meta
        self._stamp = _file_stamp(path) if path else None
        self._checked = 0.0
        self._failed_since: float | None = None
        self._lock = threading.Lock()

    def current(self, now: float, grace: float) -> Secret | None:
        if self.path is None or now - self._checked < FILE_CHECK_INTERVAL:
            return self.secret
        with self._lock:
            self._checked = now
            try:
                stamp = _file_stamp(self.path)
                if stamp != self._stamp:
                    data = _read_file(self.path)
                    self.secret = Secret(data, key_id=self.meta["key_id"], **self._windows())
                    self._stamp = stamp
                self._failed_since = None
            except (OSError, ValueError):
                if self._failed_since is None:
                    self._failed_since = now
                if now - self._failed_since > grace:
                    self.secret = None  # fail closed once the grace period is over
            return self.secret

    def _windows(self) -> dict[str, Any]:
        return {k: self.meta[k] for k in ("not_before", "not_after", "created")}


class KeySource:
    """The current ``KeySet`` of a route (see the module docstring for the rules)."""

    __slots__ = ("_cache", "_clock", "_dynamic", "_entries", "_failed_since", "_grace", "_static")

    def __init__(
        self,
        static: KeySet | None,
        dynamic: Callable[[], Any] | None = None,
        *,
        entries: Sequence[_Entry] = (),
        grace: float = DEFAULT_GRACE,
        clock: Clock = time.monotonic,
    ) -> None:
        self._static = static
        self._dynamic = dynamic
        self._entries = tuple(entries)
        self._grace = grace
        self._clock = clock
        self._cache: tuple[Any, KeySet] | None = None
        self._failed_since: float | None = None

    def current(self) -> KeySet:
        """The keys to verify with now. A source past its grace period yields no keys."""
        if self._static is not None:
            return self._static
        if self._entries:
            now = self._clock()
            secrets = tuple(e.current(now, self._grace) for e in self._entries)
            cached = self._cache
            if cached is not None and cached[0] == secrets:
                return cached[1]
            keys = KeySet(s for s in secrets if s is not None)
            self._cache = (secrets, keys)
            return keys
        return self._call()

    def _call(self) -> KeySet:
        if self._dynamic is None:
            return KeySet(())
        try:
            values = self._dynamic()
            cached = self._cache
            if cached is not None and cached[0] == values:
                keys = cached[1]
            else:
                keys = KeySet(_literal_keys(values, prefix="callable"))
                self._cache = (values, keys)
            if not keys:
                raise ValueError("no key")
        except Exception:
            now = self._clock()
            if self._failed_since is None:
                self._failed_since = now
            if self._cache is not None and now - self._failed_since <= self._grace:
                return self._cache[1]
            return KeySet(())
        self._failed_since = None
        return keys


def cached(
    source: Callable[[], Any], *, ttl: float = 60.0, clock: Clock = time.monotonic
) -> Callable[[], Any]:
    """Call ``source`` at most once every ``ttl`` seconds (for vaults and KMS).

    A failure is raised to the guard, which keeps the last good value for its grace period.
    """
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def current() -> Any:
        now = clock()
        if "value" in state and now - state["at"] < ttl:
            return state["value"]
        with lock:
            if "value" in state and now - state["at"] < ttl:
                return state["value"]
            value = source()
            state["value"], state["at"] = value, now
            return value

    return current


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


def _entry(ref: Any, *, route: str, index: int, key_id: str | None) -> _Entry:
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
    path = ref[5:] if isinstance(ref, str) and ref.startswith("file:") else None
    return _Entry(secret, path, meta)


def resolve(
    spec: SecretSpec | Key | Sequence[Any],
    *,
    route: str,
    grace: float = DEFAULT_GRACE,
    clock: Clock = time.monotonic,
) -> KeySource:
    """Resolve a route's secret specification, raising ``ConfigurationError`` at start-up.

    :param spec: a reference, a ``Key``, a list of them (newest first), a mapping of key id
        to reference, or a callable returning the current value(s).
    :param route: the route pattern, named in error messages (never the secret).
    :param grace: seconds a failing run-time source keeps its last good value.
    """
    if spec is None or (isinstance(spec, (list, tuple, dict)) and not spec):
        raise ConfigurationError(
            f"route {route!r} has no secret; mark it unsigned=True to accept unsigned requests",
            code="webhook_guard.E003",
        )
    if callable(spec) and not isinstance(spec, Key):
        source = KeySource(None, spec, grace=grace, clock=clock)
        if not source.current():
            raise ConfigurationError(
                f"route {route!r}: the secret callable returned no usable secret",
                code="webhook_guard.E002",
            )
        return source
    items: list[tuple[str | None, Any]]
    if isinstance(spec, (str, bytes, Key)):
        items = [(None, spec)]
    elif isinstance(spec, Mapping) and not (
        "secret" in spec and isinstance(spec.get("secret"), (str, bytes))
    ):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, Mapping):
        items = [(None, spec)]
    else:
        items = [(None, v) for v in spec]
    entries = [_entry(ref, route=route, index=i, key_id=kid) for i, (kid, ref) in enumerate(items)]
    ids = [e.meta["key_id"] for e in entries]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(
            f"route {route!r}: key ids repeat: {ids}", code="webhook_guard.E002"
        )
    if any(e.path for e in entries):
        return KeySource(None, entries=entries, grace=grace, clock=clock)
    return KeySource(KeySet(e.secret for e in entries if e.secret is not None))
