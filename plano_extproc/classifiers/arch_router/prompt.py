"""The Arch-Router prompt contract: the prompt we send and the answer we accept back.

Arch-Router receives a single user message built from `ROUTER_PROMPT_TEMPLATE` and answers
``{"route": "<name>"}``. Everything here is pure and synchronous, shared by the classifier
backends that talk to an Arch-Router model (Triton, OpenAI-compatible servers).

Token budget, as in Plano's ``RouterModelV1::generate_request``: a message costs the UTF-8
byte length of its text content (not of its serialized JSON) floor-divided by 4; the count
starts at the template's own byte length // 4 (with the placeholders still in it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

# Verbatim model interface (typos and double space included); do not reformat.
ROUTER_PROMPT_TEMPLATE = """
You are a helpful assistant designed to find the best suited route.
You are provided with route description within <routes></routes> XML tags:
<routes>
{routes}
</routes>

<conversation>
{conversation}
</conversation>

Your task is to decide which route is best suit with user intent on the conversation in <conversation></conversation> XML tags.  Follow the instruction:
1. If the latest intent from user is irrelevant or user intent is full filled, response with other route {"route": "other"}.
2. You must analyze the route descriptions and find the best match route for user latest intent.
3. You only response the name of the route that best matches the user's request, use the exact name in the <routes></routes>.

Based on your analysis, provide your response in the following JSON formats if you decide to match any route:
{"route": "route_name"}
"""  # noqa: E501

ROUTER_TOKEN_BUDGET = 2048
BYTES_PER_TOKEN = 4
NO_ROUTE = "other"

# Splitting once (instead of str.replace per request) also keeps a route description that
# happens to contain "{conversation}" from being substituted.
_HEAD, _, _AFTER_ROUTES = ROUTER_PROMPT_TEMPLATE.partition("{routes}")
_MIDDLE, _, _TAIL = _AFTER_ROUTES.partition("{conversation}")
_TEMPLATE_TOKENS = len(ROUTER_PROMPT_TEMPLATE.encode()) // BYTES_PER_TOKEN
_ROUTER_ROLES = frozenset({Role.USER, Role.ASSISTANT})
_FENCE_OPENERS = ("```json", "```")
_ROUTES_CACHE_SIZE = 256
_ERROR_EXCERPT_CHARS = 200


class RouterAnswerError(ClassifierError):
    """Arch-Router replied with something that is not a parseable route answer."""


def build_router_prompt(routes: Sequence[Route], messages: Sequence[Message]) -> str:
    """The single user message for Arch-Router: routes plus the budgeted conversation."""
    conversation = _compact_json(router_conversation(messages))
    return _prompt_head(tuple(routes)) + conversation + _TAIL


def router_conversation(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The conversation Arch-Router sees, as ``{"role", "content"}`` dicts, oldest first.

    System, developer and tool turns and turns without text (tool-call-only assistant turns)
    are dropped, then the result is trimmed to the token budget.
    """
    routable = [m for m in messages if m.role in _ROUTER_ROLES and m.text]
    return [{"role": m.role.value, "content": m.text} for m in _within_budget(routable)]


def parse_router_answer(text: str) -> str | None:
    """The route name in an Arch-Router reply, or None when it chose no route.

    Raises RouterAnswerError when the reply cannot be read as a route answer at all.
    """
    repaired = _repair_answer(text)
    if not repaired:
        return None
    try:
        answer = json.loads(repaired)
    except json.JSONDecodeError as exc:
        raise RouterAnswerError(f"router answer is not valid JSON: {_excerpt(text)}") from exc
    if answer is None:
        return None
    if not isinstance(answer, dict):
        raise RouterAnswerError(f"router answer is not a JSON object: {_excerpt(text)}")
    route = answer.get("route")
    if route is None:
        return None
    if not isinstance(route, str):
        raise RouterAnswerError(f"router answer's route is not a string: {_excerpt(text)}")
    return None if route in ("", NO_ROUTE) else route


def resolve_route_name(answer: str | None, routes: Sequence[Route]) -> str | None:
    """`answer` if it names one of `routes`; an invented name means no route."""
    if answer is None or not any(route.name == answer for route in routes):
        return None
    return answer


def estimate_tokens(text: str) -> int:
    """Plano's cheap token estimate: UTF-8 bytes // 4."""
    # Lone surrogates can survive JSON decoding of a request; count them instead of failing.
    return len(text.encode("utf-8", "surrogatepass")) // BYTES_PER_TOKEN


@lru_cache(maxsize=_ROUTES_CACHE_SIZE)
def _prompt_head(routes: tuple[Route, ...]) -> str:
    """Everything before the conversation; depends only on the route set, so it is cached."""
    described = [{"name": route.name, "description": route.description} for route in routes]
    return _HEAD + _compact_json(described) + _MIDDLE


def _within_budget(messages: list[Message]) -> list[Message]:
    """Newest-first selection under the budget, returned oldest first.

    The message that crosses the budget is kept only if the user wrote it; the latest user
    message (or, without one, the newest message) is always kept.
    """
    if not messages:
        return []
    tokens = _TEMPLATE_TOKENS
    kept: list[int] = []  # indices, newest first
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        tokens += estimate_tokens(message.text)
        if tokens > ROUTER_TOKEN_BUDGET:
            if message.role is Role.USER:
                kept.append(index)
            break
        kept.append(index)
    anchor = _latest_user_index(messages)
    # `kept` is a contiguous run ending at the newest message, so the anchor is missing
    # exactly when the run stopped short of it.
    if not kept or kept[-1] > anchor:
        kept.append(anchor)
    return [messages[index] for index in reversed(kept)]


def _latest_user_index(messages: list[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.USER:
            return index
    return len(messages) - 1


def _repair_answer(text: str) -> str:
    """Undo the usual Arch-Router output slips: single quotes, escaped newlines, code fences."""
    repaired = text.replace("'", '"').replace("\\n", "").strip()
    for opener in _FENCE_OPENERS:
        if repaired.startswith(opener):
            repaired = repaired.removeprefix(opener)
            break
    return repaired.removesuffix("```").strip()


def _compact_json(value: Any) -> str:
    # Matches serde_json::to_string, which Plano uses: no spaces, non-ASCII left as is.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _excerpt(text: str) -> str:
    return repr(text[:_ERROR_EXCERPT_CHARS])
