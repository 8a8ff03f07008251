"""The chart's rendered pods running in Docker (tests/chart_pods/pods.py): Envoy generated its
config in its init container, found both ext_proc pods through the headless Service, and serves
decisions and proxied calls with the keys from the chart's Secret and pins in the chart's Redis."""

from __future__ import annotations

import json
import time

import httpx
import openai

from tests.chart_pods.conftest import RunningChart
from tests.chart_pods.pods import docker

CODE = {"messages": [{"role": "user", "content": "Write a Python function for binary search"}]}
ANSWER = "Hello from the test upstream."
ADMIN_CLUSTERS = (
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1:9901/clusters?format=json').read().decode())"
)


def test_decisions_through_envoy(chart: RunningChart) -> None:
    response = httpx.post(f"{chart.base_url}/routing/v1/chat/completions", json=CODE, timeout=30)
    assert response.status_code == 200
    assert response.json()["route"] == "code_generation"


def test_envoy_balances_over_every_ext_proc_pod_of_the_headless_service(
    chart: RunningChart,
) -> None:
    raw = docker("exec", chart.envoy, "python", "-c", ADMIN_CLUSTERS).stdout
    clusters = json.loads(raw)["cluster_statuses"]
    extproc = next(c for c in clusters if c["name"] == "plano_extproc")
    hosts = extproc["host_statuses"]
    assert len(hosts) == len(chart.extproc) == 2
    assert all(h["health_status"]["eds_health_status"] == "HEALTHY" for h in hosts)


def test_a_proxied_call_with_the_openai_sdk(chart: RunningChart) -> None:
    client = openai.OpenAI(base_url=f"{chart.base_url}/v1", api_key="unused", max_retries=0)
    answer = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == ANSWER


def test_a_session_is_pinned_across_pods_through_the_charts_redis(chart: RunningChart) -> None:
    headers = {"x-session-id": f"pods-{time.time_ns()}"}
    url = f"{chart.base_url}/routing/v1/chat/completions"
    first = httpx.post(url, json=CODE, headers=headers, timeout=30).json()
    later = [
        httpx.post(url, json={"messages": [{"role": "user", "content": "thanks"}]}, headers=headers)
        for _ in range(4)
    ]
    assert all(r.json()["pinned"] for r in later)
    assert {r.json()["models"][0] for r in later} == {first["models"][0]}


def test_containers_run_as_the_manifests_security_context(chart: RunningChart) -> None:
    for container in (chart.envoy, *chart.extproc):
        raw = docker("inspect", "--format", "{{json .HostConfig}}|{{.Config.User}}", container)
        host_config, user = raw.stdout.strip().rsplit("|", 1)
        settings = json.loads(host_config)
        assert user == "10001:10001", container
        assert settings["ReadonlyRootfs"] is True, container
        assert settings["CapDrop"] == ["ALL"], container


def test_the_prestop_hook_drains_envoy_out_of_readiness(chart: RunningChart) -> None:
    # Last: Envoy stops taking new connections.
    spec = chart.cluster.workload("envoy")["spec"]["template"]["spec"]["containers"][0]
    assert chart.cluster.probe(chart.envoy, spec["readinessProbe"])
    pre_stop = spec["lifecycle"]["preStop"]["exec"]["command"]
    result = docker("exec", chart.envoy, *pre_stop, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "drained" in result.stdout
    assert not chart.cluster.probe(chart.envoy, spec["readinessProbe"])
