"""Arch-Router behind any OpenAI-compatible `/v1/chat/completions` (vLLM, Ollama, llama.cpp).

One user message holding the exact Arch-Router prompt, temperature 0.01, a few output tokens.
The HTTP client keeps connections alive; the routing engine enforces the deadline, and the
client's own timeout is only a backstop so a lost connection is never waited on forever.
A circuit breaker stops calling a server that could not be reached (or missed the deadline)
three times in a row: for a cool-down, requests fall back at once instead of each waiting out
`timeout_ms`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from plano_extproc.classifiers.arch_router.prompt import (
    build_router_prompt,
    parse_router_answer,
    resolve_route_name,
)
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.config.model import OpenAIClassifierSettings, Route
from plano_extproc.providers.paths import openai_chat_path
from plano_extproc.resilience import CoolDownBreaker
from plano_extproc.wire.conversation import Message

ROUTER_TEMPERATURE = 0.01
# {"route": "<name>"} fits comfortably; more only lets a confused model ramble.
ROUTER_MAX_TOKENS = 32
_BACKSTOP_TIMEOUT_SECONDS = 30.0
BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN_SECONDS = 5.0


def completions_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin + openai_chat_path(parts.path)


def _answer_text(payload: Any) -> str:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as error:
        raise ClassifierError("router reply has no choices[0].message.content") from error
    if not isinstance(content, str):
        raise ClassifierError("router reply content is not a string")
    return content


class _Unreachable(ClassifierError):
    """No answer from the router server at all (connection or transport failure)."""


class OpenAICompatibleClassifier:
    """Implements `Classifier` against an OpenAI-compatible server serving Arch-Router."""

    def __init__(
        self,
        settings: OpenAIClassifierSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._breaker = CoolDownBreaker(
            BREAKER_COOLDOWN_SECONDS, clock, threshold=BREAKER_THRESHOLD
        )
        self._settings = settings
        self._url = completions_url(settings.base_url)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        headers = {"content-type": "application/json"}
        if self._settings.access_key:
            headers["authorization"] = f"Bearer {self._settings.access_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(_BACKSTOP_TIMEOUT_SECONDS, connect=5.0),
            limits=httpx.Limits(max_keepalive_connections=64, max_connections=256),
            transport=self._transport,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        if self._client is None:
            raise ClassifierError("classifier used before start()")
        if not self._breaker.allows_call():
            raise ClassifierError("router server failing: skipped during its cool-down")
        try:
            answer = await self._ask(self._client, routes, messages)
        except (_Unreachable, asyncio.CancelledError):
            # Cancelled: the engine's deadline passed, the server is too slow to be useful. A
            # server that answers, even with an error, is fast to fail and not counted.
            self._breaker.record_failure()
            raise
        self._breaker.record_success()
        return resolve_route_name(parse_router_answer(answer), routes)

    async def _ask(
        self, client: httpx.AsyncClient, routes: tuple[Route, ...], messages: Sequence[Message]
    ) -> str:
        body = {
            "model": self._settings.model,
            "messages": [{"role": "user", "content": build_router_prompt(routes, messages)}],
            "temperature": ROUTER_TEMPERATURE,
            "max_tokens": ROUTER_MAX_TOKENS,
            "stream": False,
        }
        try:
            response = await client.post(self._url, content=orjson.dumps(body))
        except httpx.HTTPError as error:
            raise _Unreachable(f"router request failed: {type(error).__name__}") from error
        if response.status_code != 200:
            raise ClassifierError(f"router answered HTTP {response.status_code}")
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            raise ClassifierError("router reply is not JSON") from error
        return _answer_text(payload)
