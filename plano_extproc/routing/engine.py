"""The decision engine: affinity → classify → rank → pin, for one parsed request.

Everything per-config (route lookup, tenant header, deadline) is prepared in the constructor;
`decide` does only per-request work and never raises for backend trouble: a failing classifier
becomes a fallback decision and a failing affinity store reads as a miss.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from typing import Protocol

from plano_extproc.affinity.base import AffinityStore, Pin
from plano_extproc.affinity.keys import affinity_key, session_from_headers
from plano_extproc.classifiers.base import Classifier
from plano_extproc.config.model import Config, Route
from plano_extproc.contract.headers import IDENTITY_HEADER
from plano_extproc.metrics_sources.base import ModelMetrics
from plano_extproc.routing.decision import NO_ROUTE_MODEL, Decision, DecisionTiming, Fallback
from plano_extproc.routing.ranking import rank
from plano_extproc.telemetry.metrics import (
    AFFINITY_STALE_PINS,
    CLASSIFIER_FAILURES,
    ROUTING_DECISIONS,
)
from plano_extproc.telemetry.trace import TraceParent, new_trace_id, request_trace_parent
from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.errors import InvalidRequest

log = logging.getLogger(__name__)

# Label children resolved once: `.labels()` hashes and locks on every call.
_PINNED = ROUTING_DECISIONS.labels("pinned")
_ROUTED = ROUTING_DECISIONS.labels("routed")
_NO_ROUTE = ROUTING_DECISIONS.labels("no_route")
_FELL_BACK = ROUTING_DECISIONS.labels("fallback")
_STALE_PINS = AFFINITY_STALE_PINS
_TIMEOUTS = CLASSIFIER_FAILURES.labels("timeout")
_ERRORS = CLASSIFIER_FAILURES.labels("error")


class DecisionRecorder(Protocol):
    """Told of every decision, e.g. to trace it; must not block (routing/otel_spans.py)."""

    def record(
        self,
        request: ParsedRequest,
        decision: Decision,
        parent: TraceParent | None,
        timing: DecisionTiming,
    ) -> None: ...

    def close(self) -> None: ...


class Recording:
    """A decision's span, recorded once, by the first `record` (a no-op without a recorder)."""

    __slots__ = ("_parent", "_recorder", "_request", "_timing")

    def __init__(
        self,
        recorder: DecisionRecorder | None,
        request: ParsedRequest,
        parent: TraceParent | None,
        timing: DecisionTiming | None,
    ) -> None:
        self._recorder = recorder
        self._request = request
        self._parent = parent
        self._timing = timing

    def record(self, decision: Decision) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None and self._timing is not None:
            recorder.record(self._request, decision, self._parent, self._timing)


class RoutingEngine:
    def __init__(
        self,
        config: Config,
        classifier: Classifier,
        affinity: AffinityStore,
        metrics: ModelMetrics,
        *,
        rng: random.Random | None = None,
        recorder: DecisionRecorder | None = None,
    ) -> None:
        self._config = config
        self._classifier = classifier
        self._affinity = affinity
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._recorder = recorder
        self._deadline_s = config.routing.classifier.timeout_ms / 1000
        self._tenant_header = config.routing.session_cache.tenant_header
        # With `auth`, the routing filter has put the authenticated identity in this header.
        self._identity_header = IDENTITY_HEADER if config.auth is not None else None

    async def decide(
        self,
        request: ParsedRequest,
        headers: Mapping[str, str],
        parent: TraceParent | None = None,
    ) -> Decision:
        """`headers` is keyed by lowercase names. `parent` is the trace context the request
        arrived in when its caller knows better than the request's own `traceparent` (Envoy's
        span for the ext_proc call). Raises InvalidRequest only for bad input."""
        decision, recording = await self.decide_unrecorded(request, headers, parent)
        recording.record(decision)
        return decision

    async def decide_unrecorded(
        self,
        request: ParsedRequest,
        headers: Mapping[str, str],
        parent: TraceParent | None = None,
    ) -> tuple[Decision, Recording]:
        """`decide`, with the span left to the caller, which may learn more of the decision
        first (the rate limits' outcome)."""
        parent = parent or request_trace_parent(headers)
        trace_id = parent.trace_id if parent is not None else new_trace_id()
        if self._recorder is None:
            decision, _ = await self._decide(request, headers, trace_id)
            return decision, Recording(None, request, parent, None)
        start_ns = time.time_ns()
        decision, classify_seconds = await self._decide(request, headers, trace_id)
        timing = DecisionTiming(start_ns, time.time_ns(), classify_seconds)
        return decision, Recording(self._recorder, request, parent, timing)

    async def _decide(
        self, request: ParsedRequest, headers: Mapping[str, str], trace_id: str
    ) -> tuple[Decision, float | None]:
        """The decision, and the seconds its classifier took (None when not asked)."""
        routes = self._routes_for(request)
        session = session_from_headers(headers, self._tenant_header)
        key = affinity_key(*session) if session else None
        session_id = session[0] if session else None
        identity = headers.get(self._identity_header) if self._identity_header else None

        stale = False
        if key is not None:
            pin = await self._affinity.get(key)
            if pin is not None and pin.model in self._config.provider_by_name:
                _PINNED.inc()
                pinned = Decision(
                    (pin.model,), pin.route, trace_id, session_id, pinned=True, identity=identity
                )
                return pinned, None
            # A pin naming a model this config no longer declares (a rollout sharing Redis)
            # is a miss: the request is routed again and the session re-pinned.
            stale = pin is not None
            if stale:
                _STALE_PINS.inc()

        started = time.perf_counter()
        route, fallback = await self._classify(routes, request)
        classify_seconds = time.perf_counter() - started if routes else None
        if route is None:
            (_FELL_BACK if fallback else _NO_ROUTE).inc()
            decision = Decision(
                (NO_ROUTE_MODEL,), None, trace_id, session_id, fallback=fallback, identity=identity
            )
            return decision, classify_seconds

        models = rank(route.models, route.policy, self._metrics, self._rng)
        _ROUTED.inc()
        if key is not None:
            await self._affinity.put(key, Pin(models[0], route.name), replace=stale)
        return Decision(
            models, route.name, trace_id, session_id, identity=identity
        ), classify_seconds

    def _routes_for(self, request: ParsedRequest) -> tuple[Route, ...]:
        if request.inline_routes is None:
            return self._config.routes
        self._check_declared(request.inline_routes)
        return request.inline_routes

    def _check_declared(self, routes: tuple[Route, ...]) -> None:
        for route in routes:
            for model in route.models:
                if model not in self._config.provider_by_name:
                    raise InvalidRequest(
                        f"routing_preferences: model '{model}' of route '{route.name}' is not "
                        "declared in model_providers",
                        reason="undeclared_model",
                    )

    async def _classify(
        self, routes: tuple[Route, ...], request: ParsedRequest
    ) -> tuple[Route | None, Fallback | None]:
        if not routes:
            return None, None
        try:
            async with asyncio.timeout(self._deadline_s):
                name = await self._classifier.classify(routes, request.messages)
        except TimeoutError:
            _TIMEOUTS.inc()
            log.debug("classifier timed out after %.3fs", self._deadline_s)
            return None, Fallback.TIMEOUT
        except Exception:
            _ERRORS.inc()
            log.debug("classifier failed; falling back to the requested model", exc_info=True)
            return None, Fallback.ERROR
        return next((r for r in routes if r.name == name), None), None
