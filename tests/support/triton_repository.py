"""triton/model_repository read the way Triton reads it: config.pbtxt as a ModelConfig proto.

The files carry ``${name}`` placeholders that triton/build_engine.sh fills; here they get sample
values of the same kind.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

TRITON_DIR = Path(__file__).resolve().parents[2] / "triton"
REPOSITORY = TRITON_DIR / "model_repository"
ENSEMBLE = "arch_router"
MODELS = (ENSEMBLE, "preprocessing", "tensorrt_llm", "postprocessing")
SAMPLE_VALUES: Mapping[str, str] = {
    "max_batch_size": "64",
    "engine_dir": "/workspace/triton/build/model_repository/tensorrt_llm/1",
    "tokenizer_dir": "/workspace/triton/build/tokenizer",
    "kv_cache_free_gpu_mem_fraction": "0.5",
}


def parse_model_config(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, model_config_pb2.ModelConfig())


def load_model_config(
    model: str, values: Mapping[str, str] = SAMPLE_VALUES
) -> model_config_pb2.ModelConfig:
    """The model's config.pbtxt, placeholders filled (a missing value raises KeyError)."""
    template = (REPOSITORY / model / "config.pbtxt").read_text()
    return parse_model_config(string.Template(template).substitute(values))


def kserve_datatype(data_type: int) -> str:
    """A config data type (TYPE_STRING) as the KServe-v2 protocol names it (BYTES)."""
    name = model_config_pb2.DataType.Name(data_type).removeprefix("TYPE_")
    return "BYTES" if name == "STRING" else name
