"""The image's Dockerfile: multi-stage, non-root, the CLI as entrypoint, a gRPC health check,
OCI labels, and a base image real users can pull."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCKERFILE = (Path(__file__).parents[2] / "deploy" / "docker" / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_multi_stage_on_a_public_base_by_default() -> None:
    assert "ARG BASE_IMAGE=python:3.11-slim" in DOCKERFILE
    assert len(_instructions("FROM")) == 2


def test_runs_as_a_non_root_user_with_the_cli_as_entrypoint() -> None:
    (user,) = _instructions("USER")
    assert not user.startswith(("0", "root"))
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["plano-extproc"]


def test_health_is_asked_of_the_grpc_health_service() -> None:
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert '"plano-extproc", "health"' in healthcheck


def test_oci_labels() -> None:
    labels = " ".join(_instructions("LABEL"))
    for key in ("title", "version", "source", "licenses"):
        assert re.search(rf"org\.opencontainers\.image\.{key}=", labels), key
