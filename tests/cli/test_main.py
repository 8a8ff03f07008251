from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from plano_extproc.classifiers.factory import UnavailableClassifier
from plano_extproc.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "config.example.yaml")
REQUESTS = ROOT / "demo" / "requests"
CODE_MODELS = ["anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"]
REASONING_MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini"]


def route(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    status = main(["route", "--config", EXAMPLE, *args])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("request_file", "api", "route_name", "models"),
    [
        ("1_code_generation.chat.json", "chat", "code_generation", CODE_MODELS),
        ("2_complex_reasoning.chat.json", "chat", "complex_reasoning", REASONING_MODELS),
        ("3_no_match.chat.json", "chat", None, ["none"]),
        ("4_code_generation.messages.json", "messages", "code_generation", CODE_MODELS),
        # The embedded model reads this one as about tables, not code (README, "Try it").
        ("5_code_generation.responses.json", "responses", None, ["none"]),
        ("6_inline_routing.chat.json", "chat", "coding", REASONING_MODELS),
    ],
)
def test_seed_demo_requests(
    capsys: pytest.CaptureFixture[str],
    request_file: str,
    api: str,
    route_name: str | None,
    models: list[str],
) -> None:
    status, decision = route(capsys, "--api", api, str(REQUESTS / request_file))
    assert status == 0
    assert list(decision) == ["models", "route", "trace_id"]
    assert (decision["route"], decision["models"]) == (route_name, models)


def test_affinity_header_adds_session_fields(capsys: pytest.CaptureFixture[str]) -> None:
    status, decision = route(
        capsys,
        "-H",
        "X-Model-Affinity: demo-session-001",
        "-H",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        str(REQUESTS / "1_code_generation.chat.json"),
    )
    assert status == 0
    assert decision == {
        "models": CODE_MODELS,
        "route": "code_generation",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "session_id": "demo-session-001",
        "pinned": False,
    }


def test_request_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (REQUESTS / "1_code_generation.chat.json").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))
    status, decision = route(capsys, "-")
    assert (status, decision["route"]) == (0, "code_generation")


def test_invalid_request_prints_error_body(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "gpt-4o-mini", "messages": [{"role": "user"}]}')
    status, body = route(capsys, "--api", "messages", str(bad))
    assert status == 1
    assert body["error"]["code"] == "InvalidRequest"
    assert body["error"]["details"]["reason"] == "missing_field"


def test_route_with_unavailable_classifier_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every classifier type is installed here, so the factory is made to refuse one.
    def unavailable(*_: object) -> None:
        raise UnavailableClassifier("routing.classifier.type 'triton' is not available")

    monkeypatch.setattr("plano_extproc.routing.router.build_classifier", unavailable)
    status = main(["route", "--config", EXAMPLE, str(REQUESTS / "3_no_match.chat.json")])
    assert status == 2
    assert "'triton' is not available" in capsys.readouterr().err


def test_route_with_invalid_config_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("version: v0.4.0\nmodel_providers: []\n")
    status = main(["route", "--config", str(config), str(REQUESTS / "3_no_match.chat.json")])
    assert status == 2
    assert "model_providers" in capsys.readouterr().err


def test_bad_header_syntax_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["route", "--config", EXAMPLE, "-H", "no-colon", "-"])
    assert caught.value.code == 2


def test_check_config_accepts_example_without_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["check-config", "--allow-missing-keys", EXAMPLE]) == 0
    out = capsys.readouterr()
    assert "ok (3 providers, 2 routes)" in out.out
    assert "OPENAI_API_KEY is unset" in out.err


def test_check_config_is_strict_about_keys_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    assert main(["check-config", EXAMPLE]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "model_providers[0].access_key: environment variable OPENAI_API_KEY" in err


def test_check_config_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "version: v0.4.0\n"
        "model_providers:\n"
        "  - model: openai/gpt-4o\n    default: true\n"
        "  - model: openai/gpt-4o-mini\n    default: true\n"
        "routing_preferences:\n"
        "  - name: r\n    description: d\n    models: [openai/gpt-5]\n"
    )
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "routing_preferences[0].models[0]" in err
