"""What the ext_proc does with one request: answer it, or rewrite it for its provider.

Header phase: pick the endpoint from the path (decision, proxy, model list, or a 404/405).
Body phase: parse the client API, decide, then either answer the decision as JSON or build the
header/body mutations that send the request to the chosen provider. Everything that depends only
on the config (per-provider headers, credentials, paths, the model list) is built once here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from plano_extproc.affinity.keys import affinity_key, session_from_headers
from plano_extproc.auth import Denial, Identity
from plano_extproc.config.model import Config, ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.clusters import FAILOVER_CLUSTER
from plano_extproc.contract.headers import CLUSTER_HEADER, TRANSLATE_HEADER
from plano_extproc.conversations import (
    ConversationNotFound,
    StateUnavailable,
    build_conversation_store,
)
from plano_extproc.conversations.base import Items
from plano_extproc.conversations.exchanges import Exchanges
from plano_extproc.extproc.client_auth import ClientAuth, check_model, refusal, restricted
from plano_extproc.extproc.decision_metadata import (
    access_log_metadata,
    decision_metadata,
    fallback_headers,
    wants_usage,
)
from plano_extproc.extproc.denials import denied_reply
from plano_extproc.extproc.endpoints import Endpoint, Refusal, body_problem, match_endpoint
from plano_extproc.extproc.failover_setup import Failover, policy_owner
from plano_extproc.extproc.forwarded_headers import not_forwarded
from plano_extproc.extproc.gateway_errors import (
    INTERNAL_ERROR,
    STATE_UNAVAILABLE,
    TOO_MANY_LARGE_BODIES,
    missing_key,
    previous_response_not_found,
    refused,
)
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import HeaderValueOption, ProcessingResponse
from plano_extproc.extproc.messages import (
    CONTINUE_HEADERS,
    error_reply,
    forward_body,
    raw_json_reply,
    set_header,
)
from plano_extproc.extproc.model_listing import ModelListing
from plano_extproc.extproc.offload import Offload, TooManyLargeBodies
from plano_extproc.extproc.provider_request import (
    ProviderPlan,
    ProviderPlans,
    ProviderRequest,
    provider_request,
)
from plano_extproc.extproc.request_limits import (
    Charge,
    RequestLimits,
    budget_checked,
    budget_noted,
    observe_usage,
    record_charge,
)
from plano_extproc.failover.plan import FailoverPlan, failover_metadata, first_attempt_metadata
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.routing.decision import Decision
from plano_extproc.routing.engine import Recording
from plano_extproc.routing.router import Router
from plano_extproc.telemetry.metrics import FAILOVER_OUTCOMES
from plano_extproc.telemetry.trace import TraceParent, request_trace_parent
from plano_extproc.wire import (
    Transcript,
    needs_rewrite,
    parse_request,
    read_transcript,
    rewrite_body,
    upstream_translation,
    wire_api,
)
from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.errors import InvalidRequest

log = logging.getLogger(__name__)
_ENVOY_JUDGED = FAILOVER_OUTCOMES.labels("envoy_judged_first")


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """What the header phase learnt, kept for the body phase."""

    endpoint: Endpoint
    api: ClientApi
    headers: dict[str, str]
    query: str = ""
    # Envoy's span for this ext_proc call, when Envoy traces: the routing span's parent.
    trace_parent: TraceParent | None = None
    # Who sent it (config `auth`); None when the config has no `auth`.
    identity: Identity | None = None

    @property
    def error_api(self) -> ClientApi | None:
        """The API whose error shape a refusal takes; None: the gateway's own."""
        return None if self.endpoint is Endpoint.DECISION else self.api


