"""Loading a whole file: defaults, a full file, the example and Plano's own files, the sections
this service ignores, load_config and load_config_text, versions and YAML, and problems that
are about the file as a whole (every problem of a file is reported together)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plano_extproc.config import (
    ClassifierSettings,
    ClassifierType,
    Config,
    ConfigError,
    CostEndpointSource,
    DigitalOceanPricingSource,
    Listener,
    ModelProvider,
    OpenAIClassifierSettings,
    PrometheusLatencySource,
    RateLimitRule,
    Route,
    RoutingSettings,
    SelectionPolicy,
    SessionCacheSettings,
    SessionCacheType,
    StateStorageSettings,
    StateStorageType,
    TracingSettings,
    TritonSettings,
    load_config,
    load_config_text,
)
from tests.config.support import (
    EXAMPLE,
    FIXTURES,
    HEAD,
    KEYS,
    MINIMAL,
    Case,
    invalid_cases,
    issues_of,
    load,
)


def test_minimal_config_gets_every_default() -> None:
    config = load(MINIMAL)

    assert config == Config(
        version="v0.4.0",
        providers=(
            ModelProvider(
                name="openai/gpt-4o",
                provider="openai",
                model_id="gpt-4o",
                base_url="https://api.openai.com",
            ),
        ),
    )
    assert config.listeners == (Listener("egress_traffic", "0.0.0.0", 12000, 300.0),)
    assert config.routing == RoutingSettings(
        session_ttl_seconds=600,
        session_max_entries=10000,
        session_cache=SessionCacheSettings(SessionCacheType.MEMORY, None, None),
        classifier=ClassifierSettings(ClassifierType.EMBEDDED, 500, None, None, None),
    )
    assert config.routes == ()
    assert dict(config.aliases) == {}
    assert config.warnings == ()
    assert config.default_provider is None
    assert config.cost_source is None
    assert config.latency_source is None


def test_full_fixture_loads_every_field() -> None:
    config = load_config(FIXTURES / "full.yaml", KEYS)

    llama = config.provider_by_name["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    assert (llama.provider, llama.model_id, llama.label) == (
        "together_ai",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "llama-70b",
    )
    assert llama.base_url == "https://api.together.xyz"
    assert (llama.http_host, dict(llama.headers)) == ("api.together.xyz", {"x-team": "routing"})
    assert config.provider_by_name["ollama/llama3.1"].base_url == "http://localhost:11434"
    litellm = config.provider_by_name["litellm/gpt-4.1"]
    assert (litellm.base_url, litellm.passthrough_auth, litellm.provider_interface) == (
        "https://litellm.internal:4000/proxy",
        True,
        "openai",
    )
    assert config.default_provider == config.providers[0]
    assert dict(config.aliases) == {
        "fast-model": "openai/gpt-4o-mini",
        "big-llama": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    }
    assert config.routes[0] == Route(
        name="code_generation",
        description="generating new code snippets, writing functions, or creating boilerplate",
        models=("anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"),
        policy=SelectionPolicy.FASTEST,
        examples=("Write a binary search in Python",),
    )
    assert [route.policy for route in config.routes] == ["fastest", "cheapest", "random"]
    assert config.cost_source == CostEndpointSource("https://pricing.internal/costs", "tok", 300.0)
    assert config.latency_source == PrometheusLatencySource(
        "http://localhost:9090", "model_latency_p95_seconds", 60.0
    )
    assert config.listeners == (Listener("egress_traffic", "127.0.0.1", 12000, 300.0),)
    assert config.routing == RoutingSettings(
        session_ttl_seconds=900,
        session_max_entries=5000,
        session_cache=SessionCacheSettings(
            SessionCacheType.REDIS, "redis://localhost:6379/0", "x-tenant-id"
        ),
        classifier=ClassifierSettings(
            type=ClassifierType.TRITON,
            timeout_ms=250,
            threshold=0.35,
            triton=TritonSettings("triton:8001", "arch_router"),
            openai=OpenAIClassifierSettings("http://vllm:8000", "Arch-Router", "sk-openai"),
        ),
    )
    assert config.ratelimits == (
        RateLimitRule("openai/gpt-4o-mini", "x-user-id", None, 100_000, 3600),
        RateLimitRule("openai/gpt-4o", "x-tenant-id", "acme", 5000, 60),
    )
    assert config.warnings == ()


def test_keys_never_appear_in_repr() -> None:
    config = load_config(FIXTURES / "full.yaml", KEYS)

    text = repr(config)
    assert "sk-openai" not in text
    assert "tok" not in repr(config.cost_source)


# -- the example file and Plano's own files --------------------------------------------


def test_example_loads_without_any_key_when_keys_are_optional() -> None:
    config = load_config(EXAMPLE, env={}, require_keys=False)

    assert [provider.name for provider in config.providers] == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-20250514",
    ]
    assert config.default_provider == config.providers[0]
    assert [(route.name, route.models) for route in config.routes] == [
        ("code_generation", ("anthropic/claude-sonnet-4-20250514", "openai/gpt-4o")),
        ("complex_reasoning", ("openai/gpt-4o", "openai/gpt-4o-mini")),
    ]
    # Plano's demo routes as written: descriptions only.
    assert all(
        route.policy is SelectionPolicy.NONE and not route.examples for route in config.routes
    )
    assert config.routes[0].description == (
        "generating new code snippets, writing functions, or creating boilerplate"
    )
    assert config.routes[1].description == (
        "complex reasoning tasks, multi-step analysis, or detailed explanations"
    )
    assert config.metrics_sources == ()
    assert config.routing.classifier.type is ClassifierType.EMBEDDED
    assert len(config.warnings) == 3


def test_example_is_strict_about_keys_by_default() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, env={})
    assert [issue.location for issue in caught.value.issues] == [
        "model_providers[0].access_key",
        "model_providers[1].access_key",
        "model_providers[2].access_key",
    ]

    config = load_config(EXAMPLE, env=KEYS)
    assert config.providers[2].access_key == "sk-ant"
    assert config.warnings == ()


def test_plano_demo_config_loads() -> None:
    config = load_config(FIXTURES / "plano_demo.yaml", KEYS)

    assert isinstance(config.cost_source, DigitalOceanPricingSource)
    assert dict(config.cost_source.model_aliases) == {
        "openai-gpt-4o": "openai/gpt-4o",
        "openai-gpt-4o-mini": "openai/gpt-4o-mini",
    }
    assert [route.policy for route in config.routes] == ["cheapest", "fastest"]
    assert config.listeners[0].name == "model_listener"


def test_plano_sections_are_accepted_with_warnings() -> None:
    config = load_config(FIXTURES / "plano_sections.yaml", KEYS)

    assert config.listeners == (Listener("llm", "0.0.0.0", 12000, 300.0, max_retries=3),)
    assert config.state_storage == StateStorageSettings(StateStorageType.MEMORY)
    assert config.tracing == TracingSettings("http://localhost:4317", 100.0)
    assert config.warnings == (
        "mode: not implemented by plano-extproc; ignored",
        "system_prompt: not implemented by plano-extproc; ignored",
        "agents: not implemented by plano-extproc; ignored",
        "filters: not implemented by plano-extproc; ignored",
        "endpoints: not implemented by plano-extproc; ignored",
        "prompt_targets: not implemented by plano-extproc; ignored",
        "prompt_guards: not implemented by plano-extproc; ignored",
        "prompt_caching: not implemented by plano-extproc; ignored",
        "listeners[1].router: not implemented by plano-extproc; ignored",
        "listeners[1].agents: not implemented by plano-extproc; ignored",
        "listeners[1].type: 'agent' listeners are not implemented; this listener is ignored",
        "overrides.optimize_context_window: not implemented by plano-extproc; ignored",
        "overrides.upstream_connect_timeout: not implemented by plano-extproc; ignored",
        "routing.routing_budget: not implemented by plano-extproc; ignored",
        "tracing.trace_arch_internal: not implemented by plano-extproc; ignored",
    )


# -- load_config, load_config_text, versions and YAML ----------------------------------


def test_load_config_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)

    assert load_config(EXAMPLE).providers[0].access_key == "sk-openai"


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as caught:
        load_config(missing)

    assert str(caught.value) == f"cannot read {missing}: No such file or directory"


def test_config_text_default_env_is_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANO_TEST_KEY", "from-env")
    text = (
        "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o, access_key: $PLANO_TEST_KEY}]\n"
    )

    assert load_config_text(text).providers[0].access_key == "from-env"


def test_newer_version_loads_with_a_warning() -> None:
    config = load(MINIMAL.replace("v0.4.0", "v0.5.1"))

    assert config.warnings == ("version: v0.5.1 is newer than v0.4.0, the format implemented here",)


def test_yaml_merge_keys_are_not_mistaken_for_duplicates() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          - &gpt {model: openai/gpt-4o, access_key: shared}
          - <<: *gpt
            model: openai/o3
        """
    )

    assert [(p.name, p.access_key) for p in config.providers] == [
        ("openai/gpt-4o", "shared"),
        ("openai/o3", "shared"),
    ]


