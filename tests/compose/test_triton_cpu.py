"""The `triton-cpu` profile's Triton (deploy/docker/Dockerfile.triton-cpu), hardened as the
stack runs it: the `triton` classifier routes through it from outside, and Triton batches
concurrent requests. Its engine is the CPU stand-in, not Arch-Router (triton/README.md)."""

from __future__ import annotations

import asyncio

import httpx

from plano_extproc.classifiers.arch_router.triton import TritonClassifier
from plano_extproc.config.model import Route, TritonSettings
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

TRITON_GRPC = "127.0.0.1:18001"
ROUTES = (
    Route("code_generation", "generating new code", ("m",)),
    Route("complex_reasoning", "multi-step analysis", ("m",)),
)


async def _classify_all(texts: list[str]) -> list[str | None]:
    classifier = TritonClassifier(TritonSettings(url=TRITON_GRPC), timeout_ms=5000)
    await classifier.start()
    try:
        return await asyncio.gather(
            *(classifier.classify(ROUTES, [Message(Role.USER, text)]) for text in texts)
        )
    finally:
        await classifier.close()


def test_the_classifier_routes_through_the_containers_triton() -> None:
    texts = ["complex_reasoning: why is the sky blue", "hello there"]
    assert asyncio.run(_classify_all(texts)) == ["complex_reasoning", None]


def test_the_repository_loaded_whole() -> None:
    index = httpx.post("http://127.0.0.1:18000/v2/repository/index", json={}, timeout=10)
    states = {model["name"]: model["state"] for model in index.json()}
    assert states == dict.fromkeys(
        ("arch_router", "postprocessing", "preprocessing", "tensorrt_llm"), "READY"
    )
