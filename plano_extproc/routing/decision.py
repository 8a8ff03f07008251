"""The outcome of routing one request, and its JSON form on the `/routing/v1/*` endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

NO_ROUTE_MODEL = "none"


class Fallback(StrEnum):
    """Why a decision fell back to the requested/default model instead of classifying, or
    (ratelimited) to a lower-ranked model of its route."""

    ERROR = "error"
    TIMEOUT = "timeout"
    RATELIMITED = "ratelimited"


# BudgetCheck outcomes.
CHARGED = "charged"
LIMITED = "limited"
CHECKED = "checked"


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """What `ratelimits` made of a request, for its decision's span: `charged` its estimated
    prompt `tokens`, `limited` (refused), or `checked` on a decision endpoint, with the ranked
    models that could not take it now."""

    outcome: str
    tokens: int = 0
    out_of_budget: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """`models` is ranked best first; ``("none",)`` with `route` None means no route matched."""

    models: tuple[str, ...]
    route: str | None
    trace_id: str
    session_id: str | None = None
    pinned: bool = False
    fallback: Fallback | None = None
    # The authenticated client (config `auth`), for the decision's span; not in its JSON.
    identity: str | None = None
    # Under `ratelimits`, for the decision's span; not in its JSON.
    budget: BudgetCheck | None = None

    @property
    def matched(self) -> bool:
        return self.route is not None

    def to_json(self) -> dict[str, Any]:
        """Keys in the documented order; session fields only when an affinity header was sent."""
        body: dict[str, Any] = {
            "models": list(self.models),
            "route": self.route,
            "trace_id": self.trace_id,
        }
        if self.session_id is not None:
            body["session_id"] = self.session_id
            body["pinned"] = self.pinned
        return body


@dataclass(frozen=True, slots=True)
class DecisionTiming:
    """When a decision started and ended (ns since the epoch), and how long its classifier
    took (None when it was not asked: a pin, or no routes)."""

    start_ns: int
    end_ns: int
    classify_seconds: float | None
