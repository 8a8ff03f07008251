"""The `model_providers` section and `model_aliases`: valid and invalid providers, and how a model
reference resolves to one."""

from __future__ import annotations

from plano_extproc.config import ModelProvider, load_config, load_config_text, resolve_model
from plano_extproc.config.reader import unknown_value_message
from plano_extproc.config.spec import ProviderInterface
from plano_extproc.providers.catalog import CATALOG
from plano_extproc.providers.registry import FAMILIES, ProviderApi
from tests.config.support import FIXTURES, HEAD, KEYS, Case, invalid_cases, issues_of


def test_provider_api_follows_interface_then_provider() -> None:
    config = load_config(FIXTURES / "full.yaml", KEYS)

    apis = {provider.name: provider.api for provider in config.providers}
    assert apis["anthropic/claude-sonnet-4-20250514"] is ProviderApi.ANTHROPIC
    assert apis["openai/gpt-4o"] is ProviderApi.OPENAI
    claude_via_proxy = ModelProvider("p/m", "p", "m", provider_interface="claude")
    assert claude_via_proxy.api is ProviderApi.ANTHROPIC


def test_aliases_accept_full_names_entry_names_and_unique_bare_ids() -> None:
    config = load_config(FIXTURES / "legacy_v030.yaml", KEYS)

    assert dict(config.aliases) == {
        "fast-model": "openai/gpt-5.2",
        "reasoning-model": "openai/gpt-5",
        "creative-model": "anthropic/claude-sonnet-4-5",
    }


def test_resolve_model_prefers_exact_names() -> None:
    providers = (
        ModelProvider("openai/gpt-4o", "openai", "gpt-4o"),
        ModelProvider("azure/gpt-4o", "azure", "gpt-4o", label="gpt-4o"),
    )

    assert resolve_model("gpt-4o", providers) == providers[1]
    assert resolve_model("openai/gpt-4o", providers) == providers[0]
    assert resolve_model("o3", providers) == "'o3' is not declared in model_providers"


CASES: list[Case] = [
    (
        "duplicate provider model",
        HEAD + "  - {model: openai/gpt-4o}\n",
        [("model_providers[2].model", "'openai/gpt-4o' is already declared by model_providers[0]")],
    ),
    (
        "duplicate provider name",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: openai/gpt-4o, name: main}\n"
        "  - {model: openai/gpt-4o-mini, name: main}\n"
        "  - {model: openai/o3, name: openai/gpt-4o}\n",
        [
            ("model_providers[1].name", "'main' is already used by model_providers[0]"),
            ("model_providers[2].name", "'openai/gpt-4o' is already used by model_providers[0]"),
        ],
    ),
    (
        "more than one default",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: openai/gpt-4o, default: true}\n"
        "  - {model: openai/o3}\n"
        "  - {model: openai/gpt-4o-mini, default: true}\n",
        [
            (
                "model_providers[2].default",
                "only one provider may be the default; model_providers[0] already is",
            )
        ],
    ),
    (
        "unknown provider key",
        "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o, acces_key: k}]\n",
        [("model_providers[0].acces_key", "unknown key (did you mean 'access_key'?)")],
    ),
    (
        "base_url with a bad scheme",
        "version: v0.4.0\nmodel_providers: [{model: ollama/llama3, base_url: 'ftp://host'}]\n",
        [("model_providers[0].base_url", "must start with http:// or https://")],
    ),
    (
        "base_url with a query",
        "version: v0.4.0\n"
        "model_providers: [{model: ollama/llama3, base_url: 'http://host:11434/v1?x=1'}]\n",
        [("model_providers[0].base_url", "must not contain a query string or fragment")],
    ),
    (
        "base_url with credentials",
        "version: v0.4.0\nmodel_providers: [{model: ollama/llama3, base_url: 'http://u:p@host'}]\n",
        [
            (
                "model_providers[0].base_url",
                "must not contain credentials; use access_key or auth instead",
            )
        ],
    ),
    (
        "provider without a well-known endpoint",
        "version: v0.4.0\nmodel_providers: [{model: ollama/llama3.1}]\n",
        [
            (
                "model_providers[0].base_url",
                "required for provider 'ollama', which has no well-known endpoint",
            )
        ],
    ),
    (
        "model without a provider",
        "version: v0.4.0\nmodel_providers: [{model: gpt-4o}]\n",
        [
            (
                "model_providers[0].model",
                "'gpt-4o' must have the form <provider>/<model_id>, or <provider>/* for every "
                "model of a provider",
            )
        ],
    ),
    (
        "wildcard as the default",
        "version: v0.4.0\nmodel_providers: [{model: openai/*, default: true}]\n",
        [("model_providers[0].default", "'openai/*' is a wildcard; it cannot be the default")],
    ),
    (
        "Azure without base_url",
        "version: v0.4.0\nmodel_providers: [{model: azure_openai/gpt-4o}]\n",
        [
            (
                "model_providers[0].base_url",
                "required for provider 'azure_openai', which has no well-known endpoint",
            )
        ],
    ),
    (
        "Bedrock by its alias without base_url",
        "version: v0.4.0\nmodel_providers: [{model: amazon/amazon.nova-pro-v1:0}]\n",
        [
            (
                "model_providers[0].base_url",
                "required for provider 'amazon', which has no well-known endpoint",
            )
        ],
    ),
    (
        "unknown prefix without provider_interface",
        "version: v0.4.0\nmodel_providers: [{model: vllm/qwen, base_url: 'http://vllm:8000'}]\n",
        [
            (
                "model_providers[0].model",
                "'vllm' is not a known provider ("
                + ", ".join(sorted(FAMILIES))
                + "); a server Plano does not know needs base_url and provider_interface "
                "(missing: provider_interface)",
            )
        ],
    ),
    (
        "provider_interface outside Plano's list",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: vllm/qwen, base_url: 'http://vllm:8000', provider_interface: vllm}\n",
        [
            (
                "model_providers[0].provider_interface",
                unknown_value_message("vllm", [i.value for i in ProviderInterface]),
            )
        ],
    ),
    (
        "provider_interface on a known prefix",
        "version: v0.4.0\nmodel_providers: [{model: groq/llama, provider_interface: openai}]\n",
        [
            (
                "model_providers[0].provider_interface",
                "'groq' is one of Plano's providers, so its model prefix says how to call it; "
                "leave provider_interface out (it is for servers Plano does not know)",
            )
        ],
    ),
    (
        "both provider lists",
        HEAD + "llm_providers: [{model: openai/o3}]\n",
        [
            (
                "llm_providers",
                "use either model_providers or its legacy name llm_providers, not both",
            )
        ],
    ),
    (
        "no providers",
        "version: v0.4.0\nmodel_providers: []\n",
        [("model_providers", "at least one model provider is required")],
    ),
    (
        "providers that are not a list",
        "version: v0.4.0\nmodel_providers: openai/gpt-4o\n",
        [("model_providers", "must be a list, not a string")],
    ),
    (
        "provider entry is not a mapping",
        "version: v0.4.0\nmodel_providers: [openai/gpt-4o]\n",
        [
            ("model_providers[0]", "must be a mapping, not a string"),
        ],
    ),
    (
        "alias to an undeclared model",
        HEAD + "model_aliases: {fast: {target: gpt-5}}\n",
        [("model_aliases.fast.target", "'gpt-5' is not declared in model_providers")],
    ),
    (
        "alias to an ambiguous bare model id",
        HEAD
        + "  - {model: azure/gpt-4o, base_url: 'https://azure.example',\n"
        + "     provider_interface: openai}\n"
        + "model_aliases: {'arch.fast.v1': {target: gpt-4o}}\n",
        [
            (
                "model_aliases['arch.fast.v1'].target",
                "'gpt-4o' matches several providers (openai/gpt-4o, azure/gpt-4o); "
                "use the full provider/model",
            )
        ],
    ),
    (
        "alias hiding a declared model",
        HEAD + "model_aliases: {openai/gpt-4o: {target: openai/gpt-4o-mini}}\n",
        [
            (
                "model_aliases['openai/gpt-4o']",
                "'openai/gpt-4o' is a declared model; an alias may not hide it",
            )
        ],
    ),
    (
        "native messages on a provider that is not Anthropic",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: openai/gpt-4o, access_key: k, upstream_api: messages}\n",
        [
            (
                "model_providers[0].upstream_api",
                "'messages' is only for Anthropic providers (anthropic/*, or provider_interface "
                "anthropic or claude)",
            )
        ],
    ),
    (
        "unknown upstream api",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: anthropic/claude-x, access_key: k, upstream_api: grpc}\n",
        [
            (
                "model_providers[0].upstream_api",
                "unknown value 'grpc'; expected one of: chat_completions, messages",
            )
        ],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected


