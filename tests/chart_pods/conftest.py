"""The chart's pods in Docker run only where `make e2e` has built the images and says so
(PLANO_CHART_PODS=1, image names in PLANO_IMAGE, PLANO_TEST_IMAGE, REDIS_IMAGE); `make test`
does not collect them."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chart_pods.pods import Cluster, docker
from tests.deploy.helm import NAMESPACE, render_text
from tests.support.ports import free_ports

ENABLED = os.environ.get("PLANO_CHART_PODS") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]
VALUES = Path(__file__).with_name("values.yaml")
TESTS = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunningChart:
    cluster: Cluster
    base_url: str
    envoy: str
    extproc: tuple[str, ...]


def image_values(variable: str, key: str) -> list[str]:
    repository, _, tag = os.environ[variable].rpartition(":")
    return ["--set", f"{key}.repository={repository}", "--set-string", f"{key}.tag={tag}"]


def rendered_secrets(cluster: Cluster) -> dict[str, dict[str, str]]:
    return {
        secret["metadata"]["name"]: {
            key: base64.b64decode(value).decode() for key, value in secret["data"].items()
        }
        for secret in cluster.kind("Secret")
    }


def start_provider(cluster: Cluster) -> None:
    name = f"{cluster.prefix}-provider"
    docker(
        "run", "-d", "--name", name, "--network", cluster.network, "--network-alias", "provider",
        "-v", f"{TESTS}:/srv/tests:ro", "-w", "/srv", "--entrypoint", "python",
        os.environ["PLANO_TEST_IMAGE"],
        "-m", "tests.support.upstream", "--host", "0.0.0.0", "--port", "8080",
    )  # fmt: skip
    cluster.containers.append(name)


@pytest.fixture(scope="session")
def chart() -> Iterator[RunningChart]:
    options = ["--values", str(VALUES)]
    options += image_values("PLANO_IMAGE", "image") + image_values("REDIS_IMAGE", "redis.image")
    cluster = Cluster.from_yaml(render_text(*options), NAMESPACE, {})
    cluster.secrets.update(rendered_secrets(cluster))
    (port,) = free_ports(1)
    try:
        cluster.start_network()
        start_provider(cluster)
        cluster.claim_volumes("redis")
        for component in ("redis", "extproc"):
            for container in cluster.run_workload(component):
                cluster.wait_ready(container, component)
        (envoy,) = cluster.run_workload("envoy", publish={12000: port})
        cluster.wait_ready(envoy, "envoy")
        base_url = f"http://127.0.0.1:{port}"
        extproc = tuple(c for c in cluster.containers if "-extproc-" in c)
        yield RunningChart(cluster, base_url, envoy, extproc)
    finally:
        cluster.remove()
