"""The endpoint table: what the routing filter does with a request, chosen from its path and
method in the header phase (before any body arrives)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.paths import DECISION_PATHS, MODELS_PATH, PROXY_PATHS
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.fields import excerpt


class Endpoint(Enum):
    DECISION = "decision"  # /routing/v1/*: answer the decision, call no model
    PROXY = "proxy"  # /v1/*: rewrite the request for the chosen provider
    MODELS = "models"  # /v1/models: the model list


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused in the header phase, answered as a JSON error."""

    status: int
    code: str
    message: str
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    endpoint: Endpoint
    api: ClientApi | None
    query: str


def match_endpoint(method: str, path: str) -> Match | Refusal:
    """The endpoint for `path` (its query string kept apart), or why there is none."""
    path, _, query = path.partition("?")
    if path == MODELS_PATH:
        if method in ("GET", "HEAD"):
            return Match(Endpoint.MODELS, None, query)
        return _method_not_allowed(f"{MODELS_PATH} accepts GET and HEAD only", "GET, HEAD")
    if path in DECISION_PATHS:
        match = Match(Endpoint.DECISION, DECISION_PATHS[path], query)
    elif path in PROXY_PATHS:
        match = Match(Endpoint.PROXY, PROXY_PATHS[path], query)
    else:
        return Refusal(404, "NotFound", f"no endpoint at {excerpt(path)}", "unknown_path")
    if method != "POST":
        return _method_not_allowed(f"{path} accepts POST only", "POST")
    return match


def body_problem(end_of_stream: bool, headers: Mapping[str, str]) -> InvalidRequest | None:
    """Why a POST to a model endpoint cannot be read, from its headers alone."""
    if end_of_stream:
        return InvalidRequest("the request has no body", reason="missing_body")
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        return InvalidRequest(
            f"content-encoding '{excerpt(encoding)}' is not supported: send the JSON body "
            "uncompressed",
            reason="unsupported_content_encoding",
            status=415,
        )
    return None


def _method_not_allowed(message: str, allowed: str) -> Refusal:
    return Refusal(405, "MethodNotAllowed", message, "method_not_allowed", (("allow", allowed),))
