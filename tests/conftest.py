from __future__ import annotations

import pytest

from webhook_guard.testing import FrozenClock

NOW = 1_700_000_000.0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
