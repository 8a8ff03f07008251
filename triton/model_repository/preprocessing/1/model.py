"""Triton python-backend model: prompt text -> token ids and stop words for TensorRT-LLM.

The prompt arrives already wrapped in Qwen's chat template, so it is tokenized as is (its
``<|im_start|>``/``<|im_end|>`` markers are special tokens of the tokenizer, matched in the
text). The end and pad ids come from the tokenizer, so clients never deal in token ids.

Parameters (config.pbtxt): ``tokenizer_dir``, a Hugging Face checkpoint or tokenizer directory.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from transformers import AutoTokenizer

# Pads id rows and offset rows of a word list; an offset of -1 ends the list.
_WORD_ID_PAD = 0
_WORD_OFFSET_PAD = -1


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"])["parameters"]
        self.tokenizer = AutoTokenizer.from_pretrained(parameters["tokenizer_dir"]["string_value"])
        # Arch-Router (Qwen2.5-Instruct) ends its turn with <|im_end|>, the tokenizer's eos.
        self.end_id = self.tokenizer.eos_token_id
        pad_id = self.tokenizer.pad_token_id
        self.pad_id = self.end_id if pad_id is None else pad_id

    def execute(self, requests: list) -> list:
        return [self._respond(request) for request in requests]

    def _respond(self, request) -> pb_utils.InferenceResponse:
        try:
            outputs = self._tokenize(request)
        except Exception as error:  # one bad request must not fail the others
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error)))
        return pb_utils.InferenceResponse(
            output_tensors=[pb_utils.Tensor(name, value) for name, value in outputs.items()]
        )

    def _tokenize(self, request) -> dict[str, np.ndarray]:
        prompts = [_text(row[0]) for row in _input(request, "QUERY")]
        stop_tensor = pb_utils.get_input_tensor_by_name(request, "STOP_WORDS")
        stop_rows = (
            [[_text(word) for word in row] for row in stop_tensor.as_numpy()]
            if stop_tensor is not None
            else [[] for _ in prompts]
        )
        ids = [self.tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]
        batch = len(prompts)
        return {
            "INPUT_ID": _padded(ids, self.pad_id),
            "INPUT_LENGTH": np.array([[len(row)] for row in ids], dtype=np.int32),
            "STOP_WORDS_IDS": self._word_lists(stop_rows),
            "END_ID": np.full((batch, 1), self.end_id, dtype=np.int32),
            "PAD_ID": np.full((batch, 1), self.pad_id, dtype=np.int32),
        }

    def _word_lists(self, rows: list[list[str]]) -> np.ndarray:
        """[batch, 2, width]: per row, the words' ids end to end and each word's end offset."""
        flat_ids: list[list[int]] = []
        offsets: list[list[int]] = []
        for words in rows:
            tokens = [self.tokenizer.encode(word, add_special_tokens=False) for word in words]
            tokens = [word for word in tokens if word]
            flat_ids.append([token for word in tokens for token in word])
            offsets.append(np.cumsum([len(word) for word in tokens]).tolist())
        width = max([1, *(len(row) for row in flat_ids)])
        return np.stack(
            [_padded(flat_ids, _WORD_ID_PAD, width), _padded(offsets, _WORD_OFFSET_PAD, width)],
            axis=1,
        )


def _input(request, name: str) -> np.ndarray:
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _padded(rows: list[list[int]], pad: int, width: int | None = None) -> np.ndarray:
    width = max(len(row) for row in rows) if width is None else width
    out = np.full((len(rows), width), pad, dtype=np.int32)
    for index, row in enumerate(rows):
        out[index, : len(row)] = row
    return out
