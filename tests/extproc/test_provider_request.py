"""Per-provider request plans: credentials by wire API, and which providers cannot be used."""

from __future__ import annotations

from plano_extproc.config import load_config_text
from plano_extproc.config.upstreams import upstreams_for
from plano_extproc.extproc.provider_request import ProviderPlan, provider_plan
from plano_extproc.providers.registry import ProviderApi

CONFIG = """
version: v0.4.0
model_providers:
  - model: ollama/llama3.1
    base_url: http://127.0.0.1:11434
    default: true
  - model: openai/gpt-4o
    access_key: $UNSET_OPENAI_KEY
  - model: anthropic/claude-sonnet-4-20250514
    access_key: sk-ant-literal
"""


def _plans() -> dict[str, ProviderPlan]:
    config = load_config_text(CONFIG, {}, require_keys=False)
    upstreams = upstreams_for(config)
    return {p.name: provider_plan(p, upstreams[p.name]) for p in config.providers}


def _names(plan: ProviderPlan, wire: ProviderApi) -> dict[str, str]:
    return {h.header.key: h.header.raw_value.decode() for h in plan.set_headers[wire]}


def test_a_provider_written_without_a_key_is_sent_requests_without_credentials() -> None:
    plan = _plans()["ollama/llama3.1"]
    assert plan.missing_key_env is None
    assert "authorization" not in _names(plan, ProviderApi.OPENAI)
    # The client's own credentials are still never forwarded.
    assert plan.remove_headers == ("authorization", "x-api-key")


def test_a_key_whose_variable_is_unset_makes_the_provider_unusable() -> None:
    assert _plans()["openai/gpt-4o"].missing_key_env == "UNSET_OPENAI_KEY"


def test_an_anthropic_key_goes_by_the_wire_api() -> None:
    plan = _plans()["anthropic/claude-sonnet-4-20250514"]
    assert _names(plan, ProviderApi.OPENAI)["authorization"] == "Bearer sk-ant-literal"
    messages = _names(plan, ProviderApi.ANTHROPIC)
    assert messages["x-api-key"] == "sk-ant-literal"
    assert messages["anthropic-version"] == "2023-06-01"
