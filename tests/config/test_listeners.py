"""The `listeners` section: v0.4.0 listeners and the legacy mapping, valid and invalid."""

from __future__ import annotations

import pytest

from plano_extproc.config import Listener, load_config
from tests.config.support import FIXTURES, HEAD, KEYS, MINIMAL, Case, invalid_cases, issues_of, load

DURATION_HINT = "a number of seconds or a string such as 500ms, 30s, 5m, 1h"


def test_legacy_listener_mapping_gives_the_egress_listener() -> None:
    config = load_config(FIXTURES / "legacy_v030.yaml", KEYS)

    assert config.listeners == (Listener("egress_traffic", "0.0.0.0", 12000, 30.0),)


def test_empty_legacy_listener_mapping_falls_back_to_the_default_listener() -> None:
    assert load(MINIMAL + "    listeners: {}\n").listeners == (Listener(),)


def test_legacy_ingress_listener_is_ignored_with_a_warning() -> None:
    config = load(
        MINIMAL + "    listeners: {ingress_traffic: {port: 10000}}\n",
    )

    assert config.listeners == (Listener(),)
    assert config.warnings == (
        "listeners.ingress_traffic: not implemented by plano-extproc; ignored",
    )


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [("500ms", 0.5), ("300s", 300.0), ("5m", 300.0), ("1h", 3600.0), (45, 45.0)],
)
def test_listener_timeouts(timeout: object, seconds: float) -> None:
    config = load(MINIMAL + f"    listeners: [{{type: model, name: l, timeout: {timeout}}}]\n")

    assert config.listeners[0].timeout_seconds == seconds


CASES: list[Case] = [
    (
        "port is not an integer",
        HEAD + "listeners: [{type: model, name: egress, port: '12000'}]\n",
        [("listeners[0].port", "must be an integer, not a string")],
    ),
    (
        "port out of range",
        HEAD + "listeners: [{type: model, name: egress, port: 70000}]\n",
        [("listeners[0].port", "must be between 1 and 65535")],
    ),
    (
        "bad listener timeout",
        HEAD + "listeners: [{type: model, name: egress, timeout: 5 minutes}]\n",
        [("listeners[0].timeout", f"must be a positive duration: {DURATION_HINT}")],
    ),
    (
        "unknown listener type",
        HEAD + "listeners: [{type: gateway, name: egress}]\n",
        [("listeners[0].type", "unknown value 'gateway'; expected one of: agent, model, prompt")],
    ),
    (
        "listener name and address clash",
        HEAD + "listeners: [{type: model, name: a}, {type: model, name: a}]\n",
        [
            ("listeners[1].name", "'a' is already declared by listeners[0]"),
            ("listeners[1].port", "0.0.0.0:12000 is already used by listeners[0]"),
        ],
    ),
    (
        "listeners of the wrong type",
        HEAD + "listeners: egress\n",
        [("listeners", "must be a list, not a string")],
    ),
    (
        "listener that is not a mapping",
        HEAD + "listeners: [true]\n",
        [("listeners[0]", "must be a mapping, not a boolean")],
    ),
    (
        "legacy listener with an unknown message format",
        HEAD + "listeners: {egress_traffic: {port: 12000, message_format: anthropic}}\n",
        [
            (
                "listeners.egress_traffic.message_format",
                "unknown value 'anthropic'; expected one of: openai",
            )
        ],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
