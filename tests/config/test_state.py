"""The `state_storage` section: invalid settings (valid ones load in test_loader's Plano sections
test)."""

from __future__ import annotations

from tests.config.support import HEAD, Case, invalid_cases, issues_of

CASES: list[Case] = [
    (
        "redis state storage without a url",
        HEAD + "state_storage: {type: redis}\n",
        [("state_storage.url", "required when type is redis")],
    ),
    (
        "state storage without a type",
        HEAD + "state_storage: {ttl_seconds: 60}\n",
        [("state_storage.type", "missing required key")],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected
