"""The CPU stand-in repository: the engine's interface unchanged, every placeholder filled, and
a tokenizer that round-trips any text with Qwen's chat markers as single tokens."""

from __future__ import annotations

import json
import runpy
import string
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from tests.support.triton_repository import (
    MODELS,
    SAMPLE_VALUES,
    TRITON_DIR,
    load_model_config,
    parse_model_config,
)

PREPARE = runpy.run_path(str(TRITON_DIR / "cpu_standin" / "prepare_repository.py"))
STANDIN_CONFIG = TRITON_DIR / "cpu_standin" / "tensorrt_llm" / "config.pbtxt"


def test_the_stand_in_takes_and_returns_the_engines_tensors() -> None:
    real = load_model_config("tensorrt_llm")
    text = string.Template(STANDIN_CONFIG.read_text()).substitute(SAMPLE_VALUES)
    standin = parse_model_config(text)

    assert standin.name == real.name
    assert standin.backend == "python"
    assert list(standin.input) == list(real.input)
    assert list(standin.output) == list(real.output)
    assert standin.max_batch_size == real.max_batch_size


def test_the_repository_is_filled_with_the_stand_in(tmp_path: Path) -> None:
    tokenizer = PREPARE["build_tokenizer"](tmp_path / "tokenizer")
    repository = PREPARE["fill_repository"](tmp_path / "repository", tokenizer)

    assert sorted(p.name for p in repository.iterdir()) == sorted(MODELS)
    for config in repository.glob("*/config.pbtxt"):
        assert "${" not in config.read_text(), config
    engine = parse_model_config((repository / "tensorrt_llm" / "config.pbtxt").read_text())
    assert engine.backend == "python"
    assert engine.parameters["tokenizer_dir"].string_value == str(tokenizer.resolve())
    assert (repository / "tensorrt_llm" / "1" / "model.py").exists()


@pytest.mark.parametrize(
    "text", ['<|im_start|>user\n{"route": "x"} héllo 数字 🚀<|im_end|>\n', "", '}"}']
)
def test_the_tokenizer_round_trips_text(tmp_path: Path, text: str) -> None:
    # transformers loads it in Triton (test_triton_real.py); the file itself is the tokenizers'.
    directory = PREPARE["build_tokenizer"](tmp_path)
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    settings = json.loads((directory / "tokenizer_config.json").read_text())

    ids = tokenizer.encode(text, add_special_tokens=False).ids

    assert tokenizer.decode(ids, skip_special_tokens=False) == text
    assert settings["eos_token"] == "<|im_end|>"
    marker = tokenizer.encode("<|im_start|>", add_special_tokens=False).ids
    assert marker == [tokenizer.token_to_id("<|im_start|>")]
