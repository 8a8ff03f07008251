"""The `listeners` section: a list of v0.4.0 listeners, or the legacy `egress_traffic` mapping.

Only model listeners are served; prompt and agent listeners are skipped with a warning. With
no listener at all the service listens on `Listener`'s defaults.
"""

from __future__ import annotations

from plano_extproc.config.model import Listener
from plano_extproc.config.reader import Issues, Section, first_claim, join, kind_of, open_section
from plano_extproc.config.spec import (
    LEGACY_LISTENER,
    LEGACY_LISTENERS,
    LISTENER,
    ListenerType,
    MessageFormat,
)

# Envoy buffers a whole request body in memory, once per request in flight.
MAX_REQUEST_BYTES_LIMIT = 64 * 1024 * 1024

_Located = list[tuple[str, Listener]]


def read_listeners(top: Section) -> tuple[Listener, ...]:
    value = top.data.get("listeners")
    located: _Located = []
    if isinstance(value, list):
        for location, item in top.items("listeners"):
            located += _listener(item, location, top.issues)
    elif isinstance(value, dict):
        located += _legacy_listeners(value, top.issues)
    elif value is not None:
        top.issues.error(top.where("listeners"), f"must be a list, not {kind_of(value)}")
    _check_clashes(located, top.issues)
    return tuple(listener for _, listener in located) or (Listener(),)


def _listener(item: object, location: str, issues: Issues) -> _Located:
    section = open_section(item, location, LISTENER, issues)
    if section is None:
        return []
    listener_type = section.choice("type", ListenerType, ListenerType.MODEL)
    if listener_type in (ListenerType.PROMPT, ListenerType.AGENT):
        issues.warn(
            section.where("type"),
            f"'{listener_type}' listeners are not implemented; this listener is ignored",
        )
        return []
    return [(location, _listener_fields(section, section.text("name")))]


def _legacy_listeners(value: dict[object, object], issues: Issues) -> _Located:
    listeners = open_section(value, "listeners", LEGACY_LISTENERS, issues)
    egress = listeners.section("egress_traffic", LEGACY_LISTENER) if listeners else None
    if egress is None:
        return []
    egress.choice("message_format", MessageFormat, MessageFormat.OPENAI)
    return [(egress.location, _listener_fields(egress, "egress_traffic"))]


def _listener_fields(section: Section, name: str | None) -> Listener:
    defaults = Listener()
    return Listener(
        name=name or defaults.name,
        address=section.text("address") or defaults.address,
        port=section.integer("port", defaults.port, minimum=1, maximum=65535),
        timeout_seconds=section.duration("timeout", defaults.timeout_seconds),
        max_retries=section.integer("max_retries", defaults.max_retries, minimum=0, maximum=10),
        max_request_bytes=section.integer(
            "max_request_bytes",
            defaults.max_request_bytes,
            minimum=1024,
            maximum=MAX_REQUEST_BYTES_LIMIT,
        ),
    )


def _check_clashes(located: _Located, issues: Issues) -> None:
    """Two listeners may share neither a name nor an address and port."""
    names: dict[str, str] = {}
    ports: dict[str, str] = {}
    for location, listener in located:
        if earlier := first_claim(names, listener.name, location):
            issues.error(
                join(location, "name"), f"'{listener.name}' is already declared by {earlier}"
            )
        address = f"{listener.address}:{listener.port}"
        if earlier := first_claim(ports, address, location):
            issues.error(join(location, "port"), f"{address} is already used by {earlier}")
