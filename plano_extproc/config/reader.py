"""Generic, problem-collecting access to the parsed YAML document.

`Section` wraps one mapping of the document with its location; its typed getters report wrong
types, unknown keys and missing keys into a shared `Issues` list and hand back a usable value
(or None), so the loader can carry on and report every problem of a file at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import yaml

from plano_extproc.config.errors import ConfigError, ConfigIssue
from plano_extproc.config.values import DURATION_HINT, parse_duration

E = TypeVar("E", bound=StrEnum)

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def join(location: str, key: str) -> str:
    """Location of `key` inside `location`; keys that are not identifiers are quoted."""
    step = key if _PLAIN_KEY.fullmatch(key) else f"[{key!r}]"
    if not location:
        return step
    return f"{location}{step}" if step.startswith("[") else f"{location}.{step}"


def index(location: str, position: int) -> str:
    return f"{location}[{position}]"


def kind_of(value: object) -> str:
    """The YAML name of a value's type, for messages (values themselves are never echoed)."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int():
            return "an integer"
        case float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "a mapping"
    return f"a {type(value).__name__}"


@dataclass(slots=True)
class Issues:
    errors: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)

    def error(self, location: str, message: str) -> None:
        self.errors.append(ConfigIssue(location, message))

    def warn(self, location: str, message: str) -> None:
        self.warnings.append(ConfigIssue(location, message))


