"""The python-backend models of triton/model_repository, run outside Triton.

`triton_python_backend_utils` exists only inside Triton and the tokenizer needs the checkpoint,
so both are replaced by small stand-ins with the same calls; the tensors that come out are
checked against the models' own config.pbtxt.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2

from tests.support.triton_repository import REPOSITORY, SAMPLE_VALUES, load_model_config

IM_START, IM_END, ENDOFTEXT, QUOTE_BRACE = 151644, 151645, 151643, 9001
SPECIAL = {"<|im_start|>": IM_START, "<|im_end|>": IM_END, "<|endoftext|>": ENDOFTEXT}
PROMPT = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


class FakeTokenizer:
    """Special tokens matched in the text, `"}` merged into one token, one id per other char."""

    eos_token_id = IM_END

    def __init__(self, pad_token_id: int | None) -> None:
        self.pad_token_id = pad_token_id

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        assert not add_special_tokens
        ids: list[int] = []
        while text:
            special = next((s for s in SPECIAL if text.startswith(s)), None)
            if special is not None:
                ids.append(SPECIAL[special])
                text = text[len(special) :]
            elif text.startswith('"}'):
                ids.append(QUOTE_BRACE)
                text = text[2:]
            else:
                ids.append(ord(text[0]))
                text = text[1:]
        return ids

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        names = {value: key for key, value in SPECIAL.items()} | {QUOTE_BRACE: '"}'}
        special = set(SPECIAL.values())
        return "".join(
            names.get(i, chr(i) if i < 0x110000 else "?")
            for i in ids
            if not (skip_special_tokens and i in special)
        )


class Tensor:
    def __init__(self, name: str, value: np.ndarray) -> None:
        self._name, self._value = name, value

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._value


class TritonError:
    def __init__(self, message: str) -> None:
        self.text = message


class InferenceResponse:
    def __init__(
        self, output_tensors: Sequence[Tensor] = (), error: TritonError | None = None
    ) -> None:
        self.outputs = {tensor.name(): tensor.as_numpy() for tensor in output_tensors}
        self.error = error


class Request:
    def __init__(self, **tensors: np.ndarray) -> None:
        self.tensors = {name: Tensor(name, value) for name, value in tensors.items()}


def get_input_tensor_by_name(request: Request, name: str) -> Tensor | None:
    return request.tensors.get(name)


def strings(rows: list[list[str]]) -> np.ndarray:
    return np.array([[s.encode() for s in row] for row in rows], dtype=np.object_)


@pytest.fixture
def load_model(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Loads `model`/1/model.py with the stand-ins and initializes it as Triton would."""
    pb_utils = types.ModuleType("triton_python_backend_utils")
    pb_utils.Tensor = Tensor  # type: ignore[attr-defined]
    pb_utils.TritonError = TritonError  # type: ignore[attr-defined]
    pb_utils.InferenceResponse = InferenceResponse  # type: ignore[attr-defined]
    pb_utils.get_input_tensor_by_name = get_input_tensor_by_name  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb_utils)

    def load(model: str, pad_token_id: int | None = ENDOFTEXT) -> Any:
        tokenizers: list[str] = []

        def from_pretrained(path: str) -> FakeTokenizer:
            tokenizers.append(path)
            return FakeTokenizer(pad_token_id)

        transformers = types.ModuleType("transformers")
        transformers.AutoTokenizer = types.SimpleNamespace(from_pretrained=from_pretrained)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "transformers", transformers)
        path = REPOSITORY / model / "1" / "model.py"
        spec = importlib.util.spec_from_file_location(f"triton_{model}_model", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        instance = module.TritonPythonModel()
        config = json_format.MessageToJson(
            load_model_config(model), preserving_proto_field_name=True
        )
        instance.initialize({"model_config": config})
        assert tokenizers == [SAMPLE_VALUES["tokenizer_dir"]]
        return instance

    return load


def assert_matches_config(model: str, outputs: dict[str, np.ndarray]) -> None:
    """Every declared output is produced, with the batch dimension plus the declared rank."""
    declared = {tensor.name: tensor for tensor in load_model_config(model).output}
    assert set(outputs) == set(declared)
    for name, value in outputs.items():
        assert value.ndim == 1 + len(declared[name].dims), name
        is_string = declared[name].data_type == model_config_pb2.TYPE_STRING
        expected = np.object_ if is_string else np.int32
        assert value.dtype == expected, name


def run(model: Any, *requests: Request) -> Iterator[InferenceResponse]:
    responses = model.execute(list(requests))
    assert len(responses) == len(requests)
    return iter(responses)


def test_preprocessing_tokenizes_the_prompt_and_the_stop_words(load_model: Callable) -> None:
    model = load_model("preprocessing")
    (response,) = run(model, Request(QUERY=strings([[PROMPT]]), STOP_WORDS=strings([["}", '"}']])))
    assert response.error is None
    assert_matches_config("preprocessing", response.outputs)
    ids = FakeTokenizer(None).encode(PROMPT, add_special_tokens=False)
    assert response.outputs["INPUT_ID"].tolist() == [ids]
    assert ids[0] == IM_START
    assert response.outputs["INPUT_LENGTH"].tolist() == [[len(ids)]]
    assert response.outputs["STOP_WORDS_IDS"].tolist() == [[[ord("}"), QUOTE_BRACE], [1, 2]]]
    assert response.outputs["END_ID"].tolist() == [[IM_END]]
    assert response.outputs["PAD_ID"].tolist() == [[ENDOFTEXT]]


def test_preprocessing_without_stop_words_sends_an_empty_word_list(load_model: Callable) -> None:
    (response,) = run(load_model("preprocessing"), Request(QUERY=strings([[PROMPT]])))
    assert response.outputs["STOP_WORDS_IDS"].tolist() == [[[0], [-1]]]


def test_preprocessing_pads_a_batch(load_model: Callable) -> None:
    query = strings([["ab"], ["abcd"]])
    stop = strings([["}", ""], ["xy", "}"]])
    (response,) = run(load_model("preprocessing"), Request(QUERY=query, STOP_WORDS=stop))
    assert response.outputs["INPUT_ID"].tolist() == [
        [97, 98, ENDOFTEXT, ENDOFTEXT],
        [97, 98, 99, 100],
    ]
    assert response.outputs["INPUT_LENGTH"].tolist() == [[2], [4]]
    assert response.outputs["STOP_WORDS_IDS"].tolist() == [
        [[ord("}"), 0, 0], [1, -1, -1]],
        [[ord("x"), ord("y"), ord("}")], [2, 3, -1]],
    ]
    assert response.outputs["END_ID"].tolist() == [[IM_END], [IM_END]]


def test_preprocessing_pads_with_the_end_id_when_the_tokenizer_has_no_pad(
    load_model: Callable,
) -> None:
    (response,) = run(
        load_model("preprocessing", pad_token_id=None), Request(QUERY=strings([["a"]]))
    )
    assert response.outputs["PAD_ID"].tolist() == [[IM_END]]


def test_a_bad_request_fails_alone(load_model: Callable) -> None:
    bad, good = run(load_model("preprocessing"), Request(), Request(QUERY=strings([["a"]])))
    assert bad.error is not None
    assert good.error is None
    assert good.outputs["INPUT_ID"].tolist() == [[97]]


def test_postprocessing_decodes_each_beam_up_to_its_length(load_model: Callable) -> None:
    answer = FakeTokenizer(None).encode('{"route": "x"}', add_special_tokens=False)
    tokens = np.array([[[*answer, IM_END, 7, 7]]], dtype=np.int32)
    lengths = np.array([[len(answer) + 1]], dtype=np.int32)
    (response,) = run(
        load_model("postprocessing"), Request(TOKENS_BATCH=tokens, SEQUENCE_LENGTH=lengths)
    )
    assert response.error is None
    assert_matches_config("postprocessing", response.outputs)
    assert response.outputs["OUTPUT"].tolist() == [[b'{"route": "x"}']]


def test_postprocessing_batches_and_beams(load_model: Callable) -> None:
    tokens = np.array([[[104, 105], [111, 0]], [[97, 98], [99, 100]]], dtype=np.int32)
    lengths = np.array([[2, 1], [1, 2]], dtype=np.int32)
    (response,) = run(
        load_model("postprocessing"), Request(TOKENS_BATCH=tokens, SEQUENCE_LENGTH=lengths)
    )
    assert response.outputs["OUTPUT"].tolist() == [[b"hi", b"o"], [b"a", b"cd"]]
