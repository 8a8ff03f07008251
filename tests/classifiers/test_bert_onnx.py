"""The hand-built BERT ONNX graph against a plain numpy BERT, on a tiny random model."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from plano_extproc.classifiers.bert_onnx import (
    ATTENTION_MASK,
    EMBEDDINGS,
    OPSET,
    POOLED,
    BertShape,
    TokenEmbeddings,
    _Graph,
    build_model,
    quantize_columns,
)

SHAPE = BertShape(layers=2, hidden=8, heads=2, layer_norm_eps=1e-12)
INTERMEDIATE = 16
VOCABULARY = 20
MAX_POSITIONS = 16

Weights = dict[str, np.ndarray]
Encode = Callable[[np.ndarray, np.ndarray], np.ndarray]


# quantize_columns


def test_quantize_columns_scales_per_column() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(12, 5)).astype(np.float32) * np.array([0.01, 1, 10, 100, 0.5])
    quantized, scales = quantize_columns(matrix.astype(np.float32))
    assert quantized.dtype == np.int8
    assert quantized.shape == matrix.shape
    assert scales.shape == (5,)
    np.testing.assert_allclose(scales, np.abs(matrix).max(axis=0) / 127.0, rtol=1e-6)
    # Each column's largest magnitude maps to ±127.
    np.testing.assert_array_equal(np.abs(quantized.astype(np.int32)).max(axis=0), [127] * 5)


def test_quantize_columns_reconstruction_error_is_at_most_half_a_step() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(64, 7)).astype(np.float32) * rng.uniform(0.01, 5, size=7)
    quantized, scales = quantize_columns(matrix.astype(np.float32))
    error = np.abs(quantized.astype(np.float32) * scales - matrix)
    assert (error <= scales / 2 + 1e-6).all()


def test_quantize_columns_zero_column() -> None:
    matrix = np.array([[0.0, 1.0], [0.0, -2.0]], dtype=np.float32)
    quantized, scales = quantize_columns(matrix)
    assert np.isfinite(scales).all()
    assert scales[0] == 1.0
    np.testing.assert_array_equal(quantized[:, 0], [0, 0])
    np.testing.assert_array_equal(quantized[:, 1], [64, -127])


# A tiny random BERT


def random_weights(seed: int = 0) -> Weights:
    rng = np.random.default_rng(seed)

    def array(*shape: int, scale: float = 0.5) -> np.ndarray:
        return (rng.normal(size=shape) * scale).astype(np.float32)

    hidden = SHAPE.hidden
    weights: Weights = {
        "embeddings.word_embeddings.weight": array(VOCABULARY, hidden),
        "embeddings.position_embeddings.weight": array(MAX_POSITIONS, hidden),
        "embeddings.token_type_embeddings.weight": array(2, hidden),
        "embeddings.LayerNorm.weight": 1 + array(hidden, scale=0.1),
        "embeddings.LayerNorm.bias": array(hidden, scale=0.1),
    }
    linear_shapes = {
        "attention.self.query": (hidden, hidden),
        "attention.self.key": (hidden, hidden),
        "attention.self.value": (hidden, hidden),
        "attention.output.dense": (hidden, hidden),
        "intermediate.dense": (INTERMEDIATE, hidden),
        "output.dense": (hidden, INTERMEDIATE),
    }
    for layer in range(SHAPE.layers):
        prefix = f"encoder.layer.{layer}"
        for name, (outputs, inputs) in linear_shapes.items():
            weights[f"{prefix}.{name}.weight"] = array(outputs, inputs)  # torch layout
            weights[f"{prefix}.{name}.bias"] = array(outputs, scale=0.1)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{prefix}.{norm}.weight"] = 1 + array(hidden, scale=0.1)
            weights[f"{prefix}.{norm}.bias"] = array(hidden, scale=0.1)
    return weights


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def encoder_of(weights: Weights, *, quantize: bool) -> Encode:
    """Token ids and mask → pooled rows: the numpy embedding lookup, then the graph."""
    embeddings = TokenEmbeddings.from_weights(weights)
    graph = session(build_model(weights, SHAPE, quantize=quantize))

    def encode(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {EMBEDDINGS: embeddings(ids), ATTENTION_MASK: mask.astype(np.int64)}
        (pooled,) = graph.run([POOLED], feeds)
        return np.asarray(pooled)

    return encode


# The numpy reference, in float64


def layer_norm(x: np.ndarray, weights: Weights, prefix: str) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normalized = (x - mean) / np.sqrt(variance + SHAPE.layer_norm_eps)
    return normalized * weights[f"{prefix}.weight"] + weights[f"{prefix}.bias"]


def linear(x: np.ndarray, weights: Weights, prefix: str) -> np.ndarray:
    return x @ weights[f"{prefix}.weight"].T.astype(np.float64) + weights[f"{prefix}.bias"]


_erf = np.vectorize(math.erf)


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def self_attention(x: np.ndarray, mask: np.ndarray, weights: Weights, prefix: str) -> np.ndarray:
    batch, tokens, hidden = x.shape
    head_size = hidden // SHAPE.heads

    def heads(name: str) -> np.ndarray:
        projected = linear(x, weights, f"{prefix}.{name}")
        return projected.reshape(batch, tokens, SHAPE.heads, head_size).transpose(0, 2, 1, 3)

    scores = heads("query") @ heads("key").transpose(0, 1, 3, 2) / math.sqrt(head_size)
    scores = np.where(mask[:, np.newaxis, np.newaxis, :] > 0, scores, -np.inf)
    context = softmax(scores) @ heads("value")
    return context.transpose(0, 2, 1, 3).reshape(batch, tokens, hidden)


def reference(weights: Weights, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT + masked mean pooling, written out plainly (the word table rounded to half
    precision, as `TokenEmbeddings` stores it)."""
    w = {key: value.astype(np.float64) for key, value in weights.items()}
    w["embeddings.word_embeddings.weight"] = (
        weights["embeddings.word_embeddings.weight"].astype(np.float16).astype(np.float64)
    )
    tokens = ids.shape[1]
    hidden = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:tokens]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    hidden = layer_norm(hidden, w, "embeddings.LayerNorm")
    for layer in range(SHAPE.layers):
        prefix = f"encoder.layer.{layer}"
        attended = self_attention(hidden, mask, w, f"{prefix}.attention.self")
        projected = linear(attended, w, f"{prefix}.attention.output.dense")
        hidden = layer_norm(projected + hidden, w, f"{prefix}.attention.output.LayerNorm")
        expanded = gelu(linear(hidden, w, f"{prefix}.intermediate.dense"))
        output = linear(expanded, w, f"{prefix}.output.dense")
        hidden = layer_norm(output + hidden, w, f"{prefix}.output.LayerNorm")
    weights_per_token = mask[:, :, np.newaxis].astype(np.float64)
    return (hidden * weights_per_token).sum(axis=1) / weights_per_token.sum(axis=1)


