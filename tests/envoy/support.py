"""Running the real Envoy binary on a generated config, and configs built for the tests."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from plano_extproc.cli.up import installed_executable
from plano_extproc.config import Config, load_config, load_config_text
from tests.support import gateway as gateway_support

ENVOY = installed_executable("envoy")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
COMMITTED_ENVOY_YAML = ROOT / "envoy" / "envoy.yaml"

HTTPS_PROVIDERS = """\
  - {model: openai/gpt-4o, access_key: $OPENAI_API_KEY, default: true}
  - {model: anthropic/claude-sonnet-4-20250514, access_key: $ANTHROPIC_API_KEY}
  - {model: groq/llama-3.1-8b-instant, access_key: $GROQ_API_KEY}
  - {model: mistral/mistral-large-latest, headers: {X-Tenant-Id: demo}}
  - {model: vllm/llama-3.1, base_url: 'https://10.1.2.3:8443/v1', provider_interface: openai}
"""
# Two attempt timeouts (the default 30 s and 2.5 s) and a policy without `on_timeout`.
TIMED_PROVIDERS = """\
  - model: openai/gpt-4o
    default: true
    retry_policy: {on_timeout: {strategy: different_provider}}
  - model: anthropic/claude-sonnet-4-20250514
    retry_policy: {on_timeout: {attempt_timeout_seconds: 2.5}}
  - model: groq/llama-3.1-8b-instant
    retry_policy: {fallback_models: [openai/gpt-4o]}
"""
LOCAL_PROVIDERS = """\
  - {model: ollama/llama3.1, base_url: 'http://127.0.0.1:11434', default: true}
  - {model: ollama/qwen2.5, base_url: 'http://127.0.0.1:11434/v1'}
  - {model: lmstudio/phi-4, base_url: 'http://localhost:1234', provider_interface: openai}
"""


def config_from(
    providers: str,
    *,
    listeners: str = "",
    routing: str = "",
) -> Config:
    """A v0.4.0 config from YAML fragments (keys not required: the tests never call a provider)."""
    text = f"version: v0.4.0\n{listeners}model_providers:\n{providers}{routing}"
    return load_config_text(text, {}, require_keys=False)


def listener(
    port: int, timeout: str = "30s", address: str = "127.0.0.1", max_retries: int = 0
) -> str:
    return (
        "listeners:\n"
        f"  - {{type: model, name: egress_traffic, address: {address}, port: {port},"
        f" timeout: {timeout}, max_retries: {max_retries}}}\n"
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


@contextlib.contextmanager
def running_envoy(config_yaml: str, workdir: Path, listener_port: int) -> Iterator[str]:
    """Envoy on `config_yaml` until the block ends; yields the listener's base URL."""
    config_file = workdir / "envoy.yaml"
    config_file.write_text(config_yaml)
    with gateway_support.running_envoy(config_file, workdir, listener_port) as envoy:
        yield envoy.base_url
