"""Triton python-backend model: TensorRT-LLM output ids -> text, one string per beam.

tensorrt_llm runs with exclude_input_in_output, so the ids are the generated tokens only;
special tokens (the closing <|im_end|>) are left out of the text.

Parameters (config.pbtxt): ``tokenizer_dir``, a Hugging Face checkpoint or tokenizer directory.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from transformers import AutoTokenizer


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"])["parameters"]
        self.tokenizer = AutoTokenizer.from_pretrained(parameters["tokenizer_dir"]["string_value"])

    def execute(self, requests: list) -> list:
        return [self._respond(request) for request in requests]

    def _respond(self, request) -> pb_utils.InferenceResponse:
        try:
            text = self._detokenize(request)
        except Exception as error:  # one bad request must not fail the others
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error)))
        return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT", text)])

    def _detokenize(self, request) -> np.ndarray:
        """[batch, beam] of UTF-8 bytes from [batch, beam, token] ids and [batch, beam] lengths."""
        tokens = pb_utils.get_input_tensor_by_name(request, "TOKENS_BATCH").as_numpy()
        lengths = pb_utils.get_input_tensor_by_name(request, "SEQUENCE_LENGTH").as_numpy()
        texts = [
            [
                self.tokenizer.decode(beam[:length].tolist(), skip_special_tokens=True).encode()
                for beam, length in zip(beams, beam_lengths, strict=True)
            ]
            for beams, beam_lengths in zip(tokens, lengths, strict=True)
        ]
        return np.array(texts, dtype=np.object_)