# -- invalid files ---------------------------------------------------------------------


CASES: list[Case] = [
    (
        "yaml syntax error",
        "version: v0.4.0\nmodel_providers: [\n  {model: openai/gpt-4o\n",
        [("", "invalid YAML at line 4, column 1: expected ',' or '}', but got '<stream end>'")],
    ),
    (
        "duplicate yaml key",
        HEAD + "version: v0.4.0\n",
        [("", "duplicate key 'version' at line 5, column 1")],
    ),
    ("empty file", "", [("", "the configuration is empty")]),
    ("not a mapping", "- a\n- b\n", [("", "the configuration must be a mapping, not a list")]),
    (
        "missing version",
        "model_providers: [{model: openai/gpt-4o}]\n",
        [("version", "missing required key")],
    ),
    (
        "version is not a string",
        "version: 0.4\nmodel_providers: [{model: openai/gpt-4o}]\n",
        [("version", "must be a string, not a number")],
    ),
    (
        "malformed version",
        "version: four\nmodel_providers: [{model: openai/gpt-4o}]\n",
        [("version", "'four' is not a version such as v0.4.0")],
    ),
    (
        "unknown top-level key",
        HEAD + "routing_preference: []\n",
        [("routing_preference", "unknown key (did you mean 'routing_preferences'?)")],
    ),
    (
        "wrong mapping types",
        "version: v0.4.0\nmodel_providers:\n"
        "  - {model: openai/gpt-4o, headers: {x-team: 1}, default: 'yes please'}\n"
        "model_aliases: [fast]\n"
        "routing: {classifier: {threshold: high}}\n",
        [
            ("model_providers[0].default", "must be a boolean, not a string"),
            ("model_providers[0].headers.x-team", "must be a string, not an integer"),
            ("model_aliases", "must be a mapping, not a list"),
            ("routing.classifier.threshold", "must be a number, not a string"),
        ],
    ),
    (
        "non-string keys",
        "version: v0.4.0\n1: x\nmodel_providers: [{model: openai/gpt-4o}]\n"
        "model_aliases: {2: {target: openai/gpt-4o}}\n",
        [
            ("", "keys must be strings, not an integer"),
            ("model_aliases", "keys must be strings, not an integer"),
        ],
    ),
    (
        "yaml control character",
        "version: v0.4.0\x07\n",
        [
            (
                "",
                "invalid YAML: unacceptable character #x0007: special characters are not "
                'allowed in "<unicode string>", position 15',
            )
        ],
    ),
    (
        "yaml unhashable key",
        "version: v0.4.0\n? [a]\n: 1\n",
        [("", "invalid YAML at line 2, column 3: found unhashable key")],
    ),
    (
        "entries of the wrong shape",
        "version: 2024-01-01\n"
        "model_providers:\n"
        "  - null\n"
        "  - model: openai/gpt-4o\n"
        "    passthrough_auth: {a: 1}\n"
        "    routing_preferences: [{name: x}, {description: y}]\n"
        "routing_preferences: [code]\n"
        "model_aliases: {fast: openai/gpt-4o}\n"
        "model_metrics_sources: [{type: 5}, {type: cost, provider: 5}]\n"
        "routing: {classifier: {type: 5}}\n",
        [
            ("version", "must be a string, not a date"),
            ("model_providers[0]", "must be a mapping, not null"),
            ("model_providers[1].passthrough_auth", "must be a boolean, not a mapping"),
            ("model_providers[1].routing_preferences[0].description", "missing required key"),
            ("model_providers[1].routing_preferences[1].name", "missing required key"),
            ("model_metrics_sources[0].type", "must be a string, not an integer"),
            ("model_metrics_sources[1].provider", "must be a string, not an integer"),
            ("routing_preferences[0]", "must be a mapping, not a string"),
            ("model_aliases.fast", "must be a mapping, not a string"),
            ("routing.classifier.type", "must be a string, not an integer"),
        ],
    ),
    (
        "blank strings",
        "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o, name: '  '}]\n",
        [("model_providers[0].name", "must not be empty")],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected


def test_every_problem_of_a_file_is_reported_together() -> None:
    text = """\
        version: v0.4.0
        listeners: [{type: model, name: egress, port: http}]
        model_providers:
          - {model: openai/gpt-4o, access_key: $OPENAI_API_KEY, default: true}
          - {model: openai/gpt-4o, default: true}
          - {model: ollama/llama3}
        routing_preferences:
          - {name: code, description: code, models: [openai/gpt-5],
             selection_policy: {prefer: cheapest}}
          - {name: code, description: again, models: [openai/gpt-4o], colour: red}
        routing: {classifier: {type: openai}, session_cache: {type: redis}}
        tracing: {random_sampling: 10}
    """
    assert issues_of(text, env={}) == [
        ("listeners[0].port", "must be an integer, not a string"),
        ("model_providers[0].access_key", "environment variable OPENAI_API_KEY is unset or empty"),
        (
            "model_providers[2].base_url",
            "required for provider 'ollama', which has no well-known endpoint",
        ),
        ("model_providers[1].model", "'openai/gpt-4o' is already declared by model_providers[0]"),
        (
            "model_providers[1].default",
            "only one provider may be the default; model_providers[0] already is",
        ),
        ("routing_preferences[0].models[0]", "'openai/gpt-5' is not declared in model_providers"),
        (
            "routing_preferences[0].selection_policy.prefer",
            "'cheapest' needs a cost source in model_metrics_sources "
            "(digitalocean_pricing or cost_metrics)",
        ),
        (
            "routing_preferences[1].colour",
            "unknown key; expected one of: description, examples, models, name, selection_policy",
        ),
        ("routing_preferences[1].name", "'code' is already declared by routing_preferences[0]"),
        ("routing.session_cache.url", "required when type is redis"),
        ("routing.classifier.openai.base_url", "required when routing.classifier.type is openai"),
    ]