def padded_batch() -> tuple[np.ndarray, np.ndarray]:
    """Three texts of 7, 4 and 2 tokens, padded (id 0) to 7."""
    ids = np.array(
        [
            [1, 5, 9, 13, 17, 3, 2],
            [1, 7, 11, 2, 0, 0, 0],
            [1, 2, 0, 0, 0, 0, 0],
        ]
    )
    mask = (np.arange(7) < np.array([[7], [4], [2]])).astype(np.int64)
    return ids, mask


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@pytest.fixture(scope="module")
def weights() -> Weights:
    return random_weights()


@pytest.fixture(scope="module")
def float_encoder(weights: Weights) -> Encode:
    return encoder_of(weights, quantize=False)


@pytest.fixture(scope="module")
def quantized_encoder(weights: Weights) -> Encode:
    return encoder_of(weights, quantize=True)


def test_bert_shape_from_config() -> None:
    config = {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 12}
    assert BertShape.from_config(config) == BertShape(6, 384, 12, 1e-12)
    config["layer_norm_eps"] = 1e-5
    assert BertShape.from_config(config).layer_norm_eps == 1e-5


def test_token_embeddings_add_words_positions_and_token_type(weights: Weights) -> None:
    ids = np.array([[3, 0, 19], [7, 7, 1]])
    embedded = TokenEmbeddings.from_weights(weights)(ids)
    words = weights["embeddings.word_embeddings.weight"].astype(np.float16).astype(np.float32)
    positions = weights["embeddings.position_embeddings.weight"]
    token_type = weights["embeddings.token_type_embeddings.weight"][0]
    assert embedded.dtype == np.float32
    assert embedded.shape == (2, 3, SHAPE.hidden)
    np.testing.assert_allclose(embedded[0, 2], words[19] + positions[2] + token_type, atol=1e-6)
    np.testing.assert_allclose(embedded[1, 0], words[7] + positions[0] + token_type, atol=1e-6)


def test_token_embeddings_copy_the_weights(weights: Weights) -> None:
    buffer = {key: value.copy() for key, value in weights.items()}
    embeddings = TokenEmbeddings.from_weights(buffer)
    before = embeddings(np.array([[4]])).copy()
    buffer["embeddings.word_embeddings.weight"][4] += 100.0
    np.testing.assert_array_equal(embeddings(np.array([[4]])), before)


def test_model_inputs_and_outputs(weights: Weights) -> None:
    graph = session(build_model(weights, SHAPE, quantize=False))
    assert [i.name for i in graph.get_inputs()] == [EMBEDDINGS, ATTENTION_MASK]
    assert [o.name for o in graph.get_outputs()] == [POOLED]


