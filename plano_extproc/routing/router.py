"""Owns the routing components for one config: builds, starts and closes them together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from plano_extproc.affinity import AffinityStore, build_affinity_store
from plano_extproc.classifiers.base import Classifier
from plano_extproc.classifiers.factory import build_classifier
from plano_extproc.config.model import Config
from plano_extproc.metrics_sources import MetricsStore
from plano_extproc.routing.engine import DecisionRecorder, RoutingEngine
from plano_extproc.routing.resolve import ModelResolver
from plano_extproc.routing.tracing import decision_recorder


@dataclass(frozen=True, slots=True)
class Router:
    engine: RoutingEngine
    resolver: ModelResolver
    classifier: Classifier
    affinity: AffinityStore
    metrics: MetricsStore
    recorder: DecisionRecorder | None = None

    @classmethod
    async def start(cls, config: Config) -> Router:
        """Loads the classifier and fetches metrics once (bounded) before returning."""
        classifier = build_classifier(config.routing.classifier, config.routes)
        affinity = build_affinity_store(config.routing)
        metrics = MetricsStore.from_config(config)
        await classifier.start()
        await metrics.start()
        metrics.warn_models_without_data(config.routes)
        recorder = decision_recorder(config)
        engine = RoutingEngine(config, classifier, affinity, metrics, recorder=recorder)
        resolver = ModelResolver.for_config(config)
        return cls(engine, resolver, classifier, affinity, metrics, recorder)

    async def close(self) -> None:
        if self.recorder is not None:
            # Flushes queued spans: blocking, bounded by the exporter's timeout.
            await asyncio.to_thread(self.recorder.close)
        await self.metrics.close()
        await self.affinity.close()
        await self.classifier.close()
