"""Each invalid configuration is rejected with exactly these issues: location and message."""

from __future__ import annotations

from tests.config.support import HEAD, Case, invalid_cases, issues_of

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
