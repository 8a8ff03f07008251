"""RoutingService.Decide: the decision of /routing/v1, over gRPC.

Same parsing, same engine, same errors: invalid input gets INVALID_ARGUMENT with the message the
HTTP endpoint would put in its 400.
"""

from __future__ import annotations

import asyncio

import grpc

from plano_extproc.auth import Denial, Identity
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.clusters import ROUTING_GRPC_SERVICE
from plano_extproc.extproc.client_auth import ClientAuth, restricted, trusted_view
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.extproc.offload import TooManyLargeBodies
from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from plano_extproc.routing.decision import Decision
from plano_extproc.telemetry.trace import metadata_trace_parent, request_trace_parent
from plano_extproc.wire.errors import InvalidRequest

SERVICE_NAME = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name
assert SERVICE_NAME == ROUTING_GRPC_SERVICE, "contract/clusters.py names the service"
_APIS = {
    routing_pb2.CLIENT_API_CHAT: ClientApi.CHAT,
    routing_pb2.CLIENT_API_MESSAGES: ClientApi.MESSAGES,
    routing_pb2.CLIENT_API_RESPONSES: ClientApi.RESPONSES,
}


def decision_message(decision: Decision) -> routing_pb2.Decision:
    reply = routing_pb2.Decision(
        models=list(decision.models), trace_id=decision.trace_id, pinned=decision.pinned
    )
    if decision.route is not None:
        reply.route = decision.route
    if decision.session_id is not None:
        reply.session_id = decision.session_id
    if decision.fallback is not None:
        reply.fallback_reason = decision.fallback.value
    return reply


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, gateway: asyncio.Future[Gateway]) -> None:
        # Resolved once routing has loaded (as for the ext_proc service).
        self._gateway = gateway

    async def Decide(
        self, request: routing_pb2.DecideRequest, context: grpc.aio.ServicerContext
    ) -> routing_pb2.Decision:
        api = _APIS.get(request.api)
        if api is None:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "api: one of chat, messages or responses"
            )
        gateway = await self._gateway
        body = request.body
        headers = {name.lower(): value for name, value in request.headers.items()}
        identity = await _authenticated(gateway.client_auth, headers, context)
        # The request's own traceparent names its trace; else the call's (a traced client or
        # Envoy).
        parent = request_trace_parent(headers) or metadata_trace_parent(
            context.invocation_metadata()
        )
        try:
            with gateway.offload.admitted(body):
                _, decision = await gateway.decide(api, body, headers, parent)
        except InvalidRequest as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except TooManyLargeBodies:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "too many large requests in progress"
            )
        if identity is not None:
            decision = restricted(decision, identity, gateway.providers)
            if isinstance(decision, Denial):
                await _refuse(context, decision)
        return decision_message(decision)


_GRPC_CODES = {
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


async def _authenticated(
    auth: ClientAuth | None, headers: dict[str, str], context: grpc.aio.ServicerContext
) -> Identity | None:
    """With `auth`, the call's own metadata (Envoy forwards the HTTP/2 headers) must carry a
    key or a verified token, as an HTTP request's headers must; the identity then replaces
    any copy in the request's `headers`."""
    if auth is None:
        return None
    metadata = {
        key.lower(): value
        for key, value in context.invocation_metadata() or ()
        if isinstance(value, str)
    }
    result = auth.authenticate_call(metadata)
    if isinstance(result, Denial):
        await _refuse(context, result)
    assert isinstance(result, Identity)
    trusted_view(headers, result)
    return result


async def _refuse(context: grpc.aio.ServicerContext, denial: Denial) -> None:
    await context.abort(
        _GRPC_CODES.get(denial.status, grpc.StatusCode.UNAUTHENTICATED), denial.message
    )
