"""The generic configurable HMAC scheme (``hmac``), for providers not in the catalogue."""

from __future__ import annotations

from webhook_guard.core.scheme import SecretSpec
from webhook_guard.providers._hmac import Encoding, HMACScheme, Unit

__all__ = ("hmac",)


def hmac(
    *,
    secret: SecretSpec,
    header: str,
    algorithm: str = "sha256",
    encoding: Encoding = "hex",
    prefix: str = "",
    template: str = "{body}",
    timestamp_header: str | None = None,
    timestamp_unit: Unit = "s",
    window: float = 300.0,
    future_window: float | None = None,
    id_header: str | None = None,
) -> HMACScheme:
    """Any HMAC scheme, described in configuration.

    Example, a Slack-like scheme::

        hmac(secret="env:SECRET", header="X-Signature", prefix="v0=",
             template="v0:{timestamp}:{body}", timestamp_header="X-Timestamp")

    :param header: the signature header.
    :param algorithm: ``sha1``, ``sha256`` or ``sha512``.
    :param encoding: ``hex`` (lowercase), ``base64`` or ``base64url``.
    :param prefix: text before the encoded MAC in the header.
    :param template: the signed string: ``{body}``, ``{timestamp}``, ``{id}``, ``{method}``,
        ``{path}``, ``{query}``, ``{header:Name}`` and literal text.
    :param timestamp_header: header with the timestamp (must then be in the template).
    :param timestamp_unit: ``s`` or ``ms``.
    :param window: seconds into the past a timestamp is accepted.
    :param future_window: seconds into the future (default: ``window``).
    :param id_header: header with a message id (``{id}``), reported in the verdict.
    """
    return HMACScheme(
        secret=secret,
        header=header,
        algorithm=algorithm,
        encoding=encoding,
        prefix=prefix,
        template=template,
        timestamp_header=timestamp_header,
        timestamp_unit=timestamp_unit,
        window=window,
        future_window=future_window,
        id_header=id_header,
    )
