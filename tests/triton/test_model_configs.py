"""triton/model_repository's config.pbtxt files, checked against Triton's ModelConfig proto."""

from __future__ import annotations

import re

import pytest
from tritonclient.grpc import model_config_pb2

from tests.support.triton_repository import (
    ENSEMBLE,
    MODELS,
    REPOSITORY,
    SAMPLE_VALUES,
    load_model_config,
)

ModelConfig = model_config_pb2.ModelConfig
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def configs() -> dict[str, ModelConfig]:
    return {model: load_model_config(model) for model in MODELS}


def parameters(config: ModelConfig) -> dict[str, str]:
    return {key: value.string_value for key, value in config.parameters.items()}


@pytest.mark.parametrize("model", MODELS)
def test_each_config_parses_as_a_model_config_named_after_its_directory(model: str) -> None:
    config = load_model_config(model)
    assert config.name == model
    assert config.max_batch_size == int(SAMPLE_VALUES["max_batch_size"])
    assert (REPOSITORY / model / "1").is_dir()


def test_placeholders_are_exactly_the_ones_the_build_script_fills() -> None:
    found = {
        name
        for model in MODELS
        for name in PLACEHOLDER.findall((REPOSITORY / model / "config.pbtxt").read_text())
    }
    assert found == set(SAMPLE_VALUES)


def test_ensemble_steps_are_wired_to_real_tensors_of_matching_types() -> None:
    models = configs()
    ensemble = models[ENSEMBLE]
    available = {tensor.name: tensor.data_type for tensor in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        model = models[step.model_name]
        inputs = {tensor.name: tensor for tensor in model.input}
        outputs = {tensor.name: tensor.data_type for tensor in model.output}
        assert set(step.input_map) <= set(inputs), step.model_name
        assert set(step.output_map) <= set(outputs), step.model_name
        required = {name for name, tensor in inputs.items() if not tensor.optional}
        assert required <= set(step.input_map), step.model_name
        for key, source in step.input_map.items():
            assert available[source] == inputs[key].data_type, (step.model_name, key)
        for key, target in step.output_map.items():
            available[target] = outputs[key]
    for tensor in ensemble.output:
        assert available[tensor.name] == tensor.data_type


def test_optional_ensemble_inputs_only_feed_optional_inputs() -> None:
    models = configs()
    ensemble = models[ENSEMBLE]
    optional = {tensor.name for tensor in ensemble.input if tensor.optional}
    for step in ensemble.ensemble_scheduling.step:
        inputs = {tensor.name: tensor for tensor in models[step.model_name].input}
        for key, source in step.input_map.items():
            if source in optional:
                assert inputs[key].optional, (step.model_name, key)


def test_the_engine_is_configured_for_routing() -> None:
    engine = load_model_config("tensorrt_llm")
    assert engine.backend == "tensorrtllm"
    assert not engine.model_transaction_policy.decoupled
    assert engine.dynamic_batching.max_queue_delay_microseconds == 0
    assert parameters(engine) == {
        "gpt_model_type": "inflight_fused_batching",
        "gpt_model_path": SAMPLE_VALUES["engine_dir"],
        "max_beam_width": "1",
        "batch_scheduler_policy": "guaranteed_no_evict",
        "enable_kv_cache_reuse": "true",
        "kv_cache_free_gpu_mem_fraction": SAMPLE_VALUES["kv_cache_free_gpu_mem_fraction"],
        "enable_chunked_context": "true",
        "exclude_input_in_output": "true",
        "cancellation_check_period_ms": "10",
    }


@pytest.mark.parametrize("model", ["preprocessing", "postprocessing"])
def test_python_models_read_the_tokenizer_directory(model: str) -> None:
    config = load_model_config(model)
    assert config.backend == "python"
    assert parameters(config) == {"tokenizer_dir": SAMPLE_VALUES["tokenizer_dir"]}
    assert (REPOSITORY / model / "1" / "model.py").is_file()
