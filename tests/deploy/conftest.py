"""The Helm chart's renders, shared by its test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.helm import MATRIX, Rendered, values, values_name


@pytest.fixture(scope="module", params=MATRIX, ids=values_name)
def matrix(request: pytest.FixtureRequest) -> tuple[Path, Rendered]:
    return request.param, Rendered.of(*values(request.param))


@pytest.fixture(scope="module")
def default() -> Rendered:
    return Rendered.of()
