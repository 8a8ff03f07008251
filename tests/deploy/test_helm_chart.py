"""The Helm chart, without a cluster: `helm lint` and `helm template` over the values matrix in
deploy/helm/plano-extproc/ci/, every manifest validated against Kubernetes 1.30's schemas, and
the chart's promises checked on what it renders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from plano_extproc.config import load_config_text
from plano_extproc.config.model import SessionCacheType
from plano_extproc.contract.clusters import EXTPROC_HEALTH_SERVICE
from tests.deploy.helm import (
    CHART,
    KEYS,
    MATRIX,
    NAMESPACE,
    Rendered,
    container,
    containers,
    helm,
    render_text,
    rendered_notes,
    values,
    values_name,
)

KUBERNETES_VERSION = "1.30.0"
# Custom resources have no schema in kubernetes-validate; their shape is checked below.
CUSTOM_KINDS = {"ServiceMonitor"}
REDIS_SECRET_URL = "redis://:hunter2@redis.example:6379/0"


def test_the_matrix_covers_the_cases_the_chart_promises() -> None:
    names = {values_name(path) for path in MATRIX}
    assert {"default", "external-redis", "hpa-off", "triton", "existing-secret", "auth"} <= names


@pytest.mark.parametrize("path", MATRIX, ids=values_name)
def test_helm_lint_passes(path: Path) -> None:
    result = helm("lint", "--strict", str(CHART), *values(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_is_valid_kubernetes_1_30(matrix: tuple[Path, Rendered]) -> None:
    _, rendered = matrix
    for document in rendered.documents:
        if document["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest(default: Rendered) -> None:
    deployment = default.one("Deployment", "extproc")
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# -- the ext_proc ---------------------------------------------------------------------------


def test_ext_proc_probes_are_native_grpc_on_the_health_service(
    matrix: tuple[Path, Rendered],
) -> None:
    _, rendered = matrix
    pod = rendered.one("Deployment", "extproc")["spec"]["template"]["spec"]
    extproc = container(pod, "extproc")
    port = next(p["containerPort"] for p in extproc["ports"] if p["name"] == "grpc")
    assert f"--port={port}" in extproc["args"]
    for probe in ("startupProbe", "readinessProbe"):
        assert extproc[probe]["grpc"] == {"port": port, "service": EXTPROC_HEALTH_SERVICE}
    assert extproc["livenessProbe"]["grpc"] == {"port": port}
    startup = extproc["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "covers the model load"


def test_ext_proc_service_is_headless_on_the_pods(matrix: tuple[Path, Rendered]) -> None:
    _, rendered = matrix
    service = rendered.one("Service", "extproc")
    assert service["spec"]["clusterIP"] == "None"
    labels = rendered.one("Deployment", "extproc")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_hpa_owns_the_replica_count_only_when_enabled(matrix: tuple[Path, Rendered]) -> None:
    _, rendered = matrix
    deployment = rendered.one("Deployment", "extproc")
    hpa = rendered.find("HorizontalPodAutoscaler", "extproc")
    if hpa is None:
        assert deployment["spec"]["replicas"] >= 1
    else:
        assert "replicas" not in deployment["spec"]
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_defaults_autoscale_and_fixed_replicas_turn_it_off(default: Rendered) -> None:
    assert default.find("HorizontalPodAutoscaler", "extproc") is not None
    hpa_off = Rendered.of(*values(CHART / "ci" / "hpa-off-values.yaml"))
    assert hpa_off.find("HorizontalPodAutoscaler", "extproc") is None
    assert hpa_off.one("Deployment", "extproc")["spec"]["replicas"] == 3


# -- Envoy ------------------------------------------------------------------------------------


def test_grace_period_outlasts_the_listener_timeout(matrix: tuple[Path, Rendered]) -> None:
    _, rendered = matrix
    config = load_config_text(rendered.plano_config(), {**KEYS, "PLANO_REDIS_URL": "redis://x"})
    needed = config.listeners[0].timeout_seconds + 5
    for name in ("extproc", "envoy"):
        spec = rendered.one("Deployment", name)["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] > needed, name


# -- config and secrets -----------------------------------------------------------------------


def test_config_change_rolls_ext_proc_and_envoy(default: Rendered) -> None:
    def checksum(rendered: Rendered, component: str) -> str:
        template = rendered.one("Deployment", component)["spec"]["template"]
        return template["metadata"]["annotations"]["checksum/config"]

    changed = Rendered.of("--set", "config.version=v0.4.0", "--set-json", "config.listeners=[]")
    for component in ("extproc", "envoy"):
        assert checksum(default, component) != checksum(changed, component)
    assert checksum(default, "extproc") == checksum(default, "envoy")
    # The annotation is the digest of the rendered ConfigMap (what follows helm's two header lines).
    shown = render_text("--show-only", "templates/configmap.yaml").split("\n", 2)[2]
    assert checksum(default, "extproc") == hashlib.sha256(shown.encode()).hexdigest()


def test_provider_keys_only_ever_live_in_a_secret(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text(yaml.safe_dump({"providerKeys": KEYS}))
    rendered = Rendered.of(*values(keys))
    secret = rendered.one("Secret", "keys")
    assert set(secret["data"]) == set(KEYS)
    for document in rendered.documents:
        if document["kind"] == "Secret":
            continue
        text = yaml.safe_dump(document)
        for key in KEYS.values():
            assert key not in text, document["kind"]
    pod = rendered.one("Deployment", "extproc")["spec"]["template"]["spec"]
    assert container(pod, "extproc")["envFrom"] == [
        {"secretRef": {"name": secret["metadata"]["name"]}}
    ]
    envoy_pod = rendered.one("Deployment", "envoy")["spec"]["template"]["spec"]
    assert all("envFrom" not in c for c in containers(envoy_pod)), "Envoy never sees the keys"


def test_an_existing_secret_is_used_and_none_is_created(matrix: tuple[Path, Rendered]) -> None:
    path, rendered = matrix
    given = yaml.safe_load(path.read_text()) or {}
    pod = rendered.one("Deployment", "extproc")["spec"]["template"]["spec"]
    env_from = container(pod, "extproc").get("envFrom")
    if given.get("existingSecret"):
        assert env_from == [{"secretRef": {"name": given["existingSecret"]}}]
        assert rendered.find("Secret", "keys") is None


def test_the_configmap_holds_a_loadable_config_with_key_references_only(
    matrix: tuple[Path, Rendered],
) -> None:
    _, rendered = matrix
    text = rendered.plano_config()
    raw = yaml.safe_load(text)
    for provider in raw["model_providers"]:
        key = provider.get("access_key")
        assert key is None or key.startswith("$"), key
    config = load_config_text(text, {**KEYS, "PLANO_REDIS_URL": REDIS_SECRET_URL})
    assert config.providers


# -- Redis ------------------------------------------------------------------------------------


def session_cache(rendered: Rendered) -> tuple[SessionCacheType, str | None]:
    env = {**KEYS, "PLANO_REDIS_URL": REDIS_SECRET_URL}
    cache = load_config_text(rendered.plano_config(), env).routing.session_cache
    return cache.type, cache.url


def test_default_redis_is_the_charts_statefulset_with_a_volume(default: Rendered) -> None:
    statefulset = default.one("StatefulSet", "redis")
    assert statefulset["spec"]["replicas"] == 1
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    service = default.one("Service", "redis")["metadata"]["name"]
    assert session_cache(default) == (SessionCacheType.REDIS, f"redis://{service}:6379/0")


def test_external_redis_url_from_a_secret_never_reaches_envoy() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "external-redis-values.yaml"))
    assert rendered.find("StatefulSet", "redis") is None
    assert session_cache(rendered) == (SessionCacheType.REDIS, REDIS_SECRET_URL)
    pod = rendered.one("Deployment", "extproc")["spec"]["template"]["spec"]
    redis_env = next(e for e in container(pod, "extproc")["env"] if e["name"] == "PLANO_REDIS_URL")
    assert redis_env["valueFrom"]["secretKeyRef"] == {"name": "plano-redis", "key": "url"}
    envoy_pod = rendered.one("Deployment", "envoy")["spec"]["template"]["spec"]
    assert "secretKeyRef" not in yaml.safe_dump(envoy_pod)


def test_external_redis_by_plain_url() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "hpa-off-values.yaml"))
    url = "redis://redis.shared.svc.cluster.local:6379/2"
    assert session_cache(rendered) == (SessionCacheType.REDIS, url)


def test_without_redis_the_users_session_cache_is_kept() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "existing-secret-values.yaml"))
    assert session_cache(rendered) == (SessionCacheType.MEMORY, None)


# -- Triton -----------------------------------------------------------------------------------


def test_triton_gets_a_gpu_and_the_classifier_points_at_it() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "triton-values.yaml"))
    deployment = rendered.one("Deployment", "triton")
    pod = deployment["spec"]["template"]["spec"]
    triton = container(pod, "triton")
    assert triton["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    fetch = container(pod, "fetch-model-repository")
    assert fetch["args"][0] == "fetch-archive"
    assert any(arg.startswith("--sha256=") for arg in fetch["args"])
    config = load_config_text(rendered.plano_config(), {**KEYS, "PLANO_REDIS_URL": "redis://x"})
    classifier = config.routing.classifier
    service = rendered.one("Service", "triton")["metadata"]["name"]
    assert (classifier.type.value, classifier.triton.url) == ("triton", f"{service}:8001")


def test_triton_can_serve_a_repository_from_a_claim() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "existing-secret-values.yaml"))
    pod = rendered.one("Deployment", "triton")["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    volume = next(v for v in pod["volumes"] if v["name"] == "model-repository")
    assert volume["persistentVolumeClaim"]["claimName"] == "arch-router-engine"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--set", "triton.enabled=true"), "needs triton.modelRepository"),
        (
            (
                "--set",
                "triton.enabled=true",
                "--set",
                "triton.modelRepository.fetch.url=https://x/y.tgz",
            ),
            "needs triton.modelRepository.fetch.sha256",
        ),
        (("--set", "envoy.service.type=External"), "envoy.service.type"),
        (("--set", "extproc.replicass=2"), "replicass"),
        (("--set", "config=version: [unclosed"), "config: not valid YAML"),
        (("--set", "config= "), "config: the text is empty"),
        (("--set", "redis.external.url=redis://r:6379"), "set redis.enabled=false"),
        (("--set", "terminationGracePeriodSeconds=100"), "at least 315"),
        (
            (
                "--set-json",
                'config={"version":"v0.4.0","listeners":[{"name":"l","type":"model","timeout":"10m"}]}',
            ),
            "listener timeout of 600 s: set it to at least 615",
        ),
    ],
)
def test_bad_values_fail_the_render_with_a_reason(options: tuple[str, ...], message: str) -> None:
    result = helm("template", "gw", str(CHART), *options)
    assert result.returncode != 0
    assert message in result.stderr


# -- production defaults ----------------------------------------------------------------------


def test_every_pod_runs_as_non_root_read_only_without_capabilities(
    matrix: tuple[Path, Rendered],
) -> None:
    _, rendered = matrix
    for name, pod in rendered.pod_specs():
        pod_context = pod.get("securityContext", {})
        assert pod["automountServiceAccountToken"] is False, name
        for item in containers(pod):
            context = {**pod_context, **item.get("securityContext", {})}
            where = f"{name}/{item['name']}"
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert item["resources"].get("requests") or item["resources"].get("limits"), where


def test_disruption_budgets_and_spread_cover_ext_proc_and_envoy(default: Rendered) -> None:
    for component in ("extproc", "envoy"):
        pdb = default.one("PodDisruptionBudget", component)
        template = default.one("Deployment", component)["spec"]["template"]
        assert (
            pdb["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        )
        spread = template["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }


def test_network_policy_lets_only_envoy_reach_the_ext_proc() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "hpa-off-values.yaml"))
    policy = rendered.one("NetworkPolicy", "extproc")
    streams = next(rule for rule in policy["spec"]["ingress"] if rule["ports"][0]["port"] == "grpc")
    envoy_labels = rendered.one("Deployment", "envoy")["spec"]["template"]["metadata"]["labels"]
    (peer,) = streams["from"]
    assert peer["podSelector"]["matchLabels"].items() <= envoy_labels.items()
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "envoy"
    assert Rendered.of().find("NetworkPolicy", "extproc") is None


def test_service_monitor_scrapes_the_metrics_port() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "hpa-off-values.yaml"))
    monitor = rendered.one("ServiceMonitor", "extproc")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = rendered.one("Service", "extproc")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert "metrics" in {p["name"] for p in service["spec"]["ports"]}


def test_notes_show_the_curl_to_try_and_warn_about_missing_keys(tmp_path: Path) -> None:
    notes = rendered_notes(tmp_path)
    assert "kubectl -n llm port-forward svc/gw-plano-extproc-envoy 12000:80" in notes
    assert "curl -s localhost:12000/routing/v1/chat/completions" in notes
    assert "no provider keys" in notes
    with_keys = rendered_notes(tmp_path / "keys", "--set", "existingSecret=plano-keys")
    assert "no provider keys" not in with_keys


def test_responses_state_follows_the_charts_redis() -> None:
    config = {
        "version": "v0.4.0",
        "model_providers": [{"model": "openai/gpt-4o-mini", "access_key": "$OPENAI_API_KEY"}],
        "state_storage": {"type": "memory"},
    }
    rendered = Rendered.of("--set-json", f"config={json.dumps(config)}")
    loaded = load_config_text(rendered.plano_config(), KEYS)
    assert loaded.state_storage is not None
    assert loaded.state_storage.type.value == "redis"
    assert loaded.state_storage.url == loaded.routing.session_cache.url


def test_a_long_release_name_keeps_every_name_within_kubernetes_limits() -> None:
    release = "a-very-long-release-name-for-the-gateway"
    result = helm("template", release, str(CHART), "--namespace", NAMESPACE)
    assert result.returncode == 0, result.stderr
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    for document in documents:
        assert len(document["metadata"]["name"]) <= 63, document["metadata"]["name"]
    (statefulset,) = [d for d in documents if d["kind"] == "StatefulSet"]
    # Its pods get a controller-revision-hash label of the name + 11 characters.
    assert len(statefulset["metadata"]["name"]) <= 52


def test_triton_is_replaced_not_surged_on_its_one_gpu() -> None:
    rendered = Rendered.of(*values(CHART / "ci" / "triton-values.yaml"))
    assert rendered.one("Deployment", "triton")["spec"]["strategy"] == {"type": "Recreate"}
