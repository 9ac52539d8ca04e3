from __future__ import annotations

import enum

__all__ = ("Claim",)


class Claim(str, enum.Enum):
    """The answer to a claim of a replay key."""

    NEW = "new"
    IN_FLIGHT = "in_flight"
    DONE = "done"
