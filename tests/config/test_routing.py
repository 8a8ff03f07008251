"""The `routing` section (sessions, session cache, classifier) and the router model override:
valid and invalid settings."""

from __future__ import annotations

from plano_extproc.config import (
    ClassifierSettings,
    ClassifierType,
    OpenAIClassifierSettings,
    TritonSettings,
    load_config,
)
from tests.config.support import FIXTURES, HEAD, KEYS, MINIMAL, Case, invalid_cases, issues_of, load


def test_llm_routing_model_selects_the_openai_classifier_on_that_provider() -> None:
    config = load_config(FIXTURES / "plano_router.yaml", KEYS)

    assert config.routing.classifier == ClassifierSettings(
        type=ClassifierType.OPENAI,
        openai=OpenAIClassifierSettings("http://plano-orchestrator:10001", "Plano-Orchestrator"),
    )
    assert "plano/Plano-Orchestrator" in config.provider_by_name
    assert config.warnings == (
        "overrides.agent_orchestration_model: not implemented by plano-extproc; ignored",
    )


def test_llm_routing_model_by_bare_id_carries_key_and_classifier_settings() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          - {model: arch/Arch-Router, base_url: "http://vllm:8000/", access_key: $OPENAI_API_KEY,
             provider_interface: openai}
        overrides: {llm_routing_model: Arch-Router}
        routing: {classifier: {timeout_ms: 900}}
        """
    )

    assert config.routing.classifier == ClassifierSettings(
        type=ClassifierType.OPENAI,
        timeout_ms=900,
        openai=OpenAIClassifierSettings("http://vllm:8000", "Arch-Router", "sk-openai"),
    )


def test_explicit_classifier_type_wins_over_llm_routing_model() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          [{model: arch/Arch-Router, base_url: "http://vllm:8000", provider_interface: openai}]
        overrides: {llm_routing_model: arch/Arch-Router}
        routing: {classifier: {type: lexical}}
        """
    )

    assert config.routing.classifier.type is ClassifierType.LEXICAL
    assert config.warnings == (
        "overrides.llm_routing_model: ignored: routing.classifier.type is set",
    )


def test_triton_classifier_gets_default_settings() -> None:
    config = load(MINIMAL + "    routing: {classifier: {type: triton}}\n")

    assert config.routing.classifier.triton == TritonSettings("localhost:8001", "arch_router")


def test_openai_classifier_block() -> None:
    config = load(
        MINIMAL
        + "    routing:\n"
        + "      classifier:\n"
        + "        type: openai\n"
        + "        openai: {base_url: 'http://ollama:11434/', access_key: $OPENAI_API_KEY}\n"
    )

    assert config.routing.classifier.openai == OpenAIClassifierSettings(
        "http://ollama:11434", "Arch-Router", "sk-openai"
    )


CASES: list[Case] = [
    (
        "unknown nested routing key",
        HEAD + "routing: {classifier: {type: lexical, timeout: 5}}\n",
        [("routing.classifier.timeout", "unknown key (did you mean 'timeout_ms'?)")],
    ),
    (
        "unknown classifier type",
        HEAD + "routing: {classifier: {type: bert}}\n",
        [
            (
                "routing.classifier.type",
                "unknown value 'bert'; expected one of: embedded, lexical, openai, triton",
            )
        ],
    ),
    (
        "openai classifier without base_url",
        HEAD + "routing: {classifier: {type: openai, openai: {model: Arch-Router}}}\n",
        [("routing.classifier.openai.base_url", "required when routing.classifier.type is openai")],
    ),
    (
        "triton url with a scheme",
        HEAD + "routing: {classifier: {type: triton, triton: {url: 'grpc://triton:8001'}}}\n",
        [
            (
                "routing.classifier.triton.url",
                "must be host[:port] without a scheme, as in triton:8001",
            )
        ],
    ),
    (
        "redis session cache without url",
        HEAD + "routing: {session_cache: {type: redis}}\n",
        [("routing.session_cache.url", "required when type is redis")],
    ),
    (
        "session cache url that is not redis",
        HEAD + "routing: {session_cache: {type: redis, url: 'http://redis:6379'}}\n",
        [("routing.session_cache.url", "must start with redis://, rediss:// or unix://")],
    ),
    (
        "session ttl below one",
        HEAD + "routing: {session_ttl_seconds: 0}\n",
        [("routing.session_ttl_seconds", "must be at least 1")],
    ),
    (
        "routing model that is not declared",
        HEAD + "overrides: {llm_routing_model: Arch-Router}\n",
        [("overrides.llm_routing_model", "'Arch-Router' is not declared in model_providers")],
    ),
    (
        "routing model served by the anthropic api",
        "version: v0.4.0\nmodel_providers: [{model: anthropic/claude-haiku}]\n"
        "overrides: {llm_routing_model: anthropic/claude-haiku}\n",
        [
            (
                "overrides.llm_routing_model",
                "'anthropic/claude-haiku' speaks the Anthropic Messages API; "
                "the routing model needs an OpenAI-compatible one",
            )
        ],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
