from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import yaml

from plano_extproc.auth.keys import KEY_PREFIX, MAX_KEY_CHARS, KeyTable, hash_key
from plano_extproc.cli import keys
from plano_extproc.cli.main import main
from plano_extproc.config import Config, load_config_text

CONFIG_HEAD = """\
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o, access_key: k}
  - {model: openai/gpt-4o-mini, access_key: k}
model_aliases:
  fast: {target: openai/gpt-4o-mini}
auth:
  api_keys:
"""
PASTE_HERE = "Paste this entry under auth.api_keys in your config:"


def run_keys(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["keys", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def printed_key(out: str) -> str:
    (key,) = re.findall(rf"^  ({re.escape(KEY_PREFIX)}\S+)$", out, re.MULTILINE)
    return key


def pasted_entry(out: str) -> str:
    _head, separator, entry = out.partition(PASTE_HERE + "\n\n")
    assert separator, out
    return entry


def loaded_with(entry: str) -> Config:
    """The config loader's view of the entry pasted where it says."""
    return load_config_text(CONFIG_HEAD + entry, {})


def test_a_new_key_is_printed_once_with_an_entry_the_loader_accepts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--name", "team-a", "--team", "platform", "--models", "openai/gpt-4o,fast"]
    status, out, err = run_keys(capsys, *args, "--expires", "2099-12-31")
    assert (status, err) == (0, "")
    key = printed_key(out)
    assert out.count(key) == 1
    assert "shown only this once" in out
    assert "stores only its sha256" in out
    entry = pasted_entry(out)
    assert key not in entry
    (parsed,) = yaml.safe_load(entry)
    assert parsed == {
        "name": "team-a",
        "key_sha256": hash_key(key),
        "team": "platform",
        "models": ["openai/gpt-4o", "fast"],
        "expires": dt.date(2099, 12, 31),
    }
    config = loaded_with(entry)
    assert config.auth is not None
    known = KeyTable(config.auth.api_keys).lookup(key)
    assert known is not None
    assert known.entry.name == "team-a"
    assert known.entry.models is not None
    assert known.entry.models.names == {"openai/gpt-4o", "openai/gpt-4o-mini"}


def test_every_run_makes_a_different_key(capsys: pytest.CaptureFixture[str]) -> None:
    first = printed_key(run_keys(capsys, "--name", "a")[1])
    second = printed_key(run_keys(capsys, "--name", "a")[1])
    assert first != second
    assert first.startswith(KEY_PREFIX)
    assert len(first) >= len(KEY_PREFIX) + 43


def test_optional_fields_are_left_out_and_models_repeat_or_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = pasted_entry(run_keys(capsys, "--name", "ci")[1])
    assert list(yaml.safe_load(entry)[0]) == ["name", "key_sha256"]
    many = ["--models", "openai/gpt-4o", "--models", "fast, openai/gpt-4o"]
    entry = pasted_entry(run_keys(capsys, "--name", "ci", *many)[1])
    assert yaml.safe_load(entry)[0]["models"] == ["openai/gpt-4o", "fast"]


def test_values_yaml_would_misread_are_quoted() -> None:
    entry = keys.entry_yaml("yes", "0" * 64, "1.0", ["no", "on"], None)
    assert yaml.safe_load(entry) == [
        {"name": "yes", "key_sha256": "0" * 64, "team": "1.0", "models": ["no", "on"]}
    ]


def test_hash_reads_a_key_from_stdin_and_prints_only_its_entry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pk-existing\n"))
    status, out, err = run_keys(capsys, "--name", "legacy", "--hash")
    assert (status, err) == (0, "")
    assert "pk-existing" not in out
    assert yaml.safe_load(out) == [{"name": "legacy", "key_sha256": hash_key("pk-existing")}]
    assert loaded_with(out).auth is not None


def test_hash_reads_a_terminal_without_echo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("never read"))
    prompts: list[str] = []
    monkeypatch.setattr(keys.getpass, "getpass", lambda prompt: prompts.append(prompt) or "pk-t")
    status, out, _ = run_keys(capsys, "--name", "a", "--hash")
    assert status == 0
    assert len(prompts) == 1
    assert yaml.safe_load(out)[0]["key_sha256"] == hash_key("pk-t")


@pytest.mark.parametrize(
    "stdin",
    [
        "",
        "  \n",
        "pk-s3cr3t two\n",
        "pk-s3cr3t\npk-s3cr3t\n",
        "pk-s3cr3tä\n",
        "s3cr3t" * (MAX_KEY_CHARS // 6 + 1),
    ],
)
def test_hash_refuses_what_no_client_could_send_without_repeating_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status, out, err = run_keys(capsys, "--name", "a", "--hash")
    assert (status, out) == (2, "")
    assert err.startswith("keys --hash:")
    assert "s3cr3t" not in err


@pytest.mark.parametrize(
    "expires", ["2027-02-30", "20270630", "2027-W26-3", "30/06/2027", "tomorrow", "2000-01-01"]
)
def test_bad_dates_are_rejected_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], expires: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", "--name", "a", "--expires", expires])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--expires" in captured.err


def test_today_is_still_a_valid_last_day(capsys: pytest.CaptureFixture[str]) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    status, out, _ = run_keys(capsys, "--name", "a", "--expires", today)
    assert status == 0
    assert f"expires: {today}" in pasted_entry(out)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--name", "team a"],
        ["--name", "x" * 65],
        ["--name", "a", "--team", "ops team"],
        ["--name", "a", "--models", "openai/gpt-4o,,fast"],
    ],
)
def test_bad_names_are_rejected_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", *args])
    assert exited.value.code == 2
    assert capsys.readouterr().out == ""
