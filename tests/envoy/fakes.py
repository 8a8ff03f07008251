"""A scripted ext_proc and a recording HTTP upstream, to drive a real Envoy with a generated config.

The ext_proc speaks the same contract as the real service (cluster header, dynamic metadata in
namespace "plano", ImmediateResponses with JSON bodies); what it does with a request is chosen
by the request path, so one Envoy serves every scenario.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf.struct_pb2 import Struct
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from plano_extproc.contract.clusters import EXTPROC_HEALTH_SERVICE
from plano_extproc.contract.headers import CLUSTER_HEADER
from plano_extproc.contract.metadata import METADATA_NAMESPACE
from plano_extproc.extproc.generated.envoy import ext_proc_pb2 as pb
from plano_extproc.extproc.generated.envoy import ext_proc_pb2_grpc as pb_grpc
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    HeaderValue,
    HeaderValueOption,
    HttpStatus,
)

JSON = (("content-type", "application/json"),)


def _set(name: str, value: str) -> HeaderValueOption:
    return HeaderValueOption(
        header=HeaderValue(key=name, raw_value=value.encode()),
        append_action=HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def immediate(
    status: int, body: bytes, headers: tuple[tuple[str, str], ...] = JSON
) -> pb.ProcessingResponse:
    mutation = pb.HeaderMutation(set_headers=[_set(k, v) for k, v in headers])
    reply = pb.ImmediateResponse(status=HttpStatus(code=status), headers=mutation, body=body)
    return pb.ProcessingResponse(immediate_response=reply)


def forward(
    cluster: str, path: str, body: bytes, extra: tuple[tuple[str, str], ...] = ()
) -> pb.ProcessingResponse:
    """Rewrites the request for `cluster` and records the decision as dynamic metadata; sets
    no `clear_route_cache`, so re-routing relies on the config's route_cache_action."""
    headers = [
        (CLUSTER_HEADER, cluster),
        (":path", path),
        ("authorization", "Bearer provider-key"),
        ("content-length", str(len(body))),
        *extra,
    ]
    mutation = pb.HeaderMutation(
        set_headers=[_set(k, v) for k, v in headers], remove_headers=["x-api-key"]
    )
    common = pb.CommonResponse(header_mutation=mutation, body_mutation=pb.BodyMutation(body=body))
    metadata = Struct()
    metadata.update({METADATA_NAMESPACE: {"model": "local/model", "models": "local/model,other"}})
    return pb.ProcessingResponse(
        request_body=pb.BodyResponse(response=common), dynamic_metadata=metadata
    )


# (request path, request body) → the reply; None never answers (a stalled ext_proc).
Script = Callable[[str, bytes], pb.ProcessingResponse | None]


class ScriptedProcessor(pb_grpc.ExternalProcessorServicer):
    def __init__(self, script: Script, released: threading.Event) -> None:
        self._script = script
        self._released = released

    def Process(
        self, request_iterator: Iterator[pb.ProcessingRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ProcessingResponse]:
        path = ""
        for request in request_iterator:
            if request.HasField("request_headers"):
                headers = {
                    h.key: h.raw_value.decode() for h in request.request_headers.headers.headers
                }
                path = headers[":path"]
                yield pb.ProcessingResponse(request_headers=pb.HeadersResponse())
            elif request.HasField("request_body"):
                reply = self._script(path, request.request_body.body)
                if reply is None:
                    self._released.wait()
                    return
                yield reply


@dataclass
class ExtProcServer:
    port: int
    released: threading.Event
    server: grpc.Server

    def stop(self) -> None:
        self.released.set()
        self.server.stop(grace=None)


def start_extproc(script: Script) -> ExtProcServer:
    released = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    pb_grpc.add_ExternalProcessorServicer_to_server(ScriptedProcessor(script, released), server)
    health_servicer = health.HealthServicer()
    health_servicer.set(EXTPROC_HEALTH_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return ExtProcServer(port, released, server)


@dataclass
class Upstream:
    """Records each request; answers from `statuses[path]` (popped), else 200 JSON."""

    statuses: dict[str, list[int]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


def start_upstream(upstream: Upstream) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            upstream.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            queued = upstream.statuses.get(self.path, [])
            status = queued.pop(0) if queued else 200
            payload = json.dumps({"upstream_status": status}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
