"""`plano-extproc envoy-config FILE`: print the Envoy bootstrap for a config as YAML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plano_extproc.config import ConfigError, load_config
from plano_extproc.envoy.options import (
    DEFAULT_ADMIN_PORT,
    DEFAULT_EXTPROC_HOST,
    DEFAULT_EXTPROC_PORT,
    SYSTEM_CA_BUNDLE,
    EnvoyOptions,
)

CONFIG_ERROR_STATUS = 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return value


def register(commands: argparse._SubParsersAction) -> None:
    envoy = commands.add_parser(
        "envoy-config", help="print the Envoy config (YAML) that fronts the ext_proc"
    )
    envoy.add_argument("file")
    envoy.add_argument(
        "--extproc-port", type=_port, default=DEFAULT_EXTPROC_PORT, help="first worker's port"
    )
    envoy.add_argument(
        "--workers", type=_positive, default=1, help="ext_proc workers, on consecutive ports"
    )
    envoy.add_argument(
        "--extproc-host", default=DEFAULT_EXTPROC_HOST, help="IP or DNS name of the workers"
    )
    envoy.add_argument(
        "--admin-port", type=_port, default=DEFAULT_ADMIN_PORT, help="0 disables the admin API"
    )
    envoy.add_argument(
        "--ca-bundle", default=SYSTEM_CA_BUNDLE, help="CA certificates for provider TLS (PEM)"
    )
    envoy.add_argument(
        "--output", help="write to this file instead of stdout (e.g. from an init container)"
    )
    envoy.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: envoy-data-plane takes about a second to import, which the other
    # subcommands should not pay.
    from plano_extproc.envoy.render import render_envoy_yaml

    try:
        config = load_config(args.file, require_keys=False)
    except ConfigError as error:
        print(f"{args.file}: {len(error.issues)} problem(s)", file=sys.stderr)
        for issue in error.issues:
            print(f"  {issue}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    last_port = args.extproc_port + args.workers - 1
    if last_port > 65535:
        print(
            f"--workers {args.workers} from port {args.extproc_port} passes 65535", file=sys.stderr
        )
        return CONFIG_ERROR_STATUS
    options = EnvoyOptions(
        extproc_ports=range(args.extproc_port, last_port + 1),
        extproc_host=args.extproc_host,
        admin_port=args.admin_port or None,
        ca_bundle=args.ca_bundle,
    )
    rendered = render_envoy_yaml(config, **options)
    if args.output:
        Path(args.output).write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    return 0
