"""`plano-extproc` command line: check-config, route."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from plano_extproc.api import parse_request
from plano_extproc.api.conversation import ClientApi
from plano_extproc.api.errors import InvalidRequest
from plano_extproc.classifiers.factory import UnavailableClassifier
from plano_extproc.config import ConfigError, load_config
from plano_extproc.routing.router import Router


def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file, require_keys=not args.allow_missing_keys)
    except ConfigError as error:
        print(f"{args.file}: {len(error.issues)} problem(s)", file=sys.stderr)
        for issue in error.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.file}: ok ({len(config.providers)} providers, {len(config.routes)} routes)")
    return 0


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
        parsed = parse_request(ClientApi(args.api), raw)
        decision = await router.engine.decide(parsed, dict(args.header))
    except InvalidRequest as error:
        return 1, orjson.dumps(error.to_json())
    finally:
        await router.close()
    return 0, orjson.dumps(decision.to_json())


def _route(args: argparse.Namespace) -> int:
    try:
        status, body = asyncio.run(_decide(args))
    except ConfigError as error:
        print(f"{args.config}: invalid config\n{error}", file=sys.stderr)
        return 2
    except UnavailableClassifier as error:
        print(f"{args.config}: {error}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(body + b"\n")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plano-extproc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check-config", help="validate a config; list every problem")
    check.add_argument("file")
    check.add_argument(
        "--allow-missing-keys",
        action="store_true",
        help="report unset provider key variables as warnings (decision-only deployments)",
    )
    check.set_defaults(handler=_check_config)

    route = commands.add_parser(
        "route", help="print the routing decision for a request, as /routing/v1/* returns it"
    )
    route.add_argument("--config", required=True)
    route.add_argument("--api", choices=[api.value for api in ClientApi], default="chat")
    route.add_argument(
        "-H", "--header", type=_parse_header, action="append", default=[], metavar="'NAME: VALUE'"
    )
    route.add_argument("request", help="request body JSON file, or - for standard input")
    route.set_defaults(handler=_route)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
