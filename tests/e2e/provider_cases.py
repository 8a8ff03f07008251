"""Every provider of Plano's table as the e2e tests configure it: each pointed at the test
upstream, with its own key, and what each must receive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.upstream import RecordedRequest, UpstreamServer

ANSWER = "Hello from the test upstream."
HI = [{"role": "user", "content": "hi"}]
CLIENT_KEY = "client-own-key"
BEDROCK = "amazon_bedrock/us.amazon.nova-pro-v1:0"


@dataclass(frozen=True, slots=True)
class Case:
    model: str
    path: str
    # The credential header the provider must receive, None for none at all.
    credential: tuple[str, str] | None
    query: str = ""
    extra: dict[str, Any] | None = None  # more keys of the provider's config entry

    @property
    def key(self) -> str:
        return f"key-{self.model.partition('/')[0]}"


def bearer(key: str) -> tuple[str, str]:
    return ("authorization", f"Bearer {key}")


def case(model: str, path: str, **options: Any) -> Case:
    prefix = model.partition("/")[0]
    return Case(model, path, options.pop("credential", bearer(f"key-{prefix}")), **options)


CHAT = "/v1/chat/completions"
CASES = [
    case("openai/gpt-4o", CHAT),
    case("anthropic/claude-sonnet-4-5", CHAT),
    case("gemini/gemini-2.5-flash", "/v1beta/openai/chat/completions"),
    case("google/gemini-2.5-pro", "/v1beta/openai/chat/completions"),
    case("groq/llama-3.3-70b-versatile", "/openai/v1/chat/completions"),
    case("mistral/mistral-large-latest", CHAT),
    case("deepseek/deepseek-chat", CHAT),
    case("xai/grok-4", CHAT),
    case("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", CHAT),
    case("together/Qwen/Qwen2.5-72B-Instruct-Turbo", CHAT),
    case("moonshotai/kimi-k2-turbo-preview", CHAT),
    case("zhipu/glm-4.6", "/api/paas/v4/chat/completions"),
    case("xiaomi/mimo-v2-flash", CHAT),
    case("qwen/qwen3-max", "/compatible-mode/v1/chat/completions"),
    case("openrouter/anthropic/claude-sonnet-4.5", CHAT),
    case("digitalocean/llama3.3-70b-instruct", CHAT),
    case("do/openai-gpt-4o-mini", CHAT),
    case("do_ai/mistral-nemo-instruct-2407", CHAT),
    case("vercel/openai/gpt-5", CHAT),
    case("edenai/openai/gpt-4o", CHAT),
    case("github/gpt-4o", CHAT),
    case("meta/llama-4-maverick-17b-128e-instruct-fp8", CHAT),
    case("minimax/MiniMax-M2", CHAT),
    case("astraflow/model-a", CHAT),
    case("astraflow_cn/model-b", CHAT),
    case("plano/Arch-Router", CHAT),
    case(
        "azure_openai/gpt-4o-mini",
        "/openai/deployments/gpt-4o-mini/chat/completions",
        query="api-version=2025-01-01-preview",
    ),
    case(BEDROCK, "/model/us.amazon.nova-pro-v1:0/converse"),
    case(
        "amazon/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "/model/us.anthropic.claude-3-5-haiku-20241022-v1:0/converse",
    ),
    case("ollama/llama3.1", CHAT, credential=None, extra={"access_key": None}),
    case(
        "chatgpt/gpt-5.1-codex",
        "/backend-api/codex/chat/completions",
        credential=bearer(CLIENT_KEY),
        extra={"access_key": None, "base_url_path": "/backend-api/codex"},
    ),
    case("perplexity/sonar-pro", "/chat/completions", extra={"provider_interface": "openai"}),
    case(
        "vllm/qwen3-coder",
        "/models/v2/chat/completions",
        extra={"provider_interface": "openai", "base_url_path": "/models/v2"},
    ),
    case("mistral/open-mixtral-8x22b", CHAT),  # served by the mistral/* wildcard
]


def provider_entry(case: Case, upstream_url: str) -> dict[str, Any]:
    extra = dict(case.extra or {})
    entry: dict[str, Any] = {
        "model": case.model,
        "access_key": case.key,
        "base_url": upstream_url + extra.pop("base_url_path", ""),
        **extra,
    }
    return {name: value for name, value in entry.items() if value is not None}


# A Gemini model that fails over to Bedrock, and a route across providers.
FAILING_OVER = "gemini/gemini-2.0-flash"
ROUTES = [
    {
        "name": "summaries",
        "description": "summarising long documents into short bullet points",
        "models": [FAILING_OVER, BEDROCK],
    }
]


def providers(upstream_url: str) -> list[dict[str, Any]]:
    entries = [provider_entry(c, upstream_url) for c in CASES if c.model != CASES[-1].model]
    wildcard = {"model": "mistral/*", "access_key": "key-mistral", "base_url": upstream_url}
    failing_over = {
        "model": FAILING_OVER,
        "access_key": "key-gemini",
        "base_url": upstream_url,
        "retry_policy": {"fallback_models": [BEDROCK], "default_max_attempts": 1},
    }
    entries[0]["default"] = True
    return [*entries, wildcard, failing_over]


def only_request(upstream: UpstreamServer) -> RecordedRequest:
    assert len(upstream.requests) == 1, [(r.method, r.path) for r in upstream.requests]
    return upstream.requests[0]
