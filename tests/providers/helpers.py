"""Helpers the provider tests share."""

from __future__ import annotations

from collections.abc import Mapping


def provider_headers(signed: Mapping[str, str]) -> dict[str, str]:
    """The headers a provider's ``sign`` adds, without the ``Content-Type`` it may state."""
    return {k: v for k, v in signed.items() if k.lower() != "content-type"}
