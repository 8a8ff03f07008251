"""A request the gateway refuses before any provider sees it (a Denial: client authentication, a
rate limit), answered in the client API's own error shape so that SDKs raise their usual
errors; the decision endpoints (`api` None) keep the gateway's own shape."""

from __future__ import annotations

from collections.abc import Iterable

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.replies import SERVICE_DETAILS_PREFIX
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingResponse
from plano_extproc.extproc.messages import json_reply, problem_reply
from plano_extproc.wire import client_error_body
from plano_extproc.wire.ir import ApiError, Denial


def denied_reply(api: ClientApi | None, denial: Denial, source: str) -> ProcessingResponse:
    """`api` None: the gateway's own endpoints (/routing/v1/*), in the gateway's error shape.
    `source` (auth, ratelimit) names the refusal in the access log's details."""
    headers = list(_reply_headers(denial))
    if api is None:
        reply = problem_reply(
            denial.status, _CODES[denial.status], denial.message, denial.reason, headers
        )
    else:
        body = client_error_body(api, ApiError(denial.kind, denial.message))
        error = body.get("error")
        if api is not ClientApi.MESSAGES and isinstance(error, dict):
            error["code"] = denial.reason  # OpenAI names the problem in `code`
        reply = json_reply(denial.status, body, headers)
    # Keeps Envoy's mapper of its own 403 off this one, and names it in the access log.
    reply.immediate_response.details = f"{SERVICE_DETAILS_PREFIX}{source}_{denial.reason}"
    return reply


_CODES = {401: "Unauthorized", 403: "Forbidden", 429: "TooManyRequests"}


def _reply_headers(denial: Denial) -> Iterable[tuple[str, str]]:
    if denial.status == 401:
        yield "www-authenticate", "Bearer"
    if denial.retry_after is not None:
        yield "retry-after", str(denial.retry_after)
