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

A first attempt Envoy judges alone (failover/first_attempt.py) never reaches this filter: the
routing filter rewrote it for the first model, and Envoy recorded its answer in the metadata.
The attempt after it starts by deciding what this filter would have decided on that answer.
A "no retry" answer to a failure is marked so that Envoy's own status retries leave it alone.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from plano_extproc.affinity.base import Pin
from plano_extproc.config.retry_policy import ApplyTo, LatencyMeasure, RetryPolicy
from plano_extproc.contract.headers import (
    ATTEMPT_TIMEOUT_HEADER,
    ATTEMPTS_HEADER,
    NO_RETRY_HEADER,
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
from plano_extproc.extproc.failover_setup import Failover
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
from plano_extproc.extproc.provider_request import (
    ProviderRequest,
    provider_request,
    stale_headers,
)
from plano_extproc.extproc.translation import ResponseTranslation
from plano_extproc.failover.plan import FailoverPlan, attempt_from_json, recorded_first_attempt
from plano_extproc.failover.policy import (
    Attempt,
    Retry,
    attempts_header,
    exhausted_error,
    is_retriable,
    models_in_scope,
    next_retry,
    retry_after_seconds,
)
from plano_extproc.telemetry.metrics import FAILOVER_OUTCOMES, FAILOVER_RETRIES, MODEL_BLOCKS
from plano_extproc.wire import Translation, read_transcript

_PASS_BODY = ProcessingResponse(response_body=BodyResponse())
# An answer whose body needs neither translating nor measuring passes Envoy unread.
_NO_RESPONSE_BODY = ProcessingMode(
    response_header_mode=ProcessingMode.SEND, response_body_mode=ProcessingMode.NONE
)
JSON_TYPE = "application/json"
_NO_RETRY = (NO_RETRY_HEADER, "true")
_RECOVERED = FAILOVER_OUTCOMES.labels("recovered")
_FIRST_TRY = FAILOVER_OUTCOMES.labels("first_try")
_EXHAUSTED = FAILOVER_OUTCOMES.labels("exhausted")
_FAILED = FAILOVER_OUTCOMES.labels("failed")


def _metadata(values: dict[str, Any]) -> Struct:
    metadata = Struct()
    metadata.update({METADATA_NAMESPACE: values})
    return metadata


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
        upcoming = await self._upcoming(namespace)
        if isinstance(upcoming, ProcessingResponse):
            return upcoming
        self._model, delay_s = upcoming
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if self._model not in self._failover.plans:
            # A replica with another config started this request (a rollout).
            return json_reply(502, _error(f"model '{self._model}' is not configured here"))
        self._started = self._failover.clock()
        body = message.request_body.body
        request = await self._failover.offload.run(body, self._provider_request, body)
        return self._rewritten(request)

    async def _upcoming(self, namespace: dict[str, Any]) -> tuple[str, float] | ProcessingResponse:
        """This attempt's model and the delay before it: the first candidate first; after a
        first attempt Envoy judged alone, what the attempt filter would have decided then."""
        assert self._plan is not None
        first_model = self._plan.candidates[0]
        if not self._attempts and self._plan.first_rewritten:
            cap_s = self._policy.retry_after.max_retry_after_seconds
            first = recorded_first_attempt(namespace, first_model, cap_s)
            if first is not None:
                self._attempts = [first]
                retry = await self._next_retry(first)
                if retry is None:
                    # Envoy retried a failure the policy ends with: say so, as after any other.
                    body = orjson.dumps(exhausted_error([first]))
                    extra = [(ATTEMPTS_HEADER, attempts_header([first]))]
                    return raw_json_reply(first.status, body, extra)
                return retry.model, retry.delay_s
        upcoming = namespace.get(NEXT_KEY) if self._attempts else None
        if not isinstance(upcoming, dict):
            return first_model, 0.0
        delay_s = float(upcoming.get("delay_ms", 0)) / 1000
        return str(upcoming.get("model", "")), min(delay_s, self._failover.max_delay_s)

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
                remove_headers=[*request.remove_headers, *self._stale_headers()],
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

    def _stale_headers(self) -> tuple[str, ...]:
        """On a request the routing filter rewrote for its first model: that model's
        credentials and headers, unless this attempt's provider sets its own."""
        assert self._plan is not None
        if not self._plan.first_rewritten:
            return ()
        plans = self._failover.plans
        return stale_headers(plans[self._plan.candidates[0]], plans[self._model], self._plan.api)

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
        return self._pass_on(headers, recorded, failed=status >= 400)

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
        retry = await self._next_retry(attempt)
        if retry is None:
            return self._exhausted(attempt, headers, recorded, message_ends)
        recorded[NEXT_KEY] = {"model": retry.model, "delay_ms": round(retry.delay_s * 1000)}
        mutation = HeaderMutation(set_headers=[set_header(RETRY_HEADER, "1")])
        return ProcessingResponse(
            response_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)),
            dynamic_metadata=_metadata(recorded),
            # Envoy drops this answer for the retry: nothing to read in its body.
            mode_override=self._skip_response_body(),
        )

    async def _next_retry(self, failed: Attempt) -> Retry | None:
        """After a retriable failure: blocks what its Retry-After says to block, and picks
        where and when the next attempt goes (None: the policy is spent)."""
        policy = self._policy
        assert self._plan is not None
        if failed.retry_after_s is not None and policy.retry_after.apply_to is ApplyTo.GLOBAL:
            scope = models_in_scope(
                failed.model, policy.retry_after.scope, self._failover.family_of
            )
            await self._failover.blocks.block(scope, failed.retry_after_s)
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
        else:
            target = "same_model" if retry.model == failed.model else "other"
            FAILOVER_RETRIES.labels(target).inc()
        return retry

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
            set_headers=[
                set_header(k, v) for k, v in (("content-type", JSON_TYPE), *extra, _NO_RETRY)
            ],
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

    def _pass_on(
        self, headers: dict[str, str], recorded: dict[str, Any], *, failed: bool
    ) -> ProcessingResponse:
        """The attempt's answer goes to the client: translated when its API differs, and a
        failure marked so that Envoy does not retry its status by itself."""
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
        if failed:
            mutation.set_headers.append(set_header(*_NO_RETRY))
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
