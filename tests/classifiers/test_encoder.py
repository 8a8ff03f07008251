"""The ONNX Runtime encoder against reference embeddings from sentence-transformers + torch.

`data/minilm_reference.json` holds the unit embeddings that sentence-transformers (on torch)
computed for three texts with the same weights; it was generated once, so that this suite
checks the graph built in `bert_onnx` against the reference implementation without torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plano_extproc.classifiers.encoder import (
    MAX_BATCH_TOKENS,
    SentenceEncoder,
    _chunks,
    background_sentences,
    load_encoder,
)

REFERENCE = json.loads((Path(__file__).parent / "data/minilm_reference.json").read_text())


def _raw_units(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    raw = encoder._raw(texts)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


@pytest.mark.parametrize(("quantize", "minimum_cosine"), [(False, 0.99999), (True, 0.98)])
def test_matches_sentence_transformers(quantize: bool, minimum_cosine: float) -> None:
    encoder = load_encoder(quantize=quantize)
    expected = np.array(REFERENCE["vectors"], dtype=np.float32)
    cosines = (_raw_units(encoder, REFERENCE["texts"]) * expected).sum(axis=1)
    assert cosines.min() >= minimum_cosine


def test_embeddings_are_centred_unit_vectors() -> None:
    encoder = load_encoder()
    vectors = encoder.encode(["hello", "Book a table for two tonight"])
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The background's own mean direction is removed: its centred vectors average near zero.
    assert np.linalg.norm(encoder.encode(background_sentences()).mean(axis=0)) < 0.2


def test_batching_and_padding_do_not_change_embeddings() -> None:
    encoder = load_encoder()
    long_text = " ".join(["tokens"] * 200)  # truncated to the model's limit
    texts = ["hi", long_text, "Write quicksort in Go", *[long_text + f" {n}" for n in range(20)]]
    passes = encoder.forward_passes
    together = encoder.encode(texts)
    assert encoder.forward_passes - passes > 1  # long texts are not padded into one batch
    alone = np.concatenate([encoder.encode([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_chunks_never_pad_past_the_token_budget() -> None:
    lengths = [3, 5, 128, 128, 128, 7, 64, 64]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    chunks = _chunks(order, lengths)
    assert sorted(row for chunk in chunks for row in chunk) == list(range(len(lengths)))
    for chunk in chunks:
        assert len(chunk) * max(lengths[row] for row in chunk) <= MAX_BATCH_TOKENS
