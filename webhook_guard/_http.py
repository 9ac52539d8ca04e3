"""An HTTP answer read within one deadline in all (Vault answers, remote certificates)."""

from __future__ import annotations

from time import monotonic
from typing import Any

__all__ = ("read_within",)


def read_within(response: Any, deadline: float, limit: int) -> bytes:
    """The body of ``response``, read by whatever each receive brings: at most ``limit``
    bytes (``ValueError``) before ``deadline`` on the ``time.monotonic`` clock
    (``TimeoutError``). A server that trickles bytes cannot hold a fetch for a socket
    timeout per byte."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if monotonic() > deadline:
            raise TimeoutError("answer not read within the timeout")
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ValueError("answer too large")
        chunks.append(chunk)
