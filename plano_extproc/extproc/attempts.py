"""The attempt filter: one stream per upstream attempt of a request with a `retry_policy`.

The routing filter sends such a request, in the client's API, to the failover cluster, with its
candidates in the `failover` metadata. Envoy makes every attempt, and this filter (an upstream
filter of that cluster) sees each one:
- request headers: acknowledged at once;
- request body: wait out the backoff or Retry-After the previous attempt asked for, then
  rewrite the request for this attempt's model (cluster, path, key, body);
- response headers: a success or a final error passes on (translated when needed); a retriable
  failure either asks Envoy for a retry (the retry header), naming the next model and its delay
  in the metadata, or, when the policy is spent, becomes the `retry_exhausted` error;
- response body, only when it is translated, replaced or timed: translated chunk by chunk; the
  answer's latency is measured at its end.

Every attempt is recorded in the request's metadata, which all attempts share: it feeds the
next decision, the `x-plano-attempts` header and the access log.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from plano_extproc.affinity.base import AffinityStore, Pin
from plano_extproc.config.model import Config, ModelProvider
from plano_extproc.config.retry_policy import ApplyTo, LatencyMeasure, RetryPolicy
from plano_extproc.contract.headers import (
    ATTEMPT_TIMEOUT_HEADER,
    ATTEMPTS_HEADER,
    RETRY_HEADER,
    UPSTREAM_TIMEOUT_HEADER,
)
from plano_extproc.contract.metadata import (
    ATTEMPTS_KEY,
    FAILOVER_KEY,
    INCLUDE_USAGE_KEY,
    METADATA_NAMESPACE,
    NEXT_KEY,
    STATE_KEY,
    STREAM_KEY,
    TRANSLATION_KEY,
)
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    HeaderValueOption,
    ProcessingMode,
    ProcessingRequest,
    ProcessingResponse,
)
from plano_extproc.extproc.messages import (
    header_dict,
    json_reply,
    raw_json_reply,
    set_header,
)
from plano_extproc.extproc.offload import Offload
from plano_extproc.extproc.provider_request import ProviderPlan, ProviderRequest, provider_request
from plano_extproc.extproc.translation import ResponseTranslation
from plano_extproc.failover.blocks import BlockStore, build_block_store
from plano_extproc.failover.plan import FailoverPlan, attempt_from_json
from plano_extproc.failover.policy import (
    Attempt,
    attempt_timeout_ms,
    attempts_header,
    exhausted_error,
    failover_candidates,
    is_retriable,
    max_delay_seconds,
    models_in_scope,
    next_retry,
    retry_after_seconds,
    unblocked_first,
)
from plano_extproc.routing.decision import Decision
from plano_extproc.telemetry.metrics import FAILOVER_OUTCOMES, FAILOVER_RETRIES, MODEL_BLOCKS
from plano_extproc.wire import Translation, read_transcript

_PASS_BODY = ProcessingResponse(response_body=BodyResponse())
# An answer whose body needs neither translating nor measuring passes Envoy unread.
_NO_RESPONSE_BODY = ProcessingMode(
    response_header_mode=ProcessingMode.SEND, response_body_mode=ProcessingMode.NONE
)
JSON_TYPE = "application/json"
_RECOVERED = FAILOVER_OUTCOMES.labels("recovered")
_FIRST_TRY = FAILOVER_OUTCOMES.labels("first_try")
_EXHAUSTED = FAILOVER_OUTCOMES.labels("exhausted")
_FAILED = FAILOVER_OUTCOMES.labels("failed")


def _metadata(values: dict[str, Any]) -> Struct:
    metadata = Struct()
    metadata.update({METADATA_NAMESPACE: values})
    return metadata


def policy_owner(provider: ModelProvider) -> str:
    """The entry whose retry_policy governs `provider`: a model served by a wildcard has its
    wildcard entry's."""
    return provider.wildcard_of or provider.name


class _PrefixOf(Mapping[str, str]):
    """Each model's provider prefix (its family for `same_provider` strategies and block
    scopes), models served by wildcards included."""

    def __init__(self, providers: Mapping[str, ModelProvider]) -> None:
        self._providers = providers

    def __getitem__(self, name: str) -> str:
        return self._providers[name].provider

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)


