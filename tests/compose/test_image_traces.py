"""The production image exports its `plano.routing` spans: `serve` from PLANO_IMAGE with a
`tracing` section, one decision over gRPC, and its span at a local OTLP receiver.

An install whose opentelemetry-proto modules another package had overwritten (issue 16) started,
routed, and exported nothing."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import grpc
import orjson
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plano_extproc.grpc_api.generated.plano.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.support.otlp_receiver import ReceivedSpan, running_otlp_receiver
from tests.support.ports import free_ports

IMAGE = os.environ.get("PLANO_IMAGE", "plano-extproc:local")
SERVING_TIMEOUT_S = 90.0
CODE = "Write a Python function that implements binary search"


def _config(directory: Path, collector: str) -> Path:
    config = {
        "version": "v0.4.0",
        "model_providers": [
            {"model": "openai/gpt-4o", "access_key": "$OPENAI_API_KEY", "default": True},
            {"model": "anthropic/claude-sonnet-4-20250514", "access_key": "$ANTHROPIC_API_KEY"},
        ],
        "routing_preferences": [
            {
                "name": "code_generation",
                "description": "writing code, functions and programs",
                "models": ["anthropic/claude-sonnet-4-20250514"],
            }
        ],
        "routing": {"classifier": {"type": "lexical"}},
        "tracing": {"random_sampling": 100, "opentracing_grpc_endpoint": collector},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    # The image runs as an unprivileged user.
    directory.chmod(0o755)
    path.chmod(0o644)
    return path


def _decide_once_serving(port: int) -> routing_pb2.Decision:
    deadline = time.monotonic() + SERVING_TIMEOUT_S
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, "the image's ext_proc never became SERVING"
            time.sleep(0.5)
        body = orjson.dumps({"messages": [{"role": "user", "content": CODE}]})
        request = routing_pb2.DecideRequest(api=routing_pb2.CLIENT_API_CHAT, body=body)
        return routing_pb2_grpc.RoutingServiceStub(channel).Decide(request, timeout=10)


def test_the_image_exports_its_routing_spans(tmp_path: Path) -> None:
    with running_otlp_receiver() as receiver:
        config = _config(tmp_path, receiver.endpoint)
        (port,) = free_ports(1)
        name = f"plano-e2e-traces-{port}"
        serve = ["serve", "--config", "/cfg/config.yaml", "--host", "127.0.0.1"]
        serve += ["--port", str(port), "--allow-missing-keys"]
        run = ["docker", "run", "-d", "--name", name, "--network", "host"]
        run += ["-v", f"{config.parent}:/cfg:ro", IMAGE, *serve]
        subprocess.run(run, check=True, capture_output=True)
        try:
            decision = _decide_once_serving(port)

            def routed(spans: list[ReceivedSpan]) -> bool:
                return any(
                    s.name == "plano.routing" and s.trace_id == decision.trace_id for s in spans
                )

            spans = receiver.wait_for(routed, timeout=30)
        finally:
            logs = subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True, check=False
            )
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    assert "spans are off" not in logs.stdout + logs.stderr
    (span,) = [s for s in spans if s.trace_id == decision.trace_id]
    assert span.service == "plano-extproc"
    assert span.attributes["plano.route"] == decision.route == "code_generation"
