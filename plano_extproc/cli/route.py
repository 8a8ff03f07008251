"""`plano-extproc route`: print the decision for one request, as /routing/v1/* returns it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from plano_extproc.classifiers.factory import UnavailableClassifier
from plano_extproc.config import ConfigError, load_config
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.routing.router import Router
from plano_extproc.wire import parse_request
from plano_extproc.wire.errors import InvalidRequest


def register(commands: argparse._SubParsersAction) -> None:
    route = commands.add_parser(
        "route", help="print the routing decision for a request, as /routing/v1/* returns it"
    )
    route.add_argument("--config", required=True)
    route.add_argument("--api", choices=[api.value for api in ClientApi], default="chat")
    route.add_argument(
        "-H", "--header", type=_parse_header, action="append", default=[], metavar="'NAME: VALUE'"
    )
    route.add_argument("request", help="request body JSON file, or - for standard input")
    route.set_defaults(handler=run)


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip().lower(), value.strip()


def _read_request(source: str) -> bytes:
    return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()


async def _decide(args: argparse.Namespace) -> tuple[int, bytes]:
    # Decisions never call a provider, so provider keys are not needed here.
    config = load_config(args.config, require_keys=False)
    raw = _read_request(args.request)
    router = await Router.start(config)
    try:
        limit = config.listeners[0].max_request_bytes
        parsed = parse_request(ClientApi(args.api), raw, max_body_bytes=limit)
        decision = await router.engine.decide(parsed, dict(args.header))
    except InvalidRequest as error:
        return 1, orjson.dumps(error.to_json())
    finally:
        await router.close()
    return 0, orjson.dumps(decision.to_json())


def run(args: argparse.Namespace) -> int:
    try:
        status, body = asyncio.run(_decide(args))
    except (ConfigError, UnavailableClassifier) as error:
        print(f"{args.config}: {error}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(body + b"\n")
    return status
