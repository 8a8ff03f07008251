"""`make e2e`: build the images, start the compose stack, run tests/compose against it, and
take the stack down again whatever happened; then run the Helm chart's rendered pods in Docker
(tests/chart_pods) with the same images.

    python deploy/compose/e2e.py [--skip-build]

Builds the way a machine without a registry must (deploy/README.md): a debootstrap base image
(kept once built), the wheels on the host, then the images with WHEELS=local. The stack runs
with its `triton-cpu` profile (a real Triton on a CPU, tests/compose/test_triton_cpu.py). Uses
`docker compose` when the plugin is there, else `docker-compose` (which lacks `--wait`: the
script waits for every container's health itself). Prints the stack's start time and the
suite's time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "compose" / "compose.yaml"
PROJECT = "plano-e2e"
BASE_IMAGE = "plano-base:bookworm"
HEALTHY_TIMEOUT_S = 300.0
STACK_URL = "http://127.0.0.1:12000"
ENV = {
    **os.environ,
    "PLANO_IMAGE": "plano-extproc:local",
    "PLANO_TEST_IMAGE": "plano-extproc:test",
    "REDIS_IMAGE": BASE_IMAGE,
    "PLANO_TRITON_CPU_IMAGE": "plano-triton-cpu:local",
}
# The optional services started with the stack: Triton on a CPU (GPU, metrics and tracing are
# only checked for validity).
STARTED_PROFILES = ["--profile", "triton-cpu"]


def compose_command() -> list[str]:
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose", "-p", PROJECT, "-f", str(COMPOSE_FILE)]
    if shutil.which("docker-compose") is None:
        sys.exit("neither `docker compose` nor `docker-compose` is installed")
    return ["docker-compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "--compatibility"]


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env or ENV, cwd=REPO)


def build() -> None:
    have_base = subprocess.run(
        ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, check=False
    )
    if have_base.returncode != 0:
        run(["bash", "deploy/docker/build-base-image.sh", BASE_IMAGE])
    run(["bash", "deploy/docker/build-wheels.sh"], env={**ENV, "TRITON_CPU": "1"})
    common = ["docker", "build", "-q", "-f", "deploy/docker/Dockerfile"]
    common += ["--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "WHEELS=local"]
    run([*common, "-t", ENV["PLANO_IMAGE"], "."])
    run([*common, "--build-arg", "EXTRAS=test", "-t", ENV["PLANO_TEST_IMAGE"], "."])
    triton = ["docker", "build", "-q", "-f", "deploy/docker/Dockerfile.triton-cpu"]
    triton += ["--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "WHEELS=local"]
    run([*triton, "-t", ENV["PLANO_TRITON_CPU_IMAGE"], "."])


def wait_healthy(compose: list[str]) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        ids = subprocess.run(
            [*compose, "ps", "-q"], capture_output=True, text=True, env=ENV, check=True
        ).stdout.split()
        states = [_health(container) for container in ids]
        if ids and all(state == "healthy" for state in states):
            return
        if "unhealthy" in states or "exited" in states:
            break
        time.sleep(1)
    subprocess.run([*compose, "ps"], env=ENV, check=False)
    subprocess.run([*compose, "logs", "--tail", "40"], env=ENV, check=False)
    raise SystemExit("the stack did not become healthy")


def _health(container: str) -> str:
    raw = subprocess.run(
        ["docker", "inspect", "--format", "{{json .State}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state = json.loads(raw)
    if state.get("Status") == "exited":
        return "exited"
    return state.get("Health", {}).get("Status", "none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    compose = compose_command()
    if not args.skip_build:
        build_started = time.monotonic()
        build()
        print(f"images built in {time.monotonic() - build_started:.1f} s", flush=True)
    # Valid with and without the optional profiles (Triton cannot run here, and the profiles'
    # images cannot be pulled).
    run([*compose, "config", "-q"])
    profiles = ["--profile", "gpu", "--profile", "metrics", "--profile", "tracing"]
    profiles += STARTED_PROFILES
    run([*compose, *profiles, "config", "-q"])
    started = time.monotonic()
    try:
        run([*compose, *STARTED_PROFILES, "up", "-d"])
        wait_healthy([*compose, *STARTED_PROFILES])
        stack_s = time.monotonic() - started
        print(f"stack healthy in {stack_s:.1f} s", flush=True)
        suite_started = time.monotonic()
        env = {
            **ENV,
            "PLANO_STACK_URL": "http://127.0.0.1:12000",
            "PLANO_COMPOSE": json.dumps(compose),
        }
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/compose"],
            cwd=REPO,
            env=env,
            check=False,
        )
        print(f"stack start {stack_s:.1f} s, suite {time.monotonic() - suite_started:.1f} s")
    finally:
        down = [*compose, *STARTED_PROFILES, "down", "-v", "--remove-orphans"]
        subprocess.run(down, env=ENV, check=False)
    return result.returncode or run_chart_pods()


def run_chart_pods() -> int:
    """The Helm chart's pods, rendered by helm and run in Docker (tests/chart_pods)."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/chart_pods"]
    print("+", " ".join(command), flush=True)
    env = {**ENV, "PLANO_CHART_PODS": "1"}
    result = subprocess.run(command, cwd=REPO, env=env, check=False)
    print(f"chart pods {time.monotonic() - started:.1f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
