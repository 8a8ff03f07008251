"""The replies the routing filter answers itself when it cannot forward a request: each a
precise status with a JSON error body."""

from __future__ import annotations

from plano_extproc.config.model import ModelProvider
from plano_extproc.conversations.items import PREVIOUS_RESPONSE_ID
from plano_extproc.extproc.endpoints import Refusal
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingResponse
from plano_extproc.extproc.messages import json_reply, problem_reply
from plano_extproc.wire.fields import excerpt

TOO_MANY_LARGE_BODIES = problem_reply(
    429,
    "TooManyRequests",
    "too many large requests in progress; retry shortly",
    "too_many_large_requests",
    (("retry-after", "1"),),
)
STATE_UNAVAILABLE = problem_reply(
    503,
    "StateUnavailable",
    "the conversation state store is unavailable; retry shortly",
    "state_unavailable",
)
INTERNAL_ERROR = problem_reply(
    503, "RoutingUnavailable", "internal error while routing", "internal_error"
)


def previous_response_not_found(response_id: str) -> ProcessingResponse:
    """OpenAI's own answer to an unknown `previous_response_id`, in the Responses error shape."""
    error = {
        "message": f"Previous response with id '{excerpt(response_id)}' not found.",
        "type": "invalid_request_error",
        "param": PREVIOUS_RESPONSE_ID,
        "code": "previous_response_not_found",
    }
    return json_reply(404, {"error": error})


def missing_key(provider: ModelProvider, env: str) -> ProcessingResponse:
    return problem_reply(
        503,
        "ProviderUnavailable",
        f"provider '{provider.name}' has no API key: set {env}",
        "missing_provider_key",
    )


def refused(refusal: Refusal) -> ProcessingResponse:
    return problem_reply(
        refusal.status, refusal.code, refusal.message, refusal.reason, refusal.headers
    )
