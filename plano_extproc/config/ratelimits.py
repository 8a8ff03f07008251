"""Plano's `ratelimits` section: token budgets per model and per value of a request header.

    ratelimits:
      - model: openai/gpt-4o        # a provider, an alias, a bare model id, or `openai/*`
        selector:
          key: x-user-id            # a request header
          value: "*"                # "*": each distinct value has its own budget
        limit:
          tokens: 100000
          unit: hour                # second | minute | hour | day

Where ours differs from Plano: `value: "*"` gives each distinct value of the header its own
budget (Plano compares `*` literally); a `day` is a day (Plano allows tokens/24 an hour); every
entry whose header a request carries applies (Plano only those the client names in
`x-arch-ratelimit-selector`). A wildcard entry's budget is per model it serves.
"""

from __future__ import annotations

import re
from enum import StrEnum
from types import MappingProxyType

from plano_extproc.config.model import ModelProvider, RateLimitRule
from plano_extproc.config.providers import ModelNames
from plano_extproc.config.reader import Section, open_section
from plano_extproc.config.spec import RATELIMIT, RATELIMIT_LIMIT, RATELIMIT_SELECTOR
from plano_extproc.contract.headers import IDENTITY_HEADER, TEAM_HEADER

ANY_VALUE = "*"
MAX_TOKENS = 10**12
# RFC 7230's `token`: what an HTTP header name may be.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What no request's header value holds (HTTP trims the edges), so an entry with it never applies.
_NEVER_IN_A_VALUE = re.compile(r"^[ \t]|[ \t]\Z|[\x00-\x08\x0a-\x1f\x7f]")
_SET_BY_AUTH = frozenset({IDENTITY_HEADER, TEAM_HEADER})


class RateLimitUnit(StrEnum):
    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


UNIT_SECONDS = MappingProxyType(
    {
        RateLimitUnit.SECOND: 1,
        RateLimitUnit.MINUTE: 60,
        RateLimitUnit.HOUR: 3600,
        RateLimitUnit.DAY: 86_400,
    }
)


def read_ratelimits(
    top: Section, providers: tuple[ModelProvider, ...], aliases: dict[str, str]
) -> tuple[RateLimitRule, ...]:
    """Every valid entry, in file order; () when the file has no `ratelimits`."""
    models = ModelNames(providers, aliases)
    rules = []
    owners: dict[tuple[str, str, str | None], str] = {}
    for location, item in top.items("ratelimits"):
        entry = open_section(item, location, RATELIMIT, top.issues)
        rule = None if entry is None else _rule(entry, models, top.has("auth"))
        if rule is None:
            continue
        identity = (rule.model, rule.header, rule.value)
        if identity in owners:
            top.issues.error(location, f"repeats {owners[identity]}")
        else:
            owners[identity] = location
            rules.append(rule)
    return tuple(rules)


def _rule(entry: Section, models: ModelNames, authenticated: bool) -> RateLimitRule | None:
    model = _model(entry, models)
    selector = entry.section("selector", RATELIMIT_SELECTOR)
    header = None if selector is None else _header(selector, authenticated)
    value = None if selector is None else _value(selector)
    limit = entry.section("limit", RATELIMIT_LIMIT)
    tokens = None if limit is None else _tokens(limit)
    unit = None if limit is None else limit.choice("unit", RateLimitUnit, None)
    if model is None or header is None or value is None or tokens is None or unit is None:
        return None
    return RateLimitRule(
        model=model,
        header=header,
        value=None if value == ANY_VALUE else value,
        tokens=tokens,
        unit_seconds=UNIT_SECONDS[unit],
    )


def _model(entry: Section, models: ModelNames) -> str | None:
    reference = entry.text("model")
    if reference is None:
        return None
    name = models.resolve(reference)
    if name is None:
        entry.issues.error(entry.where("model"), f"'{reference}' is no declared model or alias")
    return name


def _header(selector: Section, authenticated: bool) -> str | None:
    name = selector.text("key")
    if name is None:
        return None
    where = selector.where("key")
    if name.startswith(":"):
        selector.issues.error(where, f"'{name}' is a pseudo-header; name a request header")
        return None
    if not _HEADER_NAME.fullmatch(name):
        selector.issues.error(
            where, "must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~"
        )
        return None
    name = name.lower()
    if name in _SET_BY_AUTH and not authenticated:
        selector.issues.warn(
            where, f"without an auth section, clients set {name} themselves: anyone can pick it"
        )
    return name


def _value(selector: Section) -> str | None:
    value = selector.text("value")
    if value is not None and _NEVER_IN_A_VALUE.search(value):
        message = "no header value can match it (edge whitespace or control characters)"
        selector.issues.error(selector.where("value"), message)
        return None
    return value


def _tokens(limit: Section) -> int | None:
    tokens = limit.data.get("tokens")
    if tokens is None:
        return None
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= MAX_TOKENS:
        limit.issues.error(limit.where("tokens"), f"must be a whole number from 1 to {MAX_TOKENS}")
        return None
    return tokens
