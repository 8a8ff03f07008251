"""The Helm chart's Envoy: the config its init container generates, validated and served by
the real Envoy with the pod's exact arguments, and the Service in front of it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from plano_extproc.cli.main import main as cli
from plano_extproc.config import load_config_text
from plano_extproc.contract.clusters import EXTPROC_CLUSTER, EXTPROC_HEALTH_SERVICE
from tests.deploy.helm import (
    CHART,
    KEYS,
    NAMESPACE,
    Rendered,
    container,
    values,
)
from tests.envoy.support import ENVOY


def generated_envoy_config(rendered: Rendered, workdir: Path) -> dict[str, Any]:
    """Runs the Envoy pod's init container (the real generator) on the rendered ConfigMap."""
    pod = rendered.one("Deployment", "envoy")["spec"]["template"]["spec"]
    init = container(pod, "envoy-config")
    config_file = workdir / "config.yaml"
    config_file.write_text(rendered.plano_config())
    output = workdir / "envoy.yaml"
    args = [
        str(config_file) if arg == "/etc/plano/config.yaml" else arg
        for arg in init["args"]
        if not arg.startswith("--output=")
    ]
    assert cli([*args, f"--output={output}"]) == 0
    return yaml.safe_load(output.read_text())


def test_envoy_resolves_the_headless_service_with_strict_dns_and_grpc_health_checks(
    matrix: tuple[Path, Rendered], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, rendered = matrix
    for item in container(
        rendered.one("Deployment", "envoy")["spec"]["template"]["spec"], "envoy-config"
    ).get("env", []):
        monkeypatch.setenv(item["name"], item.get("value", ""))
    envoy = generated_envoy_config(rendered, tmp_path)
    cluster = next(c for c in envoy["static_resources"]["clusters"] if c["name"] == EXTPROC_CLUSTER)
    assert cluster["type"] == "STRICT_DNS"
    service = rendered.one("Service", "extproc")
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    socket = address["address"]["socket_address"]
    name = service["metadata"]["name"]
    assert socket["address"] == f"{name}.{NAMESPACE}.svc.cluster.local"
    grpc_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert socket["port_value"] == grpc_port
    health = cluster["health_checks"][0]["grpc_health_check"]
    assert health["service_name"] == EXTPROC_HEALTH_SERVICE


@pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")
def test_envoy_validates_the_generated_config_with_the_pods_exact_arguments(
    default: Rendered, tmp_path: Path
) -> None:
    generated_envoy_config(default, tmp_path)
    pod = default.one("Deployment", "envoy")["spec"]["template"]["spec"]
    envoy = container(pod, "envoy")
    generated = str(tmp_path / "envoy.yaml")
    args = [generated if arg == "/etc/envoy/envoy.yaml" else arg for arg in envoy["args"]]
    assert generated in args
    assert ENVOY is not None
    result = subprocess.run(
        [ENVOY, *args, "--mode", "validate"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_envoy_serves_the_config_listener_port_and_probes_its_local_admin(
    matrix: tuple[Path, Rendered],
) -> None:
    _, rendered = matrix
    config = yaml.safe_load(rendered.plano_config())
    pod = rendered.one("Deployment", "envoy")["spec"]["template"]["spec"]
    envoy = container(pod, "envoy")
    assert envoy["ports"] == [
        {"name": "http", "containerPort": config["listeners"][0]["port"], "protocol": "TCP"}
    ]
    admin_arg = next(a for a in container(pod, "envoy-config")["args"] if "--admin-port" in a)
    ready = envoy["readinessProbe"]["exec"]["command"]
    assert ready[:3] == ["python", "-m", "plano_extproc.envoy.admin_probe"]
    assert admin_arg in ready
    assert ready[-1] == "ready"
    drain = envoy["lifecycle"]["preStop"]["exec"]["command"]
    assert admin_arg in drain
    assert "drain" in drain
    service = rendered.one("Service", "envoy")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_envoy_service_can_be_a_load_balancer() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "hpa-off-values.yaml"))
    spec = rendered.one("Service", "envoy")["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerSourceRanges"] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    "listeners",
    [
        [
            {"type": "prompt", "name": "prompts", "port": 10001},
            {"type": "model", "name": "llm", "port": 10000, "address": "127.0.0.1"},
        ],
        {"egress_traffic": {"port": 10000, "address": "127.0.0.1"}},
    ],
    ids=["list", "legacy-map"],
)
def test_envoy_serves_the_first_model_listener_on_every_address(
    tmp_path: Path, listeners: object
) -> None:
    config = {
        "version": "v0.4.0",
        "listeners": listeners,
        "model_providers": [{"model": "openai/gpt-4o-mini", "access_key": "$OPENAI_API_KEY"}],
    }
    given = tmp_path / "values.yaml"
    given.write_text(yaml.safe_dump({"config": yaml.safe_dump(config)}))
    rendered = Rendered.of(*values(given))
    loaded = load_config_text(rendered.plano_config(), {**KEYS, "PLANO_REDIS_URL": "redis://x"})
    assert (loaded.listeners[0].address, loaded.listeners[0].port) == ("0.0.0.0", 10000)
    pod = rendered.one("Deployment", "envoy")["spec"]["template"]["spec"]
    assert container(pod, "envoy")["ports"][0]["containerPort"] == 10000


def test_ipv6_clusters_listen_on_every_ipv6_address() -> None:
    rendered = Rendered.of("--set", "listenAddress=::")
    pod = rendered.one("Deployment", "extproc")["spec"]["template"]["spec"]
    assert "--host=::" in container(pod, "extproc")["args"]
    config = load_config_text(rendered.plano_config(), KEYS)
    assert config.listeners[0].address == "::"
