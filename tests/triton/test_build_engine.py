"""triton/build_engine.sh, with stand-ins for tensorrt_llm, transformers and trtllm-build.

No GPU here: the stand-ins record what the script asks of them, and the repository it renders
is checked the way Triton would read it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.triton_repository import MODELS, TRITON_DIR, parse_model_config

SCRIPT = TRITON_DIR / "build_engine.sh"
SCRIPT_TIMEOUT_SECONDS = 60

FAKE_TENSORRT_LLM = """\
import json, pathlib

class QWenForCausalLM:
    def __init__(self, source, dtype):
        self.source, self.dtype = source, dtype

    @classmethod
    def from_hugging_face(cls, source, dtype="auto"):
        return cls(source, dtype)

    def save_checkpoint(self, output_dir, save_config=True):
        path = pathlib.Path(output_dir)
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps({"source": self.source, "dtype": self.dtype}))
"""
FAKE_TRANSFORMERS = """\
import json, pathlib

class AutoTokenizer:
    def __init__(self, source):
        self.source = source

    @classmethod
    def from_pretrained(cls, source):
        return cls(source)

    def save_pretrained(self, output_dir):
        path = pathlib.Path(output_dir)
        path.mkdir(parents=True)
        (path / "tokenizer_config.json").write_text(json.dumps({"source": self.source}))
"""
FAKE_TRTLLM_BUILD = """\
#!/usr/bin/env bash
printf '%s\\n' "$@" > "$FAKE_BUILD_ARGS"
while [ $# -gt 0 ]; do
    if [ "$1" = --output_dir ]; then mkdir -p "$2" && touch "$2/rank0.engine"; fi
    shift
done
"""


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, str]:
    """An environment whose python3 finds the fake packages and whose PATH has trtllm-build."""
    packages = tmp_path / "packages"
    (packages / "tensorrt_llm").mkdir(parents=True)
    (packages / "tensorrt_llm" / "__init__.py").write_text("")
    (packages / "tensorrt_llm" / "models.py").write_text(FAKE_TENSORRT_LLM)
    (packages / "transformers.py").write_text(FAKE_TRANSFORMERS)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    build = bin_dir / "trtllm-build"
    build.write_text(FAKE_TRTLLM_BUILD)
    build.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(packages),
        "FAKE_BUILD_ARGS": str(tmp_path / "trtllm-build.args"),
    }


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "Arch-Router-1.5B"
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    return path


def build(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )


def build_args(env: dict[str, str]) -> list[str]:
    return Path(env["FAKE_BUILD_ARGS"]).read_text().split()


def test_builds_a_bf16_engine_with_paged_context_fmha(
    tools: dict[str, str], checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = build(tools, str(checkpoint), str(out))
    assert result.returncode == 0, result.stderr
    converted = json.loads((out / "trtllm_checkpoint" / "config.json").read_text())
    assert converted == {"source": str(checkpoint), "dtype": "bfloat16"}
    args = build_args(tools)
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert options == {
        "--checkpoint_dir": str(out / "trtllm_checkpoint"),
        "--output_dir": str(out / "model_repository" / "tensorrt_llm" / "1"),
        "--gemm_plugin": "bfloat16",
        "--gpt_attention_plugin": "bfloat16",
        "--use_paged_context_fmha": "enable",
        "--max_beam_width": "1",
        "--max_batch_size": "64",
        "--max_input_len": "4096",
        "--max_seq_len": "4128",
        "--max_num_tokens": "8192",
    }
    assert (out / "model_repository" / "tensorrt_llm" / "1" / "rank0.engine").is_file()
    saved = json.loads((out / "tokenizer" / "tokenizer_config.json").read_text())
    assert saved == {"source": str(checkpoint)}


def test_renders_every_config_with_the_build_values(
    tools: dict[str, str], checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = {**tools, "MAX_BATCH_SIZE": "16", "KV_CACHE_FREE_GPU_MEM_FRACTION": "0.3"}
    assert build(env, str(checkpoint), str(out)).returncode == 0
    assert "16" in build_args(env)
    repository = out / "model_repository"
    configs = {
        model: parse_model_config((repository / model / "config.pbtxt").read_text())
        for model in MODELS
    }
    assert {config.max_batch_size for config in configs.values()} == {16}
    engine = configs["tensorrt_llm"].parameters
    assert engine["gpt_model_path"].string_value == str(repository / "tensorrt_llm" / "1")
    assert engine["kv_cache_free_gpu_mem_fraction"].string_value == "0.3"
    tokenizer = configs["preprocessing"].parameters["tokenizer_dir"].string_value
    assert tokenizer == str(out / "tokenizer")
    assert (repository / "preprocessing" / "1" / "model.py").is_file()
    template = (TRITON_DIR / "model_repository" / "tensorrt_llm" / "config.pbtxt").read_text()
    assert "${engine_dir}" in template


def test_rebuilding_replaces_the_previous_output(
    tools: dict[str, str], checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert build(tools, str(checkpoint), str(out)).returncode == 0
    stale = out / "model_repository" / "tensorrt_llm" / "1" / "stale.engine"
    stale.touch()
    assert build(tools, str(checkpoint), str(out)).returncode == 0
    assert not stale.exists()


def test_refuses_a_directory_that_is_not_a_checkpoint(
    tools: dict[str, str], tmp_path: Path
) -> None:
    result = build(tools, str(tmp_path), str(tmp_path / "out"))
    assert result.returncode == 1
    assert "is not a Hugging Face checkpoint" in result.stderr


def test_usage() -> None:
    result = build(dict(os.environ))
    assert result.returncode == 2
    assert "usage:" in result.stderr