def test_float_model_matches_reference_without_padding(
    weights: Weights, float_encoder: Encode
) -> None:
    ids = np.array([[1, 4, 8, 15, 16, 12, 2], [1, 19, 18, 0, 3, 5, 2]])
    mask = np.ones_like(ids)
    pooled = float_encoder(ids, mask)
    assert pooled.shape == (2, SHAPE.hidden)
    np.testing.assert_allclose(pooled, reference(weights, ids, mask), atol=1e-4)


def test_float_model_matches_reference_with_padding(
    weights: Weights, float_encoder: Encode
) -> None:
    ids, mask = padded_batch()
    expected = reference(weights, ids, mask)
    np.testing.assert_allclose(float_encoder(ids, mask), expected, atol=1e-4)
    # Padding is ignored: the reference itself agrees with each text run unpadded.
    for row, length in enumerate(mask.sum(axis=1)):
        alone = reference(weights, ids[row : row + 1, :length], mask[row : row + 1, :length])
        np.testing.assert_allclose(expected[row : row + 1], alone, atol=1e-9)


def test_float_model_uses_every_position(weights: Weights, float_encoder: Encode) -> None:
    ids = np.array([[1, 3] * (MAX_POSITIONS // 2)])
    mask = np.ones_like(ids)
    np.testing.assert_allclose(float_encoder(ids, mask), reference(weights, ids, mask), atol=1e-4)


def test_quantized_model_is_close_to_reference(weights: Weights, quantized_encoder: Encode) -> None:
    ids, mask = padded_batch()
    pooled = quantized_encoder(ids, mask)
    assert (cosine(pooled, reference(weights, ids, mask)) > 0.99).all()


def test_quantized_model_is_batch_invariant(quantized_encoder: Encode) -> None:
    ids, mask = padded_batch()
    batched = quantized_encoder(ids, mask)
    for row, length in enumerate(mask.sum(axis=1)):
        alone = quantized_encoder(ids[row : row + 1, :length], mask[row : row + 1, :length])
        np.testing.assert_allclose(batched[row : row + 1], alone, atol=1e-5)
        single_padded = quantized_encoder(ids[row : row + 1], mask[row : row + 1])
        np.testing.assert_allclose(batched[row : row + 1], single_padded, atol=1e-5)


def test_quantized_graph_uses_integer_products(weights: Weights) -> None:
    quantized = build_model(weights, SHAPE, quantize=True)
    plain = build_model(weights, SHAPE, quantize=False)
    products = [node.op_type for node in quantized.graph.node if "MatMul" in node.op_type]
    # Four products per layer (query, key and value as one), plus the two attention products.
    assert products.count("MatMulIntegerToFloat") == 4 * SHAPE.layers
    assert products.count("MatMul") == 2 * SHAPE.layers
    assert not any("MatMulInteger" in node.op_type for node in plain.graph.node)


def test_graph_holds_no_word_embedding_table(weights: Weights) -> None:
    model = build_model(weights, SHAPE, quantize=False)
    shapes = [tuple(initializer.dims) for initializer in model.graph.initializer]
    assert (VOCABULARY, SHAPE.hidden) not in shapes


def test_tokens_quantize_as_the_elementwise_formula() -> None:
    """QuantizeLinear over tokens as rows gives exactly round-half-even(x / scale) + 128, with
    scale = max|x| / 127 per token: the operators it replaced, bit for bit."""
    graph = _Graph({}, quantize=True)
    x_q, x_scale = graph._quantize_tokens(EMBEDDINGS, SHAPE.hidden)
    float_input = onnx.TensorProto.FLOAT
    inputs = [
        onnx.helper.make_tensor_value_info(EMBEDDINGS, float_input, ["b", "t", SHAPE.hidden]),
        onnx.helper.make_tensor_value_info(ATTENTION_MASK, onnx.TensorProto.INT64, ["b", "t"]),
    ]
    outputs = [
        onnx.helper.make_tensor_value_info(x_q, onnx.TensorProto.UINT8, ["b", "t", SHAPE.hidden]),
        onnx.helper.make_tensor_value_info(x_scale, float_input, ["b", "t", 1]),
    ]
    model = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, "q", inputs, outputs, graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
    )
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(3, 5, SHAPE.hidden)) * 4).astype(np.float32)
    x[0, 0] = [0.5, -1.5, 2.5, 127.0, -127.0, 0.0, 3.5, -0.5]  # halves round to even
    x[1, 1] = 0.0  # the scale's floor
    quantized, scale = session(model).run(
        None, {EMBEDDINGS: x, ATTENTION_MASK: np.ones((3, 5), dtype=np.int64)}
    )
    expected_scale = np.maximum(np.abs(x).max(axis=-1, keepdims=True), np.float32(1e-8))
    expected_scale = expected_scale / np.float32(127.0)
    np.testing.assert_array_equal(scale, expected_scale)
    np.testing.assert_array_equal(quantized, (np.rint(x / expected_scale) + 128).astype(np.uint8))
