"""`plano-extproc` command line. Each subcommand lives in its own module with a `register`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from plano_extproc.cli import (
    check_config,
    envoy_config,
    fetch_archive,
    health,
    keys,
    route,
    serve,
    up,
)
from plano_extproc.cli import eval as eval_command

COMMANDS = (
    check_config,
    route,
    serve,
    envoy_config,
    up,
    eval_command,
    health,
    fetch_archive,
    keys,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plano-extproc", description="LLM routing data plane")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
