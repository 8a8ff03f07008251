"""`plano-extproc health`: ask a worker's gRPC health service; exit 0 when it is SERVING.

For container health checks (the image's HEALTHCHECK, compose) where no gRPC probe is built in.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plano_extproc.contract.clusters import EXTPROC_HEALTH_SERVICE

NOT_SERVING_STATUS = 1


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "health", help="exit 0 when an ext_proc worker reports SERVING (for health checks)"
    )
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=50051)
    command.add_argument("--service", default=EXTPROC_HEALTH_SERVICE)
    command.add_argument("--timeout", type=float, default=2.0, help="seconds")
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = f"{args.host}:{args.port}"
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}", file=sys.stderr)
            return NOT_SERVING_STATUS
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{target}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else NOT_SERVING_STATUS
