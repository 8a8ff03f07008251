"""Parsers for the scalar formats the configuration uses: variables, durations, versions, URLs.

Each parser returns either the parsed value or a description of what is wrong with the input;
none of them raises, so the loader can keep collecting problems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.]+)?")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
_HOST_PORT = re.compile(r"([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?")

DURATION_HINT = "a number of seconds or a string such as 500ms, 30s, 5m, 1h"


@dataclass(frozen=True, slots=True)
class Expansion:
    """The result of expanding `$VAR` / `${VAR}` references in a string."""

    value: str
    variables: tuple[str, ...]  # every variable referenced, in order of appearance
    missing: tuple[str, ...]  # the referenced variables that are unset or empty


def expand_variables(text: str, env: Mapping[str, str]) -> Expansion:
    """Replaces `$VAR` and `${VAR}`; a `$` not followed by a variable name stays literal."""
    variables: list[str] = []
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        variables.append(name)
        value = env.get(name, "")
        if not value and name not in missing:
            missing.append(name)
        return value

    value = _VARIABLE.sub(substitute, text)
    return Expansion(value, tuple(variables), tuple(missing))


def parse_duration(value: object) -> float | None:
    """Seconds from a positive number of seconds or a string like ``500ms``, ``300s``, ``5m``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        return seconds if seconds > 0 else None
    return None


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``v0.4.0`` -> (0, 4, 0); also ``0.2.0``, ``v0.1`` and ``0.1-beta``. None if malformed."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return major, minor, patch


def http_url_problem(url: str, *, allow_query: bool = False) -> str | None:
    """Why `url` is not ``http(s)://host[:port][/path]``, or None when it is.

    The message never repeats the URL, which may carry credentials after variable expansion.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "is not a valid URL (check the port and brackets)"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if "@" in parts.netloc:
        return "must not contain credentials; use access_key or auth instead"
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if not _HOST.fullmatch(host):
        return "must name a host, as in http(s)://host[:port][/path]"
    if not allow_query and (parts.query or parts.fragment):
        return "must not contain a query string or fragment"
    if port == 0:
        return "must not use port 0"
    return None


def redis_url_problem(url: str) -> str | None:
    """Why `url` is not a redis://, rediss:// or unix:// URL, or None when it is."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "must start with redis://, rediss:// or unix://"
    if parts.scheme == "unix" and not parts.path:
        return "must name a socket path, as in unix:///run/redis.sock"
    if parts.scheme != "unix" and not parts.hostname:
        return "must name a host, as in redis://host:6379"
    return None


def grpc_target_problem(target: str) -> str | None:
    """Why `target` is not a gRPC ``host[:port]`` target (no scheme), or None when it is."""
    match = _HOST_PORT.fullmatch(target.strip())
    if match is None:
        return "must be host[:port] without a scheme, as in triton:8001"
    if match.group(2) is not None and not 0 < int(match.group(2)) < 65536:
        return "has a port outside 1-65535"
    return None
