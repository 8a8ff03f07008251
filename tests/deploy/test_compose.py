"""The compose stack's files, checked without Docker: every service healthy-gated and local-only,
and Envoy's config is what the generator makes of the stack's Plano config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plano_extproc.auth.keys import KeyTable, hash_key
from plano_extproc.config import load_config, load_config_text
from plano_extproc.contract.clusters import EXTPROC_CLUSTER
from plano_extproc.envoy.render import render_envoy_yaml

COMPOSE_DIR = Path(__file__).parents[2] / "deploy" / "compose"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())


def test_every_service_has_a_healthcheck_and_waits_for_healthy_ones(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"], name
        for dependency in service.get("depends_on", {}).values():
            assert dependency == {"condition": "service_healthy"}, name


def test_ports_are_published_on_localhost_only(compose: dict[str, Any]) -> None:
    published = [port for s in compose["services"].values() for port in s.get("ports", [])]
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published)


def test_two_ext_proc_replicas_behind_envoy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["extproc"]["deploy"]["replicas"] == 2
    assert services["extproc"]["healthcheck"]["test"][1:3] == ["plano-extproc", "health"]
    assert "extproc" in services["envoy"]["depends_on"]


def test_optional_services_sit_in_their_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["prometheus"]["profiles"] == ["metrics"]
    assert services["triton"]["profiles"] == ["gpu"]
    devices = services["triton"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"


def test_triton_without_a_gpu_is_its_own_profile_under_the_same_name(
    compose: dict[str, Any],
) -> None:
    cpu = compose["services"]["triton-cpu"]
    assert cpu["profiles"] == ["triton-cpu"]
    assert cpu["build"]["dockerfile"] == "deploy/docker/Dockerfile.triton-cpu"
    assert (COMPOSE_DIR.parents[1] / cpu["build"]["dockerfile"]).exists()
    # The classifier's url (triton:8001) reaches either profile's server.
    assert cpu["networks"]["default"]["aliases"] == ["triton"]
    assert cpu["read_only"] is True
    assert "deploy" not in cpu  # no GPU reservation


def test_envoy_yaml_is_generated_for_the_compose_names() -> None:
    # Regenerate with: plano-extproc envoy-config deploy/compose/config.yaml
    #   --extproc-host extproc --admin-port 9901 > deploy/compose/envoy.yaml
    config = load_config(COMPOSE_DIR / "config.yaml", require_keys=False)
    rendered = render_envoy_yaml(config, extproc_host="extproc", admin_port=9901)
    assert (COMPOSE_DIR / "envoy.yaml").read_text() == rendered
    bootstrap = yaml.safe_load(rendered)
    cluster = next(
        c for c in bootstrap["static_resources"]["clusters"] if c["name"] == EXTPROC_CLUSTER
    )
    assert cluster["type"] == "STRICT_DNS"
    assert cluster["health_checks"][0]["grpc_health_check"]


def test_our_containers_run_hardened_like_the_charts_pods(compose: dict[str, Any]) -> None:
    for name in ("extproc", "envoy"):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
    envoy_check = compose["services"]["envoy"]["healthcheck"]["test"]
    assert envoy_check[1:4] == ["python", "-m", "plano_extproc.envoy.admin_probe"]


def test_tracing_profile_runs_the_collector_the_config_exports_to(
    compose: dict[str, Any],
) -> None:
    collector = compose["services"]["otel-collector"]
    assert collector["profiles"] == ["tracing"]
    config = load_config(COMPOSE_DIR / "config.yaml", require_keys=False)
    assert config.tracing is not None
    assert config.tracing.endpoint == "http://otel-collector:4317"
    pipeline = yaml.safe_load((COMPOSE_DIR / "otel-collector.yaml").read_text())
    assert pipeline["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    assert pipeline["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]


def test_the_commented_out_auth_block_loads_once_uncommented() -> None:
    text = (COMPOSE_DIR / "config.yaml").read_text()
    assert load_config(COMPOSE_DIR / "config.yaml", require_keys=False).auth is None
    block = text[text.index("\n# auth:\n") + 1 :]
    assert "plano-extproc keys --name" in text
    uncommented = "".join(line.removeprefix("# ") for line in block.splitlines(keepends=True))
    placeholder = "<the 64 hex digits that plano-extproc keys prints>"
    assert placeholder in uncommented
    uncommented = uncommented.replace(placeholder, hash_key("pk-compose"))
    config = load_config_text(text.replace(block, uncommented), {}, require_keys=False)
    assert config.auth is not None
    known = KeyTable(config.auth.api_keys).lookup("pk-compose")
    assert known is not None
    assert known.entry.name == "team-a"