class Gateway:
    def __init__(self, config: Config, router: Router, offload: Offload | None = None) -> None:
        self._router = router
        self._offload = offload or Offload()
        store = build_conversation_store(config.state_storage)
        ttl_seconds = config.state_storage.ttl_seconds if config.state_storage else 0
        self._exchanges = Exchanges(store, ttl_seconds) if store is not None else None
        self._plans = ProviderPlans(config)
        self._models = ModelListing(config)
        self._providers = config.provider_by_name
        self._auth = ClientAuth(config.auth, config) if config.auth is not None else None
        self._limits = RequestLimits(config, self._offload) if config.ratelimits else None
        self._tenant_header = config.routing.session_cache.tenant_header
        # The listener's limit, which Envoy enforces first with its 413.
        self._max_body_bytes = config.listeners[0].max_request_bytes
        self._failover = Failover(config, self._plans, router.affinity, offload=self._offload)

    def on_headers(
        self,
        method: str,
        path: str,
        end_of_stream: bool,
        headers: dict[str, str],
        trace_parent: TraceParent | None = None,
    ) -> tuple[ProcessingResponse, PendingRequest | None]:
        match = match_endpoint(method, path)
        if isinstance(match, Refusal):
            return refused(match), None
        identity, reply = None, CONTINUE_HEADERS
        if self._auth is not None:
            error_api = None if match.endpoint is Endpoint.DECISION else match.api or ClientApi.CHAT
            identity, reply = self._auth.admit(error_api, headers)
            if identity is None:
                return reply, None
        if match.endpoint is Endpoint.MODELS:
            return raw_json_reply(200, self._models.body(identity)), None
        problem = body_problem(end_of_stream, headers)
        if problem is not None:
            return error_reply(problem), None
        assert match.api is not None
        pending = PendingRequest(
            match.endpoint, match.api, headers, match.query, trace_parent, identity
        )
        return reply, pending

    async def on_body(self, pending: PendingRequest, body: bytes) -> ProcessingResponse:
        try:
            with self._offload.admitted(body):
                return await self._answer(pending, body)
        except TooManyLargeBodies:
            return TOO_MANY_LARGE_BODIES

    async def decide(
        self,
        api: ClientApi,
        body: bytes,
        headers: Mapping[str, str],
        trace_parent: TraceParent | None,
    ) -> tuple[ParsedRequest, Decision]:
        """Reads the client's body once and decides: the one path the routing filter and the
        gRPC decision API share. Raises InvalidRequest; the caller admits large bodies."""
        parsed, decision, recording = await self._decide(api, body, headers, trace_parent)
        recording.record(decision)
        return parsed, decision

    async def _decide(
        self,
        api: ClientApi,
        body: bytes,
        headers: Mapping[str, str],
        trace_parent: TraceParent | None,
    ) -> tuple[ParsedRequest, Decision, Recording]:
        parsed = await self._offload.run(
            body, parse_request, api, body, max_body_bytes=self._max_body_bytes
        )
        decision, recording = await self._router.engine.decide_unrecorded(
            parsed, headers, trace_parent
        )
        return parsed, decision, recording

    async def _answer(self, pending: PendingRequest, body: bytes) -> ProcessingResponse:
        recording = None
        try:
            parsed, decision, recording = await self._decide(
                pending.api, body, pending.headers, pending.trace_parent
            )
            if pending.identity is not None:
                allowed = restricted(decision, pending.identity, self._providers)
                if isinstance(allowed, Denial):
                    return refusal(pending.error_api, allowed)
                decision = allowed
            if pending.endpoint is Endpoint.DECISION:
                payload = await self._decision_json(decision, parsed, pending, body, recording)
                reply = raw_json_reply(200, payload, fallback_headers(decision))
                reply.dynamic_metadata.CopyFrom(access_log_metadata(decision))
                return reply
            return await self._forward(parsed, decision, pending, body, recording)
        except InvalidRequest as error:
            return error_reply(error)
        except ConversationNotFound as missing:
            return previous_response_not_found(missing.response_id)
        except StateUnavailable:
            log.warning("conversation state store unavailable", exc_info=True)
            return STATE_UNAVAILABLE
        except Exception:
            log.exception("unexpected error while routing a request")
            return INTERNAL_ERROR
        finally:
            # Unless a later step recorded it with more (the rate limits' outcome).
            if recording is not None:
                recording.record(decision)

    @property
    def client_auth(self) -> ClientAuth | None:
        return self._auth

    @property
    def limits(self) -> RequestLimits | None:
        return self._limits

    @property
    def providers(self) -> Mapping[str, ModelProvider]:
        return self._providers

    @property
    def failover(self) -> Failover:
        return self._failover

    @property
    def offload(self) -> Offload:
        return self._offload

    async def close(self) -> None:
        if self._limits is not None:
            await self._limits.close()
        await self._failover.close()
        self._offload.close()
        if self._exchanges is not None:
            await self._exchanges.close()

    async def remember(self, state_key: str, response_id: str, output: Items) -> None:
        """Stores a completed Responses exchange: the input items its request left under
        `state_key`, then `output`, under the id the client received."""
        if self._exchanges is not None:
            await self._exchanges.complete(state_key, response_id, output)

    async def _decision_json(
        self,
        decision: Decision,
        parsed: ParsedRequest,
        pending: PendingRequest,
        body: bytes,
        recording: Recording,
    ) -> bytes:
        """With `ratelimits`, the decision also lists its models that could not take the
        request now (`out_of_budget`); nothing is charged."""
        answer = decision.to_json()
        if self._limits is not None:
            out = await self._limits.out_of_budget(decision.models, parsed, pending.headers, body)
            answer["out_of_budget"] = out
            recording.record(budget_checked(decision, out))
        return orjson.dumps(answer)

    async def _forward(
        self,
        parsed: ParsedRequest,
        decision: Decision,
        pending: PendingRequest,
        body: bytes,
        recording: Recording,
    ) -> ProcessingResponse:
        provider = self._router.resolver.resolve(decision, parsed.model)
        denied = check_model(pending.identity, provider)
        if denied is not None:
            return refusal(pending.error_api, denied)
        charge = None
        if self._limits is not None:
            admitted = await self._limits.admit(decision, provider, parsed, pending.headers, body)
            recording.record(budget_noted(decision, admitted))
            if isinstance(admitted, Denial):
                return denied_reply(pending.error_api, admitted, "ratelimit")
            provider, decision, charge = admitted.provider, admitted.decision, admitted.charge
        if provider.retry_policy is not None:
            return await self._forward_with_failover(
                parsed, decision, pending, body, provider, charge
            )
        plan = self._plans[provider.name]
        if plan.missing_key_env is not None:
            return missing_key(provider, plan.missing_key_env)
        client_body, state_key = await self._client_body(parsed, provider)
        request = await self._rewrite_for(plan, parsed, pending, body, client_body)
        set_headers = request.set_headers
        remove_headers = _not_forwarded(
            request.remove_headers,
            pending.headers,
            wire_api(parsed.api, provider),
            passthrough_auth=provider.passthrough_auth,
        )
        if request.translation is not None:
            set_headers.append(set_header(TRANSLATE_HEADER, request.translation.value))
        else:
            remove_headers = observe_usage(charge, set_headers, remove_headers)
        set_headers += _traceparent(decision, pending)
        metadata = decision_metadata(decision, provider, parsed, request.translation, state_key)
        record_charge(metadata, charge)
        return forward_body(
            set_headers=set_headers,
            remove_headers=remove_headers,
            body=request.body,
            metadata=metadata,
        )

    async def _rewrite_for(
        self,
        plan: ProviderPlan,
        parsed: ParsedRequest,
        pending: PendingRequest,
        body: bytes,
        client_body: dict[str, Any],
        *,
        via_failover: bool = False,
    ) -> ProviderRequest:
        return await self._offload.run(
            body,
            provider_request,
            plan,
            parsed.api,
            client_body,
            partial(_transcript, parsed, client_body),
            raw_length=len(body),
            query=pending.query,
            via_failover=via_failover,
        )

    async def _client_body(
        self, parsed: ParsedRequest, provider: ModelProvider
    ) -> tuple[dict[str, Any], str | None]:
        """The request as the provider should see it before any rewrite: a Responses request
        sent as Chat Completions gets its stored conversation in front (state_storage)."""
        needs_state = (
            parsed.api is ClientApi.RESPONSES
            and upstream_translation(parsed.api, provider) is not None
        )
        if not needs_state or self._exchanges is None:
            return parsed.body, None
        return await self._exchanges.begin(parsed.body)

    async def _forward_with_failover(
        self,
        parsed: ParsedRequest,
        decision: Decision,
        pending: PendingRequest,
        body: bytes,
        provider: ModelProvider,
        charge: Charge | None,
    ) -> ProcessingResponse:
        """Sends the request to the failover cluster: Envoy makes the attempts, and the attempt
        filter rewrites each one for its model (extproc/attempts.py). The body goes on in the
        client's API, routing fields dropped."""
        candidates = await self._failover.candidates(provider, decision, pending.identity)
        if not candidates:
            return missing_key(provider, self._plans[provider.name].missing_key_env or "")
        if self._limits is not None:
            charge = await self._limits.for_failover(
                charge, candidates, parsed, pending.headers, body
            )
        client_body, state_key = await self._client_body(parsed, provider)
        envoy_judges = state_key is None and self._failover.envoy_judges_first(
            provider, candidates, parsed.api
        )
        plan = FailoverPlan(
            candidates=candidates,
            policy_owner=policy_owner(provider),
            api=parsed.api,
            query=pending.query,
            session_key=self._session_key(pending.headers) if decision.route else None,
            route=decision.route,
            first_rewritten=envoy_judges,
        )
        if envoy_judges:
            return await self._forward_first_attempt(parsed, decision, pending, body, plan, charge)
        changed = state_key is not None or needs_rewrite(client_body, model=None)
        new_body = (
            await self._offload.run(body, rewrite_body, client_body, model=None)
            if changed
            else None
        )
        set_headers = [
            set_header(CLUSTER_HEADER, FAILOVER_CLUSTER),
            set_header("content-length", str(len(new_body) if new_body is not None else len(body))),
            *_traceparent(decision, pending),
        ]
        metadata = decision_metadata(decision, provider, parsed, None, state_key)
        failover_metadata(metadata, plan, stream=parsed.stream, usage=wants_usage(parsed))
        record_charge(metadata, charge)
        # Credentials stay for the attempt filter, which knows each attempt's provider.
        remove_headers = _not_forwarded((), pending.headers, None, passthrough_auth=True)
        remove_headers = observe_usage(charge, set_headers, remove_headers)
        return forward_body(
            set_headers=set_headers,
            remove_headers=remove_headers,
            body=new_body,
            metadata=metadata,
        )

    async def _forward_first_attempt(
        self,
        parsed: ParsedRequest,
        decision: Decision,
        pending: PendingRequest,
        body: bytes,
        plan: FailoverPlan,
        charge: Charge | None,
    ) -> ProcessingResponse:
        """The request rewritten for its first candidate, as a request without a policy, but
        to the failover cluster: Envoy judges this attempt alone, and the attempt filter sees
        only the attempts after it (failover/first_attempt.py)."""
        first = self._plans[plan.candidates[0]]
        request = await self._rewrite_for(
            first, parsed, pending, body, parsed.body, via_failover=True
        )
        set_headers = request.set_headers + _traceparent(decision, pending)
        # Any API's client headers, as for every attempt of a policy: a retry may go to either.
        remove_headers = _not_forwarded(
            request.remove_headers,
            pending.headers,
            None,
            passthrough_auth=first.provider.passthrough_auth,
        )
        remove_headers = observe_usage(charge, set_headers, remove_headers)
        metadata = decision_metadata(decision, first.provider, parsed, None)
        failover_metadata(metadata, plan, stream=parsed.stream, usage=wants_usage(parsed))
        record_charge(metadata, charge)
        timeout_ms = self._failover.attempt_timeouts_ms.get(plan.policy_owner)
        first_attempt_metadata(metadata, first.upstream.cluster, timeout_ms)
        _ENVOY_JUDGED.inc()
        return forward_body(
            set_headers=set_headers,
            remove_headers=remove_headers,
            body=request.body,
            metadata=metadata,
        )

    def _session_key(self, headers: Mapping[str, str]) -> str | None:
        session = session_from_headers(headers, self._tenant_header)
        return affinity_key(*session) if session else None


def _transcript(parsed: ParsedRequest, body: dict[str, Any]) -> Transcript:
    """The conversation of the body sent on: the client's, as parsed, or, when its stored
    conversation was put in front of it (`state_storage`), that whole body's."""
    if body is parsed.body:
        return parsed.transcript
    return read_transcript(parsed.api, body)


def _traceparent(decision: Decision, pending: PendingRequest) -> list[HeaderValueOption]:
    """The client's traceparent when it is valid; else one of ours (an invalid one would leave
    the provider's trace unconnected)."""
    if request_trace_parent(pending.headers) is not None:
        return []
    return [set_header("traceparent", f"00-{decision.trace_id}-{os.urandom(8).hex()}-01")]


def _not_forwarded(
    removed: tuple[str, ...],
    client_headers: Mapping[str, str],
    wire: ProviderApi | None,
    *,
    passthrough_auth: bool,
) -> tuple[str, ...]:
    dropped = not_forwarded(client_headers, wire, passthrough_auth=passthrough_auth)
    return tuple(dict.fromkeys((*removed, *dropped)))
