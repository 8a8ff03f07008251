"""`plano-extproc check-config FILE`: validate a config and list every problem."""

from __future__ import annotations

import argparse
import sys

from plano_extproc.config import ConfigError, load_config


def register(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("check-config", help="validate a config; list every problem")
    check.add_argument("file")
    check.add_argument(
        "--allow-missing-keys",
        action="store_true",
        help="report unset provider key variables as warnings (decision-only deployments)",
    )
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