class Failover:
    """Per config: the policies, plans and block store every attempt stream uses."""

    def __init__(
        self,
        config: Config,
        plans: Mapping[str, ProviderPlan],
        affinity: AffinityStore,
        *,
        blocks: BlockStore | None = None,
        offload: Offload | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plans = plans
        self.policies: dict[str, RetryPolicy] = {
            p.name: p.retry_policy for p in config.providers if p.retry_policy is not None
        }
        self.family_of = _PrefixOf(config.provider_by_name)
        self.blocks = blocks if blocks is not None else build_block_store(config.routing)
        self.affinity = affinity
        self.offload = offload or Offload()
        self.rng = rng or random.Random()
        self.clock = clock
        listener_timeout_s = config.listeners[0].timeout_seconds
        self.max_delay_s = max_delay_seconds(listener_timeout_s)
        self.attempt_timeouts_ms = {
            name: ms
            for name, policy in self.policies.items()
            if (ms := attempt_timeout_ms(policy, listener_timeout_s)) is not None
        }
        self._declared = tuple(p.name for p in config.providers if not p.is_wildcard)

    async def candidates(self, provider: ModelProvider, decision: Decision) -> tuple[str, ...]:
        """The models this request may go to, in order; usable ones only (a key is set), and
        blocked ones last."""
        policy = self.policies[policy_owner(provider)]
        ranked = decision.models if decision.matched else ()
        ordered = failover_candidates(provider.name, policy, ranked, self._declared)
        usable = [m for m in ordered if m in self.plans and self.plans[m].missing_key_env is None]
        return unblocked_first(usable, await self.blocks.blocked(usable))

    def stream(self) -> AttemptStream:
        return AttemptStream(self)

    async def close(self) -> None:
        await self.blocks.close()


class AttemptStream:
    """One attempt, phase by phase (see the module docstring)."""

    def __init__(self, failover: Failover) -> None:
        self._failover = failover
        self._plan: FailoverPlan | None = None
        self._attempts: list[Attempt] = []
        self._model = ""
        self._started = 0.0
        self._stream_requested = False
        self._usage = False
        self._state_key: str | None = None
        self._translation_value = ""
        self._replacement: bytes | None = None
        self.translation: ResponseTranslation | None = None
        # Whether the answer's body comes by (translated, replaced or timed); when not, the
        # stream ends with the response headers and the answer no longer depends on us.
        self.reads_response_body = True

    @property
    def _policy(self) -> RetryPolicy:
        assert self._plan is not None
        return self._failover.policies[self._plan.policy_owner]

    async def on_request_body(self, message: ProcessingRequest) -> ProcessingResponse:
        """Waits out the delay the previous attempt asked for, then rewrites the request for
        this attempt's model."""
        namespace = _namespace(message)
        self._plan = FailoverPlan.from_json(namespace.get(FAILOVER_KEY))
        if self._plan is None or self._plan.policy_owner not in self._failover.policies:
            return json_reply(502, _error("the attempt carries no failover plan"))
        self._attempts = [attempt_from_json(a) for a in namespace.get(ATTEMPTS_KEY) or ()]
        self._stream_requested = namespace.get(STREAM_KEY) == "true"
        self._usage = namespace.get(INCLUDE_USAGE_KEY) == "true"
        self._state_key = namespace.get(STATE_KEY) or None
        upcoming = namespace.get(NEXT_KEY) if self._attempts else None
        if isinstance(upcoming, dict):
            self._model = str(upcoming.get("model", ""))
            delay_s = min(float(upcoming.get("delay_ms", 0)) / 1000, self._failover.max_delay_s)
            if delay_s > 0:
                await asyncio.sleep(delay_s)
        else:
            self._model = self._plan.candidates[0]
        if self._model not in self._failover.plans:
            # A replica with another config started this request (a rollout).
            return json_reply(502, _error(f"model '{self._model}' is not configured here"))
        self._started = self._failover.clock()
        body = message.request_body.body
        request = await self._failover.offload.run(body, self._provider_request, body)
        return self._rewritten(request)

    def _provider_request(self, body: bytes) -> ProviderRequest:
        assert self._plan is not None
        plan, api = self._failover.plans[self._model], self._plan.api
        decoded = orjson.loads(body)
        # The routing filter read this body already; an attempt reads its conversation again
        # only when it is translated.
        transcript = partial(read_transcript, api, decoded)
        return provider_request(
            plan, api, decoded, transcript, raw_length=len(body), query=self._plan.query
        )

    def _rewritten(self, request: ProviderRequest) -> ProcessingResponse:
        self._translation_value = request.translation.value if request.translation else ""
        self._attempts.append(Attempt(self._model))
        common = CommonResponse(
            header_mutation=HeaderMutation(
                set_headers=[*request.set_headers, *self._timeout_headers()],
                remove_headers=request.remove_headers,
            ),
            body_mutation=BodyMutation(body=request.body) if request.body is not None else None,
        )
        metadata = _metadata(
            {
                "model": self._model,
                TRANSLATION_KEY: self._translation_value,
                ATTEMPTS_KEY: [a.to_json() for a in self._attempts],
            }
        )
        return ProcessingResponse(
            request_body=BodyResponse(response=common), dynamic_metadata=metadata
        )

    def _timeout_headers(self) -> list[HeaderValueOption]:
        """The policy's attempt timeout, for the attempts listener to apply."""
        assert self._plan is not None
        ms = self._failover.attempt_timeouts_ms.get(self._plan.policy_owner)
        return [] if ms is None else [set_header(ATTEMPT_TIMEOUT_HEADER, str(ms))]

    async def on_response_headers(self, message: ProcessingRequest) -> ProcessingResponse:
        headers = header_dict(message.response_headers.headers)
        status = int(headers.get(":status", "0") or 0)
        policy = self._policy
        attempt = Attempt(
            self._model,
            status,
            timed_out=UPSTREAM_TIMEOUT_HEADER in headers,
            retry_after_s=retry_after_seconds(
                headers.get("retry-after"), policy.retry_after.max_retry_after_seconds
            )
            if status >= 400
            else None,
        )
        self._attempts[-1] = attempt
        recorded = {ATTEMPTS_KEY: [a.to_json() for a in self._attempts]}
        if status >= 400 and is_retriable(policy, attempt):
            return await self._after_retriable_failure(
                attempt, headers, recorded, message.response_headers.end_of_stream
            )
        if status < 400:
            await self._after_success()
        else:
            _FAILED.inc()
        return self._pass_on(headers, recorded)

    async def on_response_body(self, chunk: bytes, end_of_stream: bool) -> ProcessingResponse:
        if self._replacement is not None:
            replacement, self._replacement = self._replacement, b""
            return _replaced_body(replacement)
        reply = (
            self.translation.on_body(chunk, end_of_stream)
            if self.translation is not None
            else _PASS_BODY
        )
        if end_of_stream and self._attempts and self._attempts[-1].status < 400:
            await self._check_latency(total=True)
        return reply

    async def _after_retriable_failure(
        self,
        attempt: Attempt,
        headers: dict[str, str],
        recorded: dict[str, Any],
        message_ends: bool,
    ) -> ProcessingResponse:
        policy = self._policy
        assert self._plan is not None
        if attempt.retry_after_s is not None and policy.retry_after.apply_to is ApplyTo.GLOBAL:
            scope = models_in_scope(
                attempt.model, policy.retry_after.scope, self._failover.family_of
            )
            await self._failover.blocks.block(scope, attempt.retry_after_s)
            MODEL_BLOCKS.labels("retry_after").inc()
        retry = next_retry(
            policy,
            self._plan.candidates,
            self._attempts,
            self._failover.family_of.__getitem__,
            self._failover.rng,
        )
        if retry is None:
            _EXHAUSTED.inc()
            return self._exhausted(attempt, headers, recorded, message_ends)
        FAILOVER_RETRIES.labels("same_model" if retry.model == attempt.model else "other").inc()
        recorded[NEXT_KEY] = {"model": retry.model, "delay_ms": round(retry.delay_s * 1000)}
        mutation = HeaderMutation(set_headers=[set_header(RETRY_HEADER, "1")])
        return ProcessingResponse(
            response_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)),
            dynamic_metadata=_metadata(recorded),
            # Envoy drops this answer for the retry: nothing to read in its body.
            mode_override=self._skip_response_body(),
        )

    def _exhausted(
        self,
        attempt: Attempt,
        headers: dict[str, str],
        recorded: dict[str, Any],
        message_ends: bool,
    ) -> ProcessingResponse:
        """The last attempt's status with the `retry_exhausted` body. The body replaces the
        attempt's own as it streams by; an ImmediateResponse is only for an answer without a
        body, because Envoy would treat it as its own reply and may rewrite a 500 or 504."""
        body = orjson.dumps(exhausted_error(self._attempts))
        extra = [(ATTEMPTS_HEADER, attempts_header(self._attempts))]
        if message_ends:
            if "retry-after" in headers:
                extra.append(("retry-after", headers["retry-after"]))
            reply = raw_json_reply(attempt.status, body, extra)
            reply.dynamic_metadata.CopyFrom(_metadata(recorded))
            return reply
        self._replacement = body
        mutation = HeaderMutation(
            set_headers=[set_header(k, v) for k, v in (("content-type", JSON_TYPE), *extra)],
            remove_headers=["content-length", RETRY_HEADER],
        )
        return ProcessingResponse(
            response_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)),
            dynamic_metadata=_metadata(recorded),
        )

    async def _after_success(self) -> None:
        assert self._plan is not None
        if len(self._attempts) == 1:
            _FIRST_TRY.inc()
        else:
            _RECOVERED.inc()
            if self._plan.session_key is not None:
                pin = Pin(self._model, self._plan.route)
                await self._failover.affinity.put(self._plan.session_key, pin, replace=True)
        await self._check_latency(total=False)

    def _pass_on(self, headers: dict[str, str], recorded: dict[str, Any]) -> ProcessingResponse:
        """The attempt's answer goes to the client: translated when its API differs."""
        mutation = HeaderMutation(remove_headers=[RETRY_HEADER])
        if self._translation_value:
            self.translation, mutation = ResponseTranslation.begin(
                Translation(self._translation_value),
                headers,
                stream=self._stream_requested,
                usage=self._usage,
                state_key=self._state_key,
                model=self._model,
            )
            mutation.remove_headers.append(RETRY_HEADER)
        mutation.set_headers.append(set_header(ATTEMPTS_HEADER, attempts_header(self._attempts)))
        reads_body = self.translation is not None or self._measures_total_latency()
        return ProcessingResponse(
            response_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)),
            dynamic_metadata=_metadata(recorded),
            mode_override=None if reads_body else self._skip_response_body(),
        )

    def _skip_response_body(self) -> ProcessingMode:
        self.reads_response_body = False
        return _NO_RESPONSE_BODY

    def _measures_total_latency(self) -> bool:
        rule = self._policy.on_high_latency
        return rule is not None and rule.measure is LatencyMeasure.TOTAL

    async def _check_latency(self, *, total: bool) -> None:
        """A slow answer is delivered; enough of them block the model for new requests."""
        rule = self._policy.on_high_latency
        if rule is None or (rule.measure is LatencyMeasure.TOTAL) != total:
            return
        elapsed_ms = (self._failover.clock() - self._started) * 1000
        if elapsed_ms <= rule.threshold_ms:
            return
        blocks = self._failover.blocks
        count = await blocks.count_slow(self._model, rule.block_duration_seconds)
        if count >= rule.min_triggers and rule.apply_to is ApplyTo.GLOBAL:
            scope = models_in_scope(self._model, rule.scope, self._failover.family_of)
            await blocks.block(scope, rule.block_duration_seconds)
            MODEL_BLOCKS.labels("high_latency").inc()


def _replaced_body(body: bytes) -> ProcessingResponse:
    mutation = BodyMutation(body=body) if body else BodyMutation(clear_body=True)
    return ProcessingResponse(
        response_body=BodyResponse(response=CommonResponse(body_mutation=mutation))
    )


def _namespace(message: ProcessingRequest) -> dict[str, Any]:
    namespace = message.metadata_context.filter_metadata.get(METADATA_NAMESPACE)
    return json_format.MessageToDict(namespace) if namespace is not None else {}


def _error(message: str) -> dict[str, Any]:
    return {
        "error": {"code": "FailoverError", "message": message, "details": {"reason": "no_plan"}}
    }