@dataclass(frozen=True, slots=True)
class KeySpec:
    """The keys one mapping may hold. `ignored` keys are Plano's, accepted with a warning."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        ignored: Iterable[str] = (),
    ) -> KeySpec:
        return cls(frozenset(required), frozenset(optional), frozenset(ignored))

    @property
    def accepted(self) -> frozenset[str]:
        return self.required | self.optional | self.ignored


NOT_IMPLEMENTED = "not implemented by plano-extproc; ignored"
MISSING = "missing required key"


def open_section(value: object, location: str, spec: KeySpec, issues: Issues) -> Section | None:
    """Checks that `value` is a mapping holding only keys of `spec`; None if it is no mapping.

    A key whose value is null counts as absent.
    """
    if not isinstance(value, dict):
        issues.error(location, f"must be a mapping, not {kind_of(value)}")
        return None
    for key in value:
        if not isinstance(key, str):
            issues.error(location, f"keys must be strings, not {kind_of(key)}")
        elif key in spec.ignored:
            issues.warn(join(location, key), NOT_IMPLEMENTED)
        elif key not in spec.accepted:
            issues.error(join(location, key), _unknown_key_message(key, spec.accepted))
    for key in sorted(spec.required):
        if value.get(key) is None:
            issues.error(join(location, key), MISSING)
    return Section(value, location, issues)


def _unknown_key_message(key: str, accepted: frozenset[str]) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return f"unknown key; expected one of: {', '.join(sorted(accepted))}"


@dataclass(frozen=True, slots=True)
class Section:
    """One mapping of the document; getters return None (or a default) after reporting."""

    data: dict[Any, Any]
    location: str
    issues: Issues

    def where(self, key: str) -> str:
        return join(self.location, key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _typed(self, key: str, accepts: tuple[type, ...], expected: str) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        # bool is a subclass of int: accept it only where a boolean is asked for.
        if isinstance(value, bool) != (bool in accepts) or not isinstance(value, accepts):
            self.issues.error(self.where(key), f"must be {expected}, not {kind_of(value)}")
            return None
        return value

    def text(self, key: str) -> str | None:
        """A non-blank string."""
        value: str | None = self._typed(key, (str,), "a string")
        if value is not None and not value.strip():
            self.issues.error(self.where(key), "must not be empty")
            return None
        return value

    def required_text(self, key: str) -> str | None:
        """Like `text`, but an absent key is reported too."""
        if not self.has(key):
            self.issues.error(self.where(key), MISSING)
            return None
        return self.text(key)

    def flag(self, key: str) -> bool:
        return bool(self._typed(key, (bool,), "a boolean"))

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self._typed(key, (int,), "an integer")
        if value is None:
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
            self.issues.error(self.where(key), f"must be {bounds}")
            return default
        return int(value)

    def number(self, key: str) -> float | None:
        value = self._typed(key, (int, float), "a number")
        return None if value is None else float(value)

    def duration(self, key: str, default: float) -> float:
        """Seconds, from a number of seconds or a string such as ``300s`` or ``5m``."""
        value = self.data.get(key)
        if value is None:
            return default
        seconds = parse_duration(value)
        if seconds is None:
            self.issues.error(self.where(key), f"must be a positive duration: {DURATION_HINT}")
            return default
        return seconds

    def choice(self, key: str, options: type[E], default: E | None) -> E | None:
        """One of an enum's values; None (after reporting) for anything else."""
        if not self.has(key):
            return default
        value = self._typed(key, (str,), "a string")
        if value is None:
            return None
        if value not in options._value2member_map_:
            self.issues.error(self.where(key), unknown_value_message(value, options))
            return None
        return options(value)

    def items(self, key: str) -> Iterator[tuple[str, Any]]:
        """(location, item) for each element of a list; nothing for a missing or bad value."""
        values = self._typed(key, (list,), "a list")
        for position, value in enumerate(values or ()):
            yield index(self.where(key), position), value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of non-blank strings; bad elements are reported and skipped."""
        result = []
        for location, value in self.items(key):
            if not isinstance(value, str) or not value.strip():
                self.issues.error(location, f"must be a non-empty string, not {kind_of(value)}")
            else:
                result.append(value)
        return tuple(result)

    def entries(self, key: str) -> Iterator[tuple[str, str, Any]]:
        """(location, name, value) for each entry of a mapping with free-form keys."""
        values = self._typed(key, (dict,), "a mapping")
        for name, value in (values or {}).items():
            if isinstance(name, str):
                yield join(self.where(key), name), name, value
            else:
                self.issues.error(self.where(key), f"keys must be strings, not {kind_of(name)}")

    def string_map(self, key: str) -> dict[str, str]:
        """A mapping of strings to strings; bad entries are reported and skipped."""
        result = {}
        for location, name, value in self.entries(key):
            if isinstance(value, str):
                result[name] = value
            else:
                self.issues.error(location, f"must be a string, not {kind_of(value)}")
        return result

    def section(self, key: str, spec: KeySpec) -> Section | None:
        value = self.data.get(key)
        return None if value is None else open_section(value, self.where(key), spec, self.issues)


def unknown_value_message(value: str, options: Iterable[str]) -> str:
    return f"unknown value '{value}'; expected one of: {', '.join(sorted(options))}"


def first_claim(owners: dict[str, str], key: str, location: str) -> str | None:
    """Records `location` as the owner of `key`; returns the earlier owner if there was one."""
    earlier = owners.get(key)
    if earlier is None:
        owners[key] = location
    return earlier


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that records duplicate mapping keys instead of silently keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[ConfigIssue] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                continue
            identity = (key_node.tag, key_node.value)
            if identity in seen:
                mark = key_node.start_mark
                self.duplicates.append(
                    ConfigIssue(
                        "",
                        f"duplicate key '{key_node.value}' at line {mark.line + 1}, "
                        f"column {mark.column + 1}",
                    )
                )
            seen.add(identity)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, issues: Issues) -> object:
    """The document in `text`; duplicate keys go to `issues`.

    A syntax error ends the reading at once: it raises `ConfigError` with its line and column.
    """
    try:
        loader = _UniqueKeyLoader(text)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context
        raise ConfigError([ConfigIssue("", f"invalid YAML{where}: {problem}")]) from error
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ConfigError([ConfigIssue("", f"invalid YAML: {reason}")]) from error
    issues.errors.extend(loader.duplicates)
    return document
