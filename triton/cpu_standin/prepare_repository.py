"""A servable copy of ../model_repository for a machine without a GPU: the real ensemble,
preprocessing and postprocessing, with the stand-in engine (tensorrt_llm/ here) in place of
TensorRT-LLM, and a small tokenizer built offline. NOT Arch-Router: see tensorrt_llm/1/model.py.

    python triton/cpu_standin/prepare_repository.py OUT_DIR [--tokenizer-dir DIR]

writes OUT_DIR/model_repository (every ${...} filled) and, unless --tokenizer-dir names a
Hugging Face tokenizer to use instead (Qwen's, where one is on disk), OUT_DIR/tokenizer: a
byte-level BPE trained here on a fixed text, with Qwen's chat markers as special tokens (so
any text round-trips; its ids are not Qwen's). Needs the `tokenizers` package.
"""

from __future__ import annotations

import argparse
import json
import shutil
import string
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent / "model_repository"
STANDIN = HERE / "tensorrt_llm"
ENGINE = "tensorrt_llm"
MAX_BATCH_SIZE = 64
IM_START, IM_END, END_OF_TEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
VOCAB_SIZE = 2000
# What the merges are learnt from: the shapes of a routing prompt (JSON, XML-ish tags, English).
CORPUS = (
    '{"route": "other"} {"route": "code_generation"} {"name": "x", "description": "y"}',
    '<routes> </routes> <conversation> </conversation> [{"role": "user", "content": "hi"}]',
    "You are a helpful assistant designed to find the best suited route for the user intent.",
    "Write a Python function that sorts a list. Explain the trade-offs of microservices.",
)


def build_tokenizer(out: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[END_OF_TEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 8, trainer=trainer)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out / "tokenizer.json"))
    settings = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": IM_END,
        "pad_token": END_OF_TEXT,
        "model_max_length": 32768,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(settings, indent=2) + "\n")
    return out


def fill_repository(out: Path, tokenizer_dir: Path, max_batch_size: int = MAX_BATCH_SIZE) -> Path:
    """The repository with the stand-in engine, its placeholders filled as build_engine.sh
    fills them (the engine's own, unused here, with inert values)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(REPOSITORY, out)
    shutil.rmtree(out / ENGINE)
    shutil.copytree(STANDIN, out / ENGINE, ignore=shutil.ignore_patterns("__pycache__"))
    values = {
        "max_batch_size": str(max_batch_size),
        "tokenizer_dir": str(tokenizer_dir.resolve()),
        "engine_dir": str((out / ENGINE / "1").resolve()),
        "kv_cache_free_gpu_mem_fraction": "0.5",
    }
    for config in sorted(out.glob("*/config.pbtxt")):
        config.write_text(string.Template(config.read_text()).substitute(values))
    for cache in out.rglob("__pycache__"):
        shutil.rmtree(cache)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tokenizer-dir", type=Path, help="a Hugging Face tokenizer to use")
    args = parser.parse_args()
    tokenizer = args.tokenizer_dir or build_tokenizer(args.out / "tokenizer")
    print(fill_repository(args.out / "model_repository", tokenizer))


if __name__ == "__main__":
    main()
