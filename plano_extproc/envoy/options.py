"""Deployment settings for the generated Envoy config that the Plano config does not hold.

Kept apart from `render.py` so the command line can read the defaults without importing
envoy-data-plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

DEFAULT_EXTPROC_PORT = 50051
DEFAULT_EXTPROC_HOST = "127.0.0.1"
DEFAULT_ADMIN_PORT = 9901
# Debian/Ubuntu's bundle (also Alpine's). Envoy 1.40 does not implement
# `validation_context.system_root_certs` (it is `not-implemented-hide` in the API).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class EnvoyOptions(TypedDict, total=False):
    """Keyword arguments of `render_envoy_config`; defaults in `build_bootstrap`."""

    extproc_ports: Sequence[int]
    extproc_host: str
    admin_port: int | None
    ca_bundle: str
