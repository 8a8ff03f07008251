"""The Helm chart's rendered pods, run as Docker containers the way a kubelet would run them.

No cluster here, so this takes each rendered Deployment/StatefulSet pod spec and runs it with
Docker, keeping what the chart decides:

- init containers first, each to completion, then the containers, with the manifest's image,
  command and args, env (values, `secretKeyRef`, `envFrom`) and volume mounts;
- the security context: `runAsUser:runAsGroup`, a read-only root file system, no capabilities,
  `no-new-privileges`;
- volumes: a ConfigMap's keys as read-only files, an `emptyDir` as a fresh volume owned by the
  pod's `fsGroup` (as the kubelet makes it);
- Services: a Service's DNS name is a network alias of every pod it selects, so a headless
  Service resolves to all of them (as cluster DNS answers);
- probes: gRPC probes ask the same health service (`plano-extproc health`), exec probes run
  their command in the container.

What Docker cannot show (scheduling, resources, the kubelet's own probe client) is not claimed.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROBE_TIMEOUT_S = 180.0


def docker(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, timeout=timeout
    )


@dataclass
class Cluster:
    """One namespace's worth of rendered manifests, run on one Docker network."""

    manifests: list[dict[str, Any]]
    namespace: str
    secrets: dict[str, dict[str, str]]
    prefix: str = "plano-pods"
    network: str = ""
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chart-pods-")))
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    @classmethod
    def from_yaml(
        cls, rendered: str, namespace: str, secrets: dict[str, dict[str, str]]
    ) -> Cluster:
        documents = [d for d in yaml.safe_load_all(rendered) if d]
        return cls(documents, namespace, secrets)

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.manifests if d["kind"] == kind]

    def workload(self, component: str) -> dict[str, Any]:
        return next(
            w
            for w in self.kind("Deployment") + self.kind("StatefulSet")
            if w["metadata"]["labels"]["app.kubernetes.io/component"] == component
        )

    def start_network(self) -> None:
        self.network = f"{self.prefix}-net"
        docker("network", "rm", self.network, check=False)
        docker("network", "create", self.network)

    def aliases_for(self, pod_labels: dict[str, str]) -> list[str]:
        """Every DNS name a Service selecting these labels gives the pod."""
        names = []
        for service in self.kind("Service"):
            selector = service["spec"].get("selector", {})
            if selector and selector.items() <= pod_labels.items():
                name = service["metadata"]["name"]
                names += [name, f"{name}.{self.namespace}.svc.cluster.local"]
        return names

    def run_workload(self, component: str, publish: dict[int, int] | None = None) -> list[str]:
        """Starts every replica of a component's pod; returns its main containers' names."""
        workload = self.workload(component)
        replicas = workload["spec"].get("replicas", 1)
        return [self._run_pod(workload, index, publish) for index in range(replicas)]

    def _run_pod(self, workload: dict[str, Any], index: int, publish: dict[int, int] | None) -> str:
        template = workload["spec"]["template"]
        spec = template["spec"]
        pod = (
            f"{self.prefix}-{workload['metadata']['labels']['app.kubernetes.io/component']}-{index}"
        )
        mounts = self._volumes(pod, spec)
        for init in spec.get("initContainers", []):
            result = docker(*self._run_args(pod, spec, init, mounts), *self._command(init))
            assert result.returncode == 0, result.stderr
        (main,) = spec["containers"]
        name = f"{pod}-{main['name']}"
        options = ["-d", "--name", name]
        for alias in self.aliases_for(template["metadata"]["labels"]):
            options += ["--network-alias", alias]
        for container_port, host_port in (publish or {}).items():
            options += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
        docker(*self._run_args(pod, spec, main, mounts, options), *self._command(main))
        self.containers.append(name)
        return name

    def _run_args(
        self,
        pod: str,
        spec: dict[str, Any],
        container: dict[str, Any],
        mounts: dict[str, tuple[str, bool]],
        options: list[str] | None = None,
    ) -> list[str]:
        context = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
        args = ["run", *(options or ["--rm"]), "--network", self.network]
        args += ["--user", f"{context['runAsUser']}:{context.get('runAsGroup', 0)}"]
        if context.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        if context.get("capabilities", {}).get("drop") == ["ALL"]:
            args += ["--cap-drop", "ALL"]
        if context.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        for mount in container.get("volumeMounts", []):
            source, read_only = mounts[mount["name"]]
            suffix = ":ro" if read_only or mount.get("readOnly") else ""
            args += ["-v", f"{source}:{mount['mountPath']}{suffix}"]
        for key, value in self._env(container).items():
            args += ["-e", f"{key}={value}"]
        if "command" in container:
            args += ["--entrypoint", container["command"][0]]
        return [*args, container["image"]]

    @staticmethod
    def _command(container: dict[str, Any]) -> list[str]:
        return [*container.get("command", [])[1:], *container.get("args", [])]

    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.secrets[source["secretRef"]["name"]])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = self.secrets[ref["name"]][ref["key"]]
        return env

    def _volumes(self, pod: str, spec: dict[str, Any]) -> dict[str, tuple[str, bool]]:
        """Volume name → (Docker mount source, read-only)."""
        group = spec.get("securityContext", {}).get("fsGroup", 0)
        image = spec["containers"][0]["image"]
        mounts: dict[str, tuple[str, bool]] = {}
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                mounts[volume["name"]] = (
                    str(self._config_files(volume["configMap"]["name"])),
                    True,
                )
            elif "emptyDir" in volume:
                mounts[volume["name"]] = (
                    self._empty_dir(f"{pod}-{volume['name']}", group, image),
                    False,
                )
        return mounts

    def claim_volumes(self, component: str) -> None:
        """A StatefulSet's volumeClaimTemplates as fresh volumes (a bound PVC, as it were)."""
        workload = self.workload(component)
        volumes = workload["spec"]["template"]["spec"].setdefault("volumes", [])
        for claim in workload["spec"].get("volumeClaimTemplates", []):
            volumes.append({"name": claim["metadata"]["name"], "emptyDir": {}})

    def _config_files(self, name: str) -> Path:
        configmap = next(c for c in self.kind("ConfigMap") if c["metadata"]["name"] == name)
        folder = self.workdir / name
        folder.mkdir(exist_ok=True)
        for key, text in configmap["data"].items():
            (folder / key).write_text(text)
        folder.chmod(0o755)
        return folder

    def _empty_dir(self, name: str, group: int, image: str) -> str:
        docker("volume", "rm", "-f", name, check=False)
        docker("volume", "create", name)
        # The kubelet gives an emptyDir to the pod's fsGroup, group-writable.
        command = f"chown 0:{group} /v && chmod 2775 /v"
        docker(
            "run",
            "--rm",
            "--user",
            "0",
            "--entrypoint",
            "sh",
            "-v",
            f"{name}:/v",
            image,
            "-c",
            command,
        )
        self.volumes.append(name)
        return name

    def probe(self, container: str, spec: dict[str, Any]) -> bool:
        if "grpc" in spec:
            grpc = spec["grpc"]
            command = ["plano-extproc", "health", "--port", str(grpc["port"])]
            command += ["--service", grpc.get("service", "")]
        else:
            command = spec["exec"]["command"]
        return docker("exec", container, *command, check=False, timeout=30).returncode == 0

    def wait_ready(self, container: str, component: str) -> None:
        (main,) = self.workload(component)["spec"]["template"]["spec"]["containers"]
        probes = [main[key] for key in ("startupProbe", "readinessProbe") if key in main]
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while time.monotonic() < deadline and self.running(container):
            if all(self.probe(container, p) for p in probes if "tcpSocket" not in p):
                return
            time.sleep(1)
        logs = docker("logs", "--tail", "40", container, check=False)
        raise AssertionError(f"{container} never became ready:\n{logs.stdout}{logs.stderr}")

    @staticmethod
    def running(container: str) -> bool:
        state = docker("inspect", "--format", "{{.State.Running}}", container, check=False)
        return state.stdout.strip() == "true"

    def remove(self) -> None:
        for container in self.containers:
            docker("rm", "-f", container, check=False)
        for volume in self.volumes:
            docker("volume", "rm", "-f", volume, check=False)
        if self.network:
            docker("network", "rm", self.network, check=False)