WILDCARDS = """\
version: v0.4.0
model_providers:
  - model: openai/*
    access_key: $OPENAI_API_KEY
  - model: openai/gpt-4o
    access_key: $ANTHROPIC_API_KEY
  - model: litellm/*
    base_url: https://litellm.example
    provider_interface: openai
    passthrough_auth: true
model_aliases:
  newest: {target: openai/gpt-9-preview}
routing_preferences:
  - name: code
    description: writing code
    models: [openai/gpt-5, litellm/qwen-coder]
"""


def test_a_wildcard_expands_to_its_built_in_list_and_declared_models_keep_their_settings() -> None:
    config = load_config_text(WILDCARDS, KEYS)
    openai = [p for p in config.providers if p.provider == "openai"]
    assert openai[0].is_wildcard
    assert openai[0].name == "openai/*"
    expanded = [p for p in openai if p.wildcard_of == "openai/*"]
    assert [p.model_id for p in expanded] == [m for m in CATALOG["openai"] if m != "gpt-4o"]
    assert all(p.access_key == "sk-openai" for p in expanded)
    assert config.provider_by_name["openai/gpt-4o"].access_key == "sk-ant"
    # A server Plano does not know has no list: its wildcard is matched at request time.
    assert [p.name for p in config.providers if p.provider == "litellm"] == ["litellm/*"]


def test_any_model_under_a_wildcard_prefix_is_served_by_that_entry() -> None:
    config = load_config_text(WILDCARDS, KEYS)
    served = config.provider_by_name["litellm/qwen-coder"]
    assert (served.model_id, served.base_url, served.wildcard_of) == (
        "qwen-coder",
        "https://litellm.example",
        "litellm/*",
    )
    assert "anthropic/claude" not in config.provider_by_name
    assert "litellm/" not in config.provider_by_name
    assert config.aliases["newest"] == "openai/gpt-9-preview"
    assert config.routes[0].models == ("openai/gpt-5", "litellm/qwen-coder")


def test_a_reference_to_the_wildcard_itself_is_refused() -> None:
    text = WILDCARDS.replace("target: openai/gpt-9-preview", "target: openai/*")
    assert issues_of(text) == [
        ("model_aliases.newest.target", "'openai/*' is a wildcard; name one of its models")
    ]


def test_a_wildcard_serves_no_name_past_the_bound() -> None:
    config = load_config_text(WILDCARDS, KEYS)
    assert "litellm/" + "m" * 200 in config.provider_by_name
    assert "litellm/" + "m" * 300 not in config.provider_by_name
