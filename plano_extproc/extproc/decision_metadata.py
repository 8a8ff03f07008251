"""The decision as the routing filter reports it: the dynamic metadata Envoy's routes, access log
and the response filters read, and the decision endpoints' extra headers."""

from __future__ import annotations

from google.protobuf.struct_pb2 import Struct

from plano_extproc.config.model import ModelProvider
from plano_extproc.contract.metadata import (
    INCLUDE_USAGE_KEY,
    MODEL_KEY,
    STATE_KEY,
    STREAM_KEY,
    TRANSLATION_KEY,
    set_strings,
)
from plano_extproc.routing.decision import Decision
from plano_extproc.wire import Translation
from plano_extproc.wire.conversation import ParsedRequest


def decision_metadata(
    decision: Decision,
    provider: ModelProvider,
    parsed: ParsedRequest,
    translation: Translation | None,
    state_key: str | None = None,
) -> Struct:
    ranked = decision.models if decision.matched else (provider.name,)
    values = {MODEL_KEY: provider.name, "models": ",".join(ranked)}
    if state_key is not None:
        values[STATE_KEY] = state_key
    if translation is not None:
        values[TRANSLATION_KEY] = translation.value
        values[STREAM_KEY] = "true" if parsed.stream else "false"
        if wants_usage(parsed):
            values[INCLUDE_USAGE_KEY] = "true"
    values["pinned"] = "true" if decision.pinned else "false"
    if decision.route is not None:
        values["route"] = decision.route
    if decision.fallback is not None:
        values["fallback"] = decision.fallback.value
    return _metadata(values)


def access_log_metadata(decision: Decision) -> Struct:
    """For decision answers: lets Envoy's access log show what was decided."""
    values = {"model": decision.models[0]}
    if decision.route is not None:
        values["route"] = decision.route
    return _metadata(values)


def _metadata(values: dict[str, str]) -> Struct:
    metadata = Struct()
    set_strings(metadata, values)
    return metadata


def wants_usage(parsed: ParsedRequest) -> bool:
    options = parsed.body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def fallback_headers(decision: Decision) -> tuple[tuple[str, str], ...]:
    if decision.fallback is None:
        return ()
    return (("x-plano-route-fallback", decision.fallback.value),)
