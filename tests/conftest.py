"""Fixtures shared by several test packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer, running_redis_server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for this test (tests using it are marked `redis`)."""
    with running_redis_server(tmp_path) as server:
        yield server
