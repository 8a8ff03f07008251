#!/usr/bin/env bash
# Builds the TensorRT-LLM engine of Arch-Router-1.5B and a servable Triton model repository.
#
#   triton/build_engine.sh CHECKPOINT_DIR [OUTPUT_DIR]
#
# CHECKPOINT_DIR  the Hugging Face checkpoint (config.json, *.safetensors, tokenizer files),
#                 downloaded beforehand: nothing is fetched here.
# OUTPUT_DIR      default triton/build; receives
#                   model_repository/   triton/model_repository with every ${...} filled and
#                                       the engine in tensorrt_llm/1/
#                   tokenizer/          the checkpoint's tokenizer, read by pre/postprocessing
#                   trtllm_checkpoint/  the intermediate TensorRT-LLM checkpoint
#
# Run it inside the Triton TensorRT-LLM container that will serve the engine (an engine only
# loads on the TensorRT-LLM version and GPU kind it was built with), with OUTPUT_DIR mounted at
# the path the server will see: config.pbtxt gets absolute paths. See triton/README.md.
#
# Sizes, overridable from the environment:
#   MAX_BATCH_SIZE                  concurrent sequences (engine and Triton), default 64
#   MAX_INPUT_LEN                   prompt tokens, default 4096 (see below)
#   MAX_OUTPUT_LEN                  generated tokens, default 32 (the client asks for 24)
#   MAX_NUM_TOKENS                  tokens per engine step across the batch, default 8192
#   KV_CACHE_FREE_GPU_MEM_FRACTION  default 0.5
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 CHECKPOINT_DIR [OUTPUT_DIR]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
checkpoint_dir=$(realpath "$1")
output_dir=$(realpath -m "${2:-$here/build}")

MAX_BATCH_SIZE=${MAX_BATCH_SIZE:-64}
# The router's budget is 2048 *estimated* tokens (bytes / 4) for the conversation alone; the
# route list, the instructions and the chat markup come on top, the newest user message is kept
# whole even past the budget, and code or non-Latin text has more tokens than bytes / 4.
MAX_INPUT_LEN=${MAX_INPUT_LEN:-4096}
MAX_OUTPUT_LEN=${MAX_OUTPUT_LEN:-32}
MAX_NUM_TOKENS=${MAX_NUM_TOKENS:-8192}
KV_CACHE_FREE_GPU_MEM_FRACTION=${KV_CACHE_FREE_GPU_MEM_FRACTION:-0.5}

repository="$output_dir/model_repository"
tokenizer_dir="$output_dir/tokenizer"
trtllm_checkpoint="$output_dir/trtllm_checkpoint"

if [ ! -f "$checkpoint_dir/config.json" ]; then
    echo "$checkpoint_dir is not a Hugging Face checkpoint (no config.json)" >&2
    exit 1
fi
rm -rf "$repository" "$tokenizer_dir" "$trtllm_checkpoint"
mkdir -p "$output_dir"
cp -r "$here/model_repository" "$repository"

echo "== converting $checkpoint_dir to a bf16 TensorRT-LLM checkpoint"
# The tensorrt_llm package's own converter: the container ships the package, not the examples/
# tree where convert_checkpoint.py lives.
python3 - "$checkpoint_dir" "$trtllm_checkpoint" "$tokenizer_dir" <<'PY'
import sys

from tensorrt_llm.models import QWenForCausalLM
from transformers import AutoTokenizer

source, checkpoint, tokenizer = sys.argv[1:]
QWenForCausalLM.from_hugging_face(source, dtype="bfloat16").save_checkpoint(checkpoint)
AutoTokenizer.from_pretrained(source).save_pretrained(tokenizer)
PY

echo "== building the engine"
# Paged context FMHA is what lets a new request attend to reused KV-cache blocks
# (enable_kv_cache_reuse) and lets long prompts be prefilled in chunks (enable_chunked_context).
trtllm-build \
    --checkpoint_dir "$trtllm_checkpoint" \
    --output_dir "$repository/tensorrt_llm/1" \
    --gemm_plugin bfloat16 \
    --gpt_attention_plugin bfloat16 \
    --use_paged_context_fmha enable \
    --max_beam_width 1 \
    --max_batch_size "$MAX_BATCH_SIZE" \
    --max_input_len "$MAX_INPUT_LEN" \
    --max_seq_len $((MAX_INPUT_LEN + MAX_OUTPUT_LEN)) \
    --max_num_tokens "$MAX_NUM_TOKENS"

echo "== filling the config.pbtxt placeholders"
# ${name} placeholders, as NVIDIA's tools/fill_template.py reads them too; a placeholder left
# without a value is an error rather than a config Triton would reject at load time.
max_batch_size="$MAX_BATCH_SIZE" engine_dir="$repository/tensorrt_llm/1" \
    tokenizer_dir="$tokenizer_dir" kv_cache_free_gpu_mem_fraction="$KV_CACHE_FREE_GPU_MEM_FRACTION" \
    python3 - "$repository" <<'PY'
import os
import pathlib
import string
import sys

names = ("max_batch_size", "engine_dir", "tokenizer_dir", "kv_cache_free_gpu_mem_fraction")
values = {name: os.environ[name] for name in names}
for config in sorted(pathlib.Path(sys.argv[1]).glob("*/config.pbtxt")):
    config.write_text(string.Template(config.read_text()).substitute(values))
    print(f"   {config}")
PY

echo "== done: tritonserver --model-repository=$repository"
