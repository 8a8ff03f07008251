from __future__ import annotations

import pytest

from tests.affinity.helpers import RedisErrorCounts


@pytest.fixture
def redis_errors() -> RedisErrorCounts:
    return RedisErrorCounts()
