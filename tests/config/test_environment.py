"""Keys and URLs read through `Environment`: expansion and the require_keys policy, on its own
and through whole files."""

from __future__ import annotations

import pytest

from plano_extproc.config import ConfigError
from plano_extproc.config.environment import Environment
from plano_extproc.config.reader import Issues, Section
from tests.config.support import HEAD, Case, invalid_cases, issues_of, load

UNSET = "environment variable MISSING is unset or empty"


def section(**data: object) -> Section:
    return Section(dict(data), "entry", Issues())


def test_secret_expands_and_names_its_variable() -> None:
    entry = section(access_key="${KEY}")
    assert Environment({"KEY": "sk"}).secret(entry, "access_key") == ("sk", "KEY")
    assert not entry.issues.errors


def test_unset_secret_is_an_error_only_when_keys_are_required() -> None:
    required, optional, unneeded = (section(access_key="$MISSING") for _ in range(3))
    Environment({}).secret(required, "access_key")
    Environment({}, require_keys=False).secret(optional, "access_key")
    Environment({}).secret(unneeded, "access_key", needed=False)
    assert [str(issue) for issue in required.issues.errors] == [f"entry.access_key: {UNSET}"]
    for entry in (optional, unneeded):
        assert not entry.issues.errors
        assert [issue.message for issue in entry.issues.warnings] == [
            f"{UNSET}; continuing without this key"
        ]


def test_url_with_unset_variable_is_an_error_even_without_required_keys() -> None:
    entry = section(url="http://$MISSING:8080")
    assert Environment({}, require_keys=False).http_url(entry, "url") is None
    assert [issue.message for issue in entry.issues.errors] == [UNSET]


def test_redis_url_is_required_for_redis() -> None:
    entry = section(type="redis")
    assert Environment({}).redis_url(entry, required=True) is None
    assert [(issue.location, issue.message) for issue in entry.issues.errors] == [
        ("entry.url", "required when type is redis")
    ]


# -- through whole files ---------------------------------------------------------------


def test_both_variable_forms_are_expanded_in_keys_and_urls() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          - model: vllm/qwen
            provider_interface: openai
            base_url: http://${VLLM_HOST}:8000/$PREFIX
            access_key: key-${TEAM}-$SUFFIX
          - model: openai/gpt-4o
            access_key: cost$5 and $ alone
        """,
        env={"VLLM_HOST": "gpu-1", "PREFIX": "v2", "TEAM": "ml", "SUFFIX": "x"},
    )

    qwen, gpt = config.providers
    assert qwen.base_url == "http://gpu-1:8000/v2"
    assert (qwen.access_key, qwen.access_key_env) == ("key-ml-x", "TEAM")
    assert (gpt.access_key, gpt.access_key_env) == ("cost$5 and $ alone", None)


def test_unset_key_is_an_error_naming_field_and_variable_but_never_a_value() -> None:
    issues = issues_of(
        """\
        version: v0.4.0
        model_providers:
          - {model: openai/gpt-4o, access_key: $OPENAI_API_KEY}
          - {model: openai/o3, access_key: "$EMPTY_KEY"}
        """,
        env={"EMPTY_KEY": ""},
    )

    assert issues == [
        ("model_providers[0].access_key", "environment variable OPENAI_API_KEY is unset or empty"),
        ("model_providers[1].access_key", "environment variable EMPTY_KEY is unset or empty"),
    ]


def test_lenient_loading_turns_unset_keys_into_warnings() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers: [{model: openai/gpt-4o, access_key: $OPENAI_API_KEY}]
        """,
        env={},
        require_keys=False,
    )

    provider = config.providers[0]
    assert (provider.access_key, provider.access_key_env) == (None, "OPENAI_API_KEY")
    assert config.warnings == (
        "model_providers[0].access_key: environment variable OPENAI_API_KEY is unset or empty; "
        "continuing without this key",
    )


def test_unset_url_variable_is_an_error_even_when_lenient() -> None:
    text = """\
        version: v0.4.0
        model_providers:
          [{model: vllm/qwen, base_url: "http://$VLLM_HOST:8000", provider_interface: openai}]
    """
    with pytest.raises(ConfigError) as caught:
        load(text, env={}, require_keys=False)

    assert [str(issue) for issue in caught.value.issues] == [
        "model_providers[0].base_url: environment variable VLLM_HOST is unset or empty"
    ]


def test_passthrough_provider_never_needs_its_key() -> None:
    config = load(
        """\
        version: v0.4.0
        model_providers:
          - {model: litellm/gpt-4o, base_url: "http://litellm:4000", passthrough_auth: true,
             access_key: $LITELLM_KEY, provider_interface: openai}
        """,
        env={},
    )

    assert config.providers[0].access_key is None
    assert config.warnings == (
        "model_providers[0].access_key: environment variable LITELLM_KEY is unset or empty; "
        "continuing without this key",
        "model_providers[0].access_key: ignored: passthrough_auth is true",
    )


CASES: list[Case] = [
    (
        "unset variable for an access key",
        "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o, access_key: $MISSING_KEY}]\n",
        [("model_providers[0].access_key", "environment variable MISSING_KEY is unset or empty")],
    ),
    (
        "unset variable for a bearer token",
        HEAD + "model_metrics_sources:\n"
        "  - {type: cost_metrics, url: 'https://p/costs',\n"
        "     auth: {type: bearer, token: '${NOPE}'}}\n",
        [("model_metrics_sources[0].auth.token", "environment variable NOPE is unset or empty")],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
