"""Rendering the Helm chart with the real helm binary (`make helm` puts it in .tools/)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "plano-extproc"
MATRIX = sorted((CHART / "ci").glob("*-values.yaml"))
HELM = Path(os.environ.get("HELM", ROOT / ".tools" / "helm"))
RELEASE = "gw"
NAMESPACE = "llm"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM.exists(), f"{HELM} is missing: run `make helm`"
    return subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, timeout=120, check=False
    )


def render_text(*options: str) -> str:
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *options)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered_notes(tmp_path: Path, *options: str) -> str:
    """NOTES.txt as `helm install` prints it; helm renders NOTES only for a cluster, so a copy of
    the chart renders it through `tpl` as an ordinary template."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "NOTES.txt").rename(chart / "NOTES.preview")
    preview = '{{ dict "notes" (tpl (.Files.Get "NOTES.preview") .) | toYaml }}'
    (chart / "templates" / "notes-preview.yaml").write_text(preview)
    result = helm(
        "template",
        "gw",
        str(chart),
        "--namespace",
        NAMESPACE,
        *options,
        "--show-only",
        "templates/notes-preview.yaml",
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["notes"]


@dataclass(frozen=True)
class Rendered:
    """The manifests of one `helm template`, looked up by kind and component."""

    documents: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, *options: str) -> Rendered:
        documents = (d for d in yaml.safe_load_all(render_text(*options)) if d)
        return cls(tuple(documents))

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] == kind]

    def find(self, kind: str, component: str) -> dict[str, Any] | None:
        for document in self.all(kind):
            if component_of(document) == component:
                return document
        return None

    def one(self, kind: str, component: str) -> dict[str, Any]:
        document = self.find(kind, component)
        assert document is not None, f"no {kind} for {component}"
        return document

    def plano_config(self) -> str:
        return self.one("ConfigMap", "config")["data"]["config.yaml"]

    def pod_specs(self) -> list[tuple[str, dict[str, Any]]]:
        """(workload name, pod spec) of every Deployment and StatefulSet."""
        workloads = self.all("Deployment") + self.all("StatefulSet")
        return [(w["metadata"]["name"], w["spec"]["template"]["spec"]) for w in workloads]


def component_of(document: dict[str, Any]) -> str | None:
    return document["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in containers(pod) if c["name"] == name)


def values_name(path: Path) -> str:
    return path.name.removesuffix("-values.yaml")


def values(path: Path) -> tuple[str, ...]:
    return ("--values", str(path))


# The provider keys the chart's tests give, never real ones.
KEYS = {"OPENAI_API_KEY": "sk-test-openai-not-real", "ANTHROPIC_API_KEY": "sk-test-anthropic"}
