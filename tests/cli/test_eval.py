from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from plano_extproc.classifiers.factory import UnavailableClassifier
from plano_extproc.cli import eval as eval_command
from plano_extproc.cli.main import build_parser, main
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    OpenAIClassifierSettings,
    TritonSettings,
)
from tests.eval.support import CASES, write_dataset, write_json_lines
from tests.support.upstream import JsonReply, UpstreamServer, running_upstream

CHAT_PATH = "/v1/chat/completions"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def dataset(tmp_path: Path) -> list[str]:
    routes, cases = write_dataset(tmp_path)
    return ["eval", "--routes", str(routes), "--cases", str(cases)]


@pytest.fixture(scope="module")
def server() -> Iterator[UpstreamServer]:
    with running_upstream() as upstream:
        yield upstream


def router_answer(route: str) -> JsonReply:
    content = json.dumps({"route": route})
    return JsonReply(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})


def last_json_line(out: str) -> dict:
    return json.loads(out.splitlines()[-1])


def test_lexical_end_to_end_with_json(
    capsys: pytest.CaptureFixture[str], dataset: list[str]
) -> None:
    assert main([*dataset, "--classifier", "lexical", "--json"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("cases                      5\naccuracy               80.0%\n")
    assert "\ncode             2     100.0%   50.0%  other x1\n" in out.out
    report = last_json_line(out.out)
    assert report["classifier"] == "lexical"
    assert (report["n"], report["accuracy"], report["in_route_top1"]) == (5, 0.8, 0.75)
    assert (report["other_precision"], report["other_recall"]) == (0.5, 1.0)
    assert report["errors"] == 0
    assert out.err == ""  # not a terminal: no progress bar


def test_without_json_no_json_line(capsys: pytest.CaptureFixture[str], dataset: list[str]) -> None:
    assert main([*dataset, "--classifier", "lexical"]) == 0
    assert not capsys.readouterr().out.splitlines()[-1].startswith("{")


def test_threshold_reaches_the_classifier(
    capsys: pytest.CaptureFixture[str], dataset: list[str]
) -> None:
    assert main([*dataset, "--classifier", "lexical", "--threshold", "100", "--json"]) == 0
    assert last_json_line(capsys.readouterr().out)["other_precision"] == 1 / 5


def test_concurrency_gives_the_same_numbers(
    capsys: pytest.CaptureFixture[str], dataset: list[str]
) -> None:
    reports = []
    for concurrency in ("1", "4"):
        main([*dataset, "--classifier", "lexical", "--json", "--concurrency", concurrency])
        report = last_json_line(capsys.readouterr().out)
        del report["p50_ms"], report["p95_ms"]
        reports.append(report)
    assert reports[0] == reports[1]


def test_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dataset: list[str]
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main([*dataset, "--classifier", "lexical", "--json"]) == 0
    assert terminal.getvalue().count("\r") == len(CASES)
    assert terminal.getvalue().endswith("] 5/5\n")
    assert "\r" not in capsys.readouterr().out


def test_bad_case_line_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: list[str]
) -> None:
    cases = write_json_lines(tmp_path / "bad.jsonl", [CASES[0], {"messages": [], "gold": "code"}])
    assert main([*dataset[:-1], str(cases), "--classifier", "lexical", "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == f"eval: {cases}:2: messages: must contain at least one message\n"


def test_unknown_gold_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: list[str]
) -> None:
    cases = write_json_lines(tmp_path / "bad.jsonl", [{**CASES[0], "gold": "poetry"}])
    assert main([*dataset[:-1], str(cases), "--classifier", "lexical"]) == 2
    assert f"{cases}:1: gold: 'poetry' is neither a route" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--classifier", "lexical", "--base-url", "http://x"], "--base-url does not apply"),
        (["--classifier", "openai", "--url", "x:1"], "--url does not apply"),
        (["--classifier", "lexical", "--model", "m"], "--model does not apply"),
        (["--classifier", "openai"], "the openai classifier needs --base-url"),
        (["--classifier", "lexical", "--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_usage_problems_exit_2(
    capsys: pytest.CaptureFixture[str], dataset: list[str], options: list[str], problem: str
) -> None:
    assert main([*dataset, *options]) == 2
    assert problem in capsys.readouterr().err


def test_unavailable_classifier_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dataset: list[str]
) -> None:
    def unavailable(settings: ClassifierSettings) -> None:
        raise UnavailableClassifier(f"'{settings.type}' is not available in this build")

    monkeypatch.setattr(eval_command, "build_classifier", unavailable)
    assert main([*dataset, "--classifier", "triton"]) == 2
    assert capsys.readouterr().err == "eval: 'triton' is not available in this build\n"


def settings_for(*options: str) -> ClassifierSettings:
    args = build_parser().parse_args(["eval", "--routes", "r", "--cases", "c", *options])
    return eval_command.classifier_settings(args)


def test_openai_options_map_to_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_KEY", "secret")
    settings = settings_for(
        "--classifier",
        "openai",
        "--base-url",
        "http://vllm:8000/",
        "--access-key-env",
        "ROUTER_KEY",
    )
    assert settings.type is ClassifierType.OPENAI
    assert settings.openai == OpenAIClassifierSettings("http://vllm:8000", access_key="secret")
    named = settings_for("--classifier", "openai", "--base-url", "http://h", "--model", "r-1.5b")
    assert named.openai == OpenAIClassifierSettings("http://h", model="r-1.5b")


def test_unset_access_key_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_KEY", raising=False)
    with pytest.raises(eval_command.UsageError, match="ROUTER_KEY is unset"):
        settings_for(
            "--classifier", "openai", "--base-url", "http://h", "--access-key-env", "ROUTER_KEY"
        )


def test_triton_options_map_to_settings() -> None:
    assert settings_for("--classifier", "triton").triton == TritonSettings()
    custom = settings_for("--classifier", "triton", "--url", "triton:9001", "--model", "m")
    assert custom.triton == TritonSettings(url="triton:9001", model="m")
    assert settings_for("--classifier", "lexical", "--threshold", "2").threshold == 2.0


def test_openai_end_to_end_and_failures_exit_1(
    capsys: pytest.CaptureFixture[str], server: UpstreamServer, dataset: list[str]
) -> None:
    server.reset()
    replies = [router_answer(r) for r in ("code", "translation", "other", "translation")]
    server.script(CHAT_PATH, *replies, JsonReply(503, {"error": "overloaded"}))
    status = main([*dataset, "--classifier", "openai", "--base-url", server.url, "--json"])
    out = capsys.readouterr()
    assert status == 1
    report = last_json_line(out.out)
    assert (report["classifier"], report["n"], report["errors"]) == ("openai", 5, 1)
    assert report["accuracy"] == 0.8
    assert out.err == "eval: the classifier failed on 1 case(s)\n"
    assert len(server.requests_to(CHAT_PATH)) == 5
