"""The compose stack's suite runs only against a running stack (`make e2e` starts one and sets
PLANO_STACK_URL); `make test` does not collect it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

STACK_URL = os.environ.get("PLANO_STACK_URL")
collect_ignore_glob = [] if STACK_URL else ["test_*.py"]


@pytest.fixture
def stack_url() -> str:
    assert STACK_URL is not None
    return STACK_URL


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the stack's compose command (as `make e2e` does) with `args`."""
    command = json.loads(os.environ["PLANO_COMPOSE"])
    return subprocess.run([*command, *args], capture_output=True, text=True, check=True)
