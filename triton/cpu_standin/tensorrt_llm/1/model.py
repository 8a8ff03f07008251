"""Triton python-backend model standing in for TensorRT-LLM on a CPU: NOT Arch-Router.

It reads the Arch-Router prompt back from the token ids (with the same tokenizer as
preprocessing) and answers, in token ids, ``{"route": "<name>"}`` for the first route (in the
prompt's route list) whose name appears in the latest user turn, else ``{"route": "other"}``.
A user turn containing ``standin-delay-ms=<n>`` is answered after n milliseconds: a slow engine
for deadline tests. The answer is cut at ``request_output_len`` tokens, as the engine's would be.

Parameters (config.pbtxt): ``tokenizer_dir``, as for preprocessing.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import triton_python_backend_utils as pb_utils
from transformers import AutoTokenizer

# The blocks sit on lines of their own; the instructions name the tags inline, empty.
_ROUTES = re.compile(r"<routes>\n(.*?)\n</routes>", re.DOTALL)
_CONVERSATION = re.compile(r"<conversation>\n(.*?)\n</conversation>", re.DOTALL)
_DELAY = re.compile(r"standin-delay-ms=(\d+)")
MAX_DELAY_MS = 10_000


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"])["parameters"]
        self.tokenizer = AutoTokenizer.from_pretrained(parameters["tokenizer_dir"]["string_value"])

    def execute(self, requests: list) -> list:
        return [self._respond(request) for request in requests]

    def _respond(self, request) -> pb_utils.InferenceResponse:
        try:
            ids, delay_ms = self._answer(request)
        except Exception as error:  # one bad request must not fail the others
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error)))
        if delay_ms:
            time.sleep(min(delay_ms, MAX_DELAY_MS) / 1000)
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("output_ids", np.array([[ids]], dtype=np.int32)),
                pb_utils.Tensor("sequence_length", np.array([[len(ids)]], dtype=np.int32)),
            ]
        )

    def _answer(self, request) -> tuple[list[int], int]:
        ids = _input(request, "input_ids").reshape(-1)
        length = int(_input(request, "input_lengths").reshape(-1)[0])
        budget = int(_input(request, "request_output_len").reshape(-1)[0])
        prompt = self.tokenizer.decode(ids[:length].tolist(), skip_special_tokens=False)
        latest = _latest_user_turn(prompt)
        route = next((name for name in _route_names(prompt) if name in latest), "other")
        answer = self.tokenizer.encode(json.dumps({"route": route}), add_special_tokens=False)
        delay = _DELAY.search(latest)
        return answer[:budget], int(delay.group(1)) if delay else 0


def _input(request, name: str) -> np.ndarray:
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy()


def _route_names(prompt: str) -> list[str]:
    found = _ROUTES.search(prompt)
    return [route["name"] for route in json.loads(found.group(1))] if found else []


def _latest_user_turn(prompt: str) -> str:
    found = _CONVERSATION.search(prompt)
    turns = json.loads(found.group(1)) if found else []
    users = [turn["content"] for turn in turns if turn.get("role") == "user"]
    return users[-1] if users else ""
