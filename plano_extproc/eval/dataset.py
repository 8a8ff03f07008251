"""Evaluation datasets: a routes file and a JSON-lines file of labelled conversations.

Routes (`routes.json`) are a JSON list of ``{name, description, examples?}``, validated exactly
like inline ``routing_preferences``; `models` may be left out since an evaluation never ranks
models. Each line of a cases file (`cases.jsonl`) is ``{"messages": [...], "gold": "..."}`` with
OpenAI Chat Completions messages and the expected route name, or ``"other"`` when no route should
match. Every problem is reported with its line (cases) or its entry path (routes).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from plano_extproc.config.model import Route
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import InvalidRequest, Message, parse_body
from plano_extproc.wire.fields import json_type
from plano_extproc.wire.inline_routes import inline_routes

OTHER = "other"
# Models are needed to build a Route, never to evaluate one.
_PLACEHOLDER_MODELS = ["eval/unused"]
_INLINE_ROUTES_PATH = "routing_preferences"
_CASE_FIELDS = frozenset({"messages", "gold"})


class DatasetError(Exception):
    """A routes or cases file that cannot be evaluated; the message says where and why."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One labelled conversation. `gold` is a route name, or None for "other" (no route)."""

    messages: tuple[Message, ...]
    gold: str | None
    line: int = 0


def load_routes(path: str | Path) -> tuple[Route, ...]:
    raw = _read(path)
    try:
        return _routes(raw)
    except DatasetError as error:
        raise DatasetError(f"{path}: {error}") from None


def load_cases(path: str | Path, routes: tuple[Route, ...] | None = None) -> list[EvalCase]:
    """With `routes`, every gold must also name one of them (or be "other")."""
    names = None if routes is None else {route.name for route in routes}
    cases = []
    for number, raw in enumerate(_read(path).splitlines(), start=1):
        if raw.strip():
            try:
                cases.append(_case(raw, number, names))
            except DatasetError as error:
                raise DatasetError(f"{path}:{number}: {error}") from None
    if not cases:
        raise DatasetError(f"{path}: no cases")
    return cases


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read: {error.strerror}") from None


def _decode(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise DatasetError(f"not valid JSON: {error.msg}") from None


def _routes(raw: bytes) -> tuple[Route, ...]:
    entries = _decode(raw)
    if not isinstance(entries, list) or not entries:
        raise DatasetError("expected a non-empty JSON list of routes")
    try:
        routes = inline_routes({_INLINE_ROUTES_PATH: [_with_models(e) for e in entries]}) or ()
    except InvalidRequest as error:
        raise DatasetError(error.message.removeprefix(_INLINE_ROUTES_PATH)) from None
    for index, route in enumerate(routes):
        if route.name == OTHER:
            raise DatasetError(f"[{index}].name: '{OTHER}' is reserved for \"no route\"")
    return routes


def _with_models(entry: object) -> object:
    if isinstance(entry, dict) and "models" not in entry:
        return {**entry, "models": _PLACEHOLDER_MODELS}
    return entry


def _case(raw: bytes, number: int, route_names: Collection[str] | None) -> EvalCase:
    obj = _decode(raw)
    if not isinstance(obj, dict):
        raise DatasetError(f"expected a JSON object, got {json_type(obj)}")
    _check_fields(obj)
    try:
        messages = parse_body(ClientApi.CHAT, {"messages": obj["messages"]}).messages
    except InvalidRequest as error:
        raise DatasetError(error.message) from None
    return EvalCase(messages, _gold(obj["gold"], route_names), number)


def _check_fields(obj: dict[str, Any]) -> None:
    missing = sorted(_CASE_FIELDS - obj.keys())
    if missing:
        raise DatasetError(f"missing field {', '.join(missing)}")
    unknown = sorted(obj.keys() - _CASE_FIELDS)
    if unknown:
        raise DatasetError(f"unknown field {', '.join(unknown)}")


def _gold(value: object, route_names: Collection[str] | None) -> str | None:
    if not isinstance(value, str) or not value:
        raise DatasetError(f"gold: expected a route name or '{OTHER}', got {value!r}")
    if value == OTHER:
        return None
    if route_names is not None and value not in route_names:
        raise DatasetError(f"gold: '{value}' is neither a route in the routes file nor '{OTHER}'")
    return value
