"""Qwen2.5's chat template, rendered for the only conversation Arch-Router gets.

Servers with a chat API (vLLM, Ollama) apply the checkpoint's template themselves; Triton's
TensorRT-LLM ensemble takes raw text, so the client renders it. Arch-Router-1.5B keeps the
template of Qwen2.5-Instruct, which inserts Qwen's default system turn when the conversation has
none. For one user message and the generation prompt, it renders exactly what
``tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)`` does.
"""

from __future__ import annotations

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

_PREFIX = f"<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\n"
_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"


def qwen_user_turn(content: str) -> str:
    """The model input for one user message, ending where the assistant's answer starts."""
    return _PREFIX + content + _SUFFIX
