"""Whether a config leaves the gateway open: its model listener reachable from other hosts, and
no `auth` to say who may spend the provider keys behind it. `up` and `serve` warn at start."""

from __future__ import annotations

import ipaddress

from plano_extproc.config.model import Config, Listener


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) and localhost. Any other name may resolve
    to anything, so it counts as reachable."""
    host = address.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def open_listener_warning(config: Config) -> str | None:
    """The warning for a listener any client may reach with no `auth`; None when there is
    `auth` or the listener is on loopback."""
    listener = config.listeners[0]
    if config.auth is not None or is_loopback(listener.address):
        return None
    return (
        f"listener {_host_port(listener)} accepts requests from any client and no `auth` is "
        "configured: anyone who reaches it spends your provider keys; add an auth section "
        "(`plano-extproc keys --name ...` prints one)"
    )


def _host_port(listener: Listener) -> str:
    host = listener.address
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{listener.port}"
