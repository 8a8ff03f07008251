"""Free loopback ports for processes that must be told their port before they start.

A port found free can still be taken before the process binds it; the windows here are short and
everything runs on 127.0.0.1, so callers fail loudly (with the process log) rather than retry.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

_BLOCK_ATTEMPTS = 50


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (all held open at once, so no two are the same)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(_bound_socket(0)) for _ in range(count)]
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (for ``serve --workers N`` on P..P+N-1)."""
    for _ in range(_BLOCK_ATTEMPTS):
        (base,) = free_ports(1)
        if base + count <= 65536 and _all_free(range(base, base + count)):
            return base
    raise RuntimeError(f"no block of {count} consecutive free ports in {_BLOCK_ATTEMPTS} tries")


def _all_free(ports: range) -> bool:
    with ExitStack() as stack:
        try:
            for port in ports:
                stack.enter_context(_bound_socket(port))
        except OSError:
            return False
    return True


def _bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock
