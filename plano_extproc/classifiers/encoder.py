"""all-MiniLM-L6-v2 sentence embeddings on the CPU with ONNX Runtime, from the shipped weights.

The graph is built from the safetensors weights at load time (`bert_onnx`), int8-quantized by
default, and run by ONNX Runtime; the tokenizer is the model's own `tokenizer.json` under the
Rust `tokenizers` library. No torch, no hub access: loading takes about a second and the
process stays small.

Embeddings are centred on the mean of a small generic corpus (`background.txt`) and
re-normalised. Raw MiniLM vectors share a large common component, so short or generic texts
("hi", "tell me a joke") look somewhat similar to everything; centring removes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
from collections.abc import Sequence
from importlib import resources

import numpy as np
import onnx
import onnxruntime
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from plano_extproc.classifiers.bert_onnx import (
    ATTENTION_MASK,
    EMBEDDINGS,
    POOLED,
    BertShape,
    TokenEmbeddings,
    build_model,
)
from plano_extproc.classifiers.model_files import ModelFiles, locate_model_files

# The model was trained on at most 128 word pieces; a long message keeps its head, where a
# request usually says what it wants, and the cost of a forward pass stays bounded.
MAX_TOKENS = 128
# Padded tokens per forward pass: a long message is not batched with many short ones, which
# would otherwise all be padded to its length.
MAX_BATCH_TOKENS = 2048
MAX_PADDING_RATIO = 1.25
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


class SentenceEncoder:
    """Blocking encoder; run it off the event loop. `forward_passes` counts model calls."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        embeddings: TokenEmbeddings,
        session: onnxruntime.InferenceSession,
        background: Sequence[str],
    ) -> None:
        self._tokenizer = tokenizer
        self._embeddings = embeddings
        self._session = session
        self.forward_passes = 0
        self.center = _unit(self._raw(background)).mean(axis=0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32), one row per text (at least one), in the centred space."""
        return _unit(_unit(self._raw(texts)) - self.center)

    def _raw(self, texts: Sequence[str]) -> np.ndarray:
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda row: len(ids[row]))
        out = np.empty((len(ids), self.dimensions), dtype=np.float32)
        for chunk in _chunks(order, [len(row) for row in ids]):
            input_ids, mask = _padded([ids[row] for row in chunk])
            feed = {EMBEDDINGS: self._embeddings(input_ids), ATTENTION_MASK: mask}
            (pooled,) = self._session.run([POOLED], feed)
            out[chunk] = pooled
            self.forward_passes += 1
        return out

    @property
    def dimensions(self) -> int:
        return int(self._session.get_outputs()[0].shape[1])


def _chunks(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Rows in `order` (shortest first) grouped so that padding stays small: a group ends
    when the next row would pad it past MAX_BATCH_TOKENS, or is much longer than its first
    row (padded tokens cost as much as real ones)."""
    chunks: list[list[int]] = []
    for row in order:
        # Sorted by length, so `row` is the longest of its group so far.
        if (
            chunks
            and (len(chunks[-1]) + 1) * lengths[row] <= MAX_BATCH_TOKENS
            and lengths[row] <= MAX_PADDING_RATIO * lengths[chunks[-1][0]] + 2
        ):
            chunks[-1].append(row)
        else:
            chunks.append([row])
    return chunks


def _padded(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for index, row in enumerate(ids):
        input_ids[index, : len(row)] = row
        mask[index, : len(row)] = 1
    return input_ids, mask


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def background_sentences() -> list[str]:
    text = resources.files(__package__).joinpath("background.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


@functools.cache
def load_encoder(*, quantize: bool = True, threads: int = 1) -> SentenceEncoder:
    """The process-wide encoder for these settings (loading takes about a second)."""
    files = locate_model_files()
    weights = load_file(str(files.weights))
    shape = BertShape.from_config(json.loads(files.config.read_text(encoding="utf-8")))
    embeddings = TokenEmbeddings.from_weights(weights)
    session = _session(build_model(weights, shape, quantize=quantize), threads)
    del weights
    encoder = SentenceEncoder(_tokenizer(files), embeddings, session, background_sentences())
    release_free_memory()
    return encoder


def _tokenizer(files: ModelFiles) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def _session(model: onnx.ModelProto, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Idle pool threads would otherwise spin on a core that the event loop needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The fused kernels of the higher levels (skip layer norm, attention) run slower on these
    # small matrices than the plain operators: measured in bench/encoders.py's setting.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    # Shapes change with every batch: an arena would keep the largest one's memory forever.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """glibc gives every thread that allocates an arena of its own and keeps what is freed in
    it; with inference threads, gRPC's and the loop's, that is tens of MB held for nothing.
    Call before those threads start. A no-op without glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Hands freed heap back to the OS: the weights as read, the graph and its serialized copy
    (a few hundred MB at load), which glibc would otherwise keep. A no-op without glibc."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
