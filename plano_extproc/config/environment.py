"""Reading keys and URLs whose ``$VAR`` and ``${VAR}`` references come from the environment.

Variables are expanded in `access_key`, in `auth.token`, in the classifier's `access_key` and
in every URL. A URL whose variable is unset or empty is always an error. For a key it depends
on `require_keys`: True (the default, what ``check-config`` and production use) makes it an
error, as the SPEC asks; False (the decision-only demo, ``make run``) turns it into a warning
and leaves the key None, so the decision endpoints work and only proxying to that provider
lacks credentials. An entry with ``passthrough_auth: true`` never needs its key, so for it an
unset key is only a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plano_extproc.config.reader import Section
from plano_extproc.config.values import expand_variables, http_url_problem, redis_url_problem


def _unset(name: str) -> str:
    return f"environment variable {name} is unset or empty"


@dataclass(frozen=True, slots=True)
class Environment:
    """The variables references expand from, and whether a key must be set."""

    variables: Mapping[str, str]
    require_keys: bool = True

    def expanded(self, section: Section, key: str) -> str | None:
        """A string with its variables expanded; every unset variable is an error."""
        raw = section.text(key)
        if raw is None:
            return None
        expansion = expand_variables(raw, self.variables)
        for name in expansion.missing:
            section.issues.error(section.where(key), _unset(name))
        return None if expansion.missing else expansion.value.strip()

    def secret(
        self, section: Section, key: str, *, needed: bool = True
    ) -> tuple[str | None, str | None]:
        """(the expanded key, the variable it came from); see the module notes on policy."""
        raw = section.text(key)
        if raw is None:
            return None, None
        expansion = expand_variables(raw, self.variables)
        variable = expansion.variables[0] if expansion.variables else None
        for name in expansion.missing:
            if needed and self.require_keys:
                section.issues.error(section.where(key), _unset(name))
            else:
                section.issues.warn(
                    section.where(key), f"{_unset(name)}; continuing without this key"
                )
        return (None if expansion.missing else expansion.value), variable

    def http_url(self, section: Section, key: str, *, allow_query: bool = False) -> str | None:
        url = self.expanded(section, key)
        if url is None:
            return None
        problem = http_url_problem(url, allow_query=allow_query)
        if problem:
            section.issues.error(section.where(key), problem)
            return None
        return url

    def redis_url(self, section: Section, *, required: bool) -> str | None:
        """The section's `url`, expanded and checked; `required` when its type is redis."""
        url = self.expanded(section, "url")
        if url is not None and (problem := redis_url_problem(url)):
            section.issues.error(section.where("url"), problem)
        if required and not section.has("url"):
            section.issues.error(section.where("url"), "required when type is redis")
        return url
