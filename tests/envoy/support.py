"""Running the real Envoy binary on a generated config, and configs built for the tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from plano_extproc.config import Config, load_config, load_config_text

ENVOY = shutil.which("envoy")
STARTUP_SECONDS = 15.0
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
COMMITTED_ENVOY_YAML = ROOT / "envoy" / "envoy.yaml"

HTTPS_PROVIDERS = """\
  - {model: openai/gpt-4o, access_key: $OPENAI_API_KEY, default: true}
  - {model: anthropic/claude-sonnet-4-20250514, access_key: $ANTHROPIC_API_KEY}
  - {model: groq/llama-3.1-8b-instant, access_key: $GROQ_API_KEY}
  - {model: mistral/mistral-large-latest, headers: {X-Tenant-Id: demo}}
  - {model: vllm/llama-3.1, base_url: 'https://10.1.2.3:8443/v1'}
"""
LOCAL_PROVIDERS = """\
  - {model: ollama/llama3.1, base_url: 'http://127.0.0.1:11434', default: true}
  - {model: ollama/qwen2.5, base_url: 'http://127.0.0.1:11434/v1'}
  - {model: lmstudio/phi-4, base_url: 'http://localhost:1234'}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config_from(
    providers: str,
    *,
    listeners: str = "",
    routing: str = "",
) -> Config:
    """A v0.4.0 config from YAML fragments (keys not required: the tests never call a provider)."""
    text = f"version: v0.4.0\n{listeners}model_providers:\n{providers}{routing}"
    return load_config_text(text, {}, require_keys=False)


def listener(port: int, timeout: str = "30s", address: str = "127.0.0.1") -> str:
    return (
        "listeners:\n"
        f"  - {{type: model, name: egress_traffic, address: {address}, port: {port},"
        f" timeout: {timeout}}}\n"
    )


def classifier_timeout(milliseconds: int) -> str:
    return f"routing: {{classifier: {{type: lexical, timeout_ms: {milliseconds}}}}}\n"


def example_config() -> Config:
    return load_config(EXAMPLE, require_keys=False)


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    assert ENVOY is not None
    return subprocess.run(
        [ENVOY, "--mode", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"envoy exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"envoy did not start within {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def running_envoy(config_yaml: str, workdir: Path, listener_port: int) -> Iterator[str]:
    """Starts Envoy (no hot restart, so parallel instances never share memory) and yields the
    listener's base URL; Envoy is always killed afterwards."""
    assert ENVOY is not None
    config_file = workdir / "envoy.yaml"
    config_file.write_text(config_yaml)
    log = workdir / "envoy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                ENVOY,
                "-c",
                str(config_file),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warning",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{listener_port}"
    try:
        _wait_until_serving(process, base_url, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
