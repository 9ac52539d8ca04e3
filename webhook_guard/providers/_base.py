"""A provider is a row; a family implements it once.

- ``Provider``: one row of data (name, family, the family's parameters, window, event
  identity, retry horizon, largest payload, handshake, refusal, documentation, oracle).
  Calling it is the provider's factory: ``stripe(secret="env:STRIPE_SECRET")``.
- ``Family``: the base of every family (``BodyHMAC``, ``SignatureList``, ...). It turns a
  row and the route's options into a configured ``Scheme``: the row's parameters, the
  options a row lets the user choose, the window, the declared credentials and the
  handshake. A family reads its parameters from ``self.spec`` in ``configure``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from webhook_guard.core.keys import KeySet
from webhook_guard.core.request import WebhookRequest
from webhook_guard.core.scheme import Check, Credential, Scheme, SecretSpec, is_reference
from webhook_guard.core.signing import SignedRequest, guess_content_type, join_query
from webhook_guard.core.timestamps import Window
from webhook_guard.core.verdict import Reason

if TYPE_CHECKING:
    from webhook_guard.providers.handshakes import Handshake

__all__ = ("DAY", "HOUR", "MIB", "Family", "Provider", "now_or")

HOUR = 3600.0
DAY = 24 * HOUR
MIB = 1024 * 1024
_VERIFIED = Reason.VERIFIED

S = TypeVar("S", bound="Family")


@dataclass(frozen=True, eq=False)
class Provider(Generic[S]):
    """One provider: a row of data over a family. Calling it builds a route's scheme.

    :param name: the registry name (``from webhook_guard.providers import <name>``).
    :param family: the ``Family`` class that verifies and signs it.
    :param spec: the family's parameters (header names, signed-string template,
        encodings, key decoding...; see each family's docstring).
    :param title: how the provider names itself.
    :param docs: the provider's documentation of the scheme.
    :param window: default seconds a signed timestamp may be old (None: none is signed).
    :param future_window: default seconds it may be ahead (None: ``window``).
    :param max_window: the most ``window`` may be set to.
    :param event_id: where the signed event id sits in the JSON body.
    :param retry_horizon: seconds the provider retries a failed delivery.
    :param max_body: the largest payload the provider documents, in bytes.
    :param handshake: the subscription check the guard answers itself.
    :param refusal_body: whether refusals carry the JSON reason body.
    :param refusal_status: the refusal status when the route sets none (None: 401), or
        one per reason (``{Reason.NO_ACTIVE_KEY: 503}``; the others 401).
    :param choices: options that select parameters: ``{option: {value: spec changes}}``,
        the first value being the default (GitHub's ``algorithm``).
    :param configurable: parameters the route may set (the generic ``hmac``/``token``).
    :param credentials: credentials the row needs besides ``secret`` and the family's.
    :param legacy: for an opt-in legacy scheme, why it is weak (a start-up warning).
    :param oracle: what its tests check it against (an SDK, a published vector).
    :param headers: the README's headers column (default: the family's description).
    :param algorithm: the README's algorithm column (default: the family's description).
    :param notes: the README's extra column.
    """

    name: str
    family: type[S]
    spec: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    docs: str = ""
    window: float | None = None
    future_window: float | None = None
    max_window: float = 86400.0
    event_id: tuple[str, ...] | None = None
    retry_horizon: float | None = None
    max_body: int | None = None
    handshake: Handshake | None = None
    refusal_body: bool = True
    refusal_status: int | Mapping[Reason, int] | None = None
    choices: Mapping[str, Mapping[Any, Mapping[str, Any]]] = field(default_factory=dict)
    configurable: tuple[str, ...] = ()
    credentials: tuple[Credential, ...] = ()
    legacy: str | None = None
    oracle: str = ""
    headers: str = ""
    algorithm: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        # help(), inspect and the test kit see the real keywords of the factory.
        object.__setattr__(self, "__signature__", self._signature())
        object.__setattr__(self, "__doc__", self._doc())

    def __call__(self, *, secret: SecretSpec = None, **options: Any) -> S:
        """The scheme of a route: ``secret`` (a reference, or a list newest first) and
        the provider's options (``window``, a handshake's opt-in, credentials...)."""
        return self.family(self, secret=secret, **options)

    @property
    def __name__(self) -> str:  # a factory's name, as for a function
        return self.name

    def option_names(self) -> tuple[str, ...]:
        """Every keyword the factory takes besides ``secret``."""
        names = [*self.family.options, *self.choices, *self.configurable]
        names += [c.name for c in (*self.family.credentials, *self.credentials)]
        if self.handshake is not None:
            names += self.handshake.option_names()
        if (
            self.window is not None
            or self.family.optional_window
            or "timestamp_header" in self.configurable
        ):
            names += ["window", "future_window"]
        return tuple(dict.fromkeys(n for n in names if n != "secret"))

    def _signature(self) -> inspect.Signature:
        kw = inspect.Parameter.KEYWORD_ONLY
        params = [inspect.Parameter("secret", kw, default=None)]
        params += [inspect.Parameter(n, kw, default=None) for n in self.option_names()]
        return inspect.Signature(params)

    def _doc(self) -> str:
        lines = [f"{self.title or self.name}: {self.algorithm or self.family.__name__}."]
        if self.docs:
            lines.append(f"See {self.docs}")
        return "\n\n".join(lines)

    def __repr__(self) -> str:
        return f"<provider {self.name} ({self.family.__name__})>"


def now_or(timestamp: float | None) -> float:
    """``timestamp``, or the current time for a sign() call that gives none."""
    return time.time() if timestamp is None else float(timestamp)


class Family(Scheme):
    """The base of every family: a scheme configured from a ``Provider`` row.

    Subclasses declare ``options`` (their own keywords), ``credentials`` and implement
    ``configure`` (read ``self.spec``, set up, raise ``ConfigurationError``), ``check``
    and ``sign``.
    """

    #: Keywords every scheme of the family takes, besides the row's.
    options: tuple[str, ...] = ()
    #: Whether a route may set a window where the provider documents none (the signed
    #: timestamp is then only checked when ``window=`` is given).
    optional_window = False
    #: Whether the route verifies with the sender's public key (``sign`` takes the
    #: private key).
    asymmetric = False
    #: The configuration error id for a window out of range.
    window_error = "webhook_guard.E005"

    def __init__(self, row: Provider[Any], *, secret: SecretSpec = None, **options: Any) -> None:
        super().__init__(secret=secret)
        self._row = row
        self.name = row.name
        self.event_id = row.event_id
        self.retry_horizon = row.retry_horizon
        self.max_body = row.max_body
        self.refusal_body = row.refusal_body
        self.refusal_status = row.refusal_status
        self.legacy = row.legacy
        spec = dict(row.spec)
        for option, table in row.choices.items():
            value = options.pop(option, None)
            if value is None:
                value = next(iter(table))
            if value not in table:
                from webhook_guard.exceptions import ConfigurationError

                allowed = ", ".join(repr(v) for v in table)
                raise ConfigurationError(
                    f"{row.name}: {option} must be one of {allowed}, not {value!r}",
                    code="webhook_guard.E004",
                )
            setattr(self, option, value)
            spec.update(table[value])
        for key in row.configurable:
            if options.get(key) is not None:
                spec[key] = options.pop(key)
            else:
                options.pop(key, None)
        self.spec = spec
        self.handshake = None
        if row.handshake is not None:
            self.handshake = row.handshake.configure(self, options)
        self.credentials = (
            *type(self).credentials,
            *row.credentials,
            *(self.handshake.credentials if self.handshake is not None else ()),
        )
        self.take_credentials({c.name: options.pop(c.name, None) for c in self.credentials})
        self._window: Window | None = None
        self.window: float | None = None
        self.future_window: float | None = None
        windowed = "window" in row.option_names()
        window = options.pop("window", None) if windowed else None
        future = options.pop("future_window", None) if windowed else None
        #: The route's window options, for families that decide in ``configure``.
        self.window_options = (window, future)
        if row.window is not None or window is not None:
            self.set_window(
                row.window if window is None else window,
                row.future_window if future is None else future,
            )
        #: The check this route runs: the family's, or a faster one ``configure`` chose for
        #: the route's options (the handshake wrapper calls it too).
        self._checker = self.check
        self.configure(options)
        if options:
            raise TypeError(
                f"{row.name}() got unexpected keyword argument(s) {', '.join(sorted(options))}"
            )
        if self.handshake is not None:
            handshake = self.handshake
            self._before = handshake.before if handshake.looks_before else None
            self.check = self._check_with_handshake  # type: ignore[method-assign]
        else:
            self.check = self._checker  # type: ignore[method-assign]
        self.validate()

    def set_window(self, past: float | None, future: float | None) -> None:
        """Accept signed timestamps ``past`` seconds back and ``future`` ahead (None: no
        window, for providers that sign a timestamp but document none)."""
        if past is None:
            self._window = None
            self.window = self.future_window = None
            return
        limit = self._row.max_window
        code = "webhook_guard.E004" if self._row.configurable else self.window_error
        self._window = Window(self.name, past, future, limit=limit, code=code)
        self.window, self.future_window = self._window.past, self._window.future

    def configure(self, options: dict[str, Any]) -> None:
        """Read ``self.spec`` and pop this family's ``options`` (leftovers are an error)."""

    def replay_ttl(self) -> float | None:
        return self._window.ttl if self._window is not None else None

    def _check_with_handshake(self, request: WebhookRequest, keys: KeySet, now: float) -> Check:
        before = self._before
        if before is not None:
            answer = before(self, request, keys)
            if answer is not None:
                return answer
        result = self._checker(request, keys, now)
        if result[0] is _VERIFIED and result.response is None:
            return self.handshake.after(self, request, result, keys)  # type: ignore[union-attr]
        return result

    # -- what the test kit and the CLI need to know about a provider ---------------------

    @classmethod
    def route_credentials(cls, row: Provider[Any], signing: str | bytes) -> dict[str, Any]:
        """The route options that verify what ``signing`` signs (the same shared secret;
        asymmetric families: the public key of the private key)."""
        return {"secret": signing}

    @classmethod
    def public_key(cls, row: Provider[Any], private_key: str | bytes) -> str:
        """The public key of ``private_key`` as the provider's console shows it."""
        raise ValueError(f"{row.name} signs with a shared secret, not a key pair")

    @classmethod
    def generate_private_key(cls, row: Provider[Any]) -> str:
        """A new private key, in the form ``sign`` takes."""
        raise ValueError(f"{row.name} signs with a shared secret, not a key pair")

    @classmethod
    def unit_of(cls, row: Provider[Any], options: Mapping[str, Any]) -> str:
        """The unit of the timestamp a sender writes (``s``, ``ms``, ``rfc3339``; ``s``
        also when none is signed), with the route's ``options``."""
        unit = options.get("timestamp_unit") or row.spec.get("timestamp_unit")
        return str(unit or row.spec.get("unit") or "s")

    def handshake_table(self) -> tuple[str, str, str, str] | None:
        """(summary, default, what the provider sends, when it is answered) of the
        handshake this scheme answers, for the README; None without one."""
        handshake = self._row.handshake  # described even when this route turns it off
        if handshake is None:
            return None
        return (handshake.summary, *handshake.table())

    def signature_present(self, request: WebhookRequest) -> bool:
        """Whether ``request`` carries this scheme's signature (unsigned handshakes are
        only looked for in requests that do not)."""
        return False

    def check_literal_secrets(self) -> None:
        """Check literal values of ``secret`` now (E002): for schemes whose keys have a
        format (a public key, a Base64 key); references are checked when the guard
        resolves them."""
        spec: Any = self.secret
        values: Any = list(spec.values()) if isinstance(spec, Mapping) else spec
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, Mapping)):
            values = [values]
        values = list(values)
        for index, value in enumerate(values):
            if not isinstance(value, (str, bytes)) or is_reference(value):
                continue
            raw = value.encode("utf-8") if isinstance(value, str) else value
            problem = self.check_secret(raw)
            if problem is not None:
                from webhook_guard.exceptions import ConfigurationError

                what = "the secret" if len(values) == 1 else f"secret #{index}"
                raise ConfigurationError(f"{self.name}: {what}: {problem}", code="webhook_guard.E002")

    def signed(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str | None,
        content_type: str | None = None,
        query: str = "",
        method: str = "POST",
        typed: bool = False,
    ) -> SignedRequest:
        """The ``SignedRequest`` for ``headers`` over ``body``. ``Content-Type`` is added
        when given, or (``typed``) guessed when the provider made the body itself (an
        encrypted envelope, a wrapped event): otherwise it is the sender's business and
        the test kit adds it (see ``SignedRequest``)."""
        kind = content_type or (guess_content_type(body) if typed else None)
        out = {"Content-Type": kind} if kind else {}
        out.update(headers)
        return SignedRequest(out, body, query, join_query(url or "", query), method)

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described.pop("legacy", None)
        if self.handshake is not None:
            described.update(self.handshake.describe())
        return described
