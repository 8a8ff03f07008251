"""Built-in model lists, by `ProviderFamily.catalog` key: what a `provider/*` entry expands to
in `/v1/models`, and which bare model ids it answers to. Known without network access; a
wildcard still accepts any other model under its prefix.

Chat models only, as published by each provider; kept short and current rather than complete.
"""

from __future__ import annotations

from types import MappingProxyType

CATALOG = MappingProxyType(
    {
        "openai": (
            "gpt-5.2",
            "gpt-5.1",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-4-turbo",
            "gpt-3.5-turbo",
        ),
        "anthropic": (
            "claude-opus-4-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "claude-opus-4-1",
            "claude-opus-4-0",
            "claude-sonnet-4-0",
            "claude-3-7-sonnet-latest",
            "claude-3-5-haiku-latest",
        ),
        "amazon_bedrock": (
            "amazon.nova-premier-v1:0",
            "amazon.nova-pro-v1:0",
            "amazon.nova-lite-v1:0",
            "amazon.nova-micro-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
            "mistral.mistral-large-2407-v1:0",
        ),
        "chatgpt": ("gpt-5.2", "gpt-5.1-codex", "gpt-5-codex", "gpt-5"),
        "deepseek": ("deepseek-chat", "deepseek-reasoner"),
        "digitalocean": (
            "openai-gpt-4o",
            "openai-gpt-4o-mini",
            "anthropic-claude-3.7-sonnet",
            "anthropic-claude-3.5-haiku",
            "llama3.3-70b-instruct",
            "deepseek-r1-distill-llama-70b",
            "mistral-nemo-instruct-2407",
        ),
        "gemini": (
            "gemini-3-pro-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.0-flash",
            "gemini-2.0-flash-lite",
            "gemini-flash-latest",
        ),
        "meta": ("llama-4-maverick-17b-128e-instruct-fp8",),
        "minimax": ("MiniMax-M2",),
        "mistral": (
            "mistral-large-latest",
            "mistral-medium-latest",
            "mistral-small-latest",
            "codestral-latest",
            "ministral-8b-latest",
            "magistral-medium-latest",
            "open-mistral-nemo",
        ),
        "moonshotai": (
            "kimi-k2-0905-preview",
            "kimi-k2-turbo-preview",
            "kimi-latest",
            "moonshot-v1-8k",
            "moonshot-v1-32k",
            "moonshot-v1-128k",
        ),
        "qwen": ("qwen3-max", "qwen-plus", "qwen-turbo", "qwen-flash", "qwen3-coder-plus"),
        "xai": ("grok-4", "grok-4-fast-reasoning", "grok-3", "grok-3-mini", "grok-code-fast-1"),
        "xiaomi": ("mimo-v2-flash",),
        "zhipu": ("glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5-flash"),
    }
)


def catalog_models(key: str | None) -> tuple[str, ...]:
    """The built-in list under `key`; () for a family without one."""
    return CATALOG.get(key, ()) if key is not None else ()
