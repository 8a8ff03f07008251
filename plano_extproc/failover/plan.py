"""What the routing filter hands the attempts of a request with a `retry_policy`, through the
request's dynamic metadata, and how the attempts so far are recorded there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.struct_pb2 import Struct

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.metadata import (
    ATTEMPTS_KEY,
    FAILOVER_KEY,
    INCLUDE_USAGE_KEY,
    METADATA_NAMESPACE,
    STREAM_KEY,
)
from plano_extproc.failover.policy import Attempt


@dataclass(frozen=True, slots=True)
class FailoverPlan:
    """What the routing filter hands the attempts, through the request's metadata."""

    candidates: tuple[str, ...]
    policy_owner: str  # the provider whose retry_policy governs the request
    api: ClientApi
    query: str
    session_key: str | None  # re-pinned to the model that answers after a failover
    route: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": list(self.candidates),
            "policy": self.policy_owner,
            "api": self.api.value,
            "query": self.query,
            "session": self.session_key or "",
            "route": self.route or "",
        }

    @classmethod
    def from_json(cls, data: Any) -> FailoverPlan | None:
        try:
            return cls(
                candidates=tuple(data["candidates"]),
                policy_owner=data["policy"],
                api=ClientApi(data["api"]),
                query=data["query"],
                session_key=data["session"] or None,
                route=data["route"] or None,
            )
        except (KeyError, TypeError, ValueError):
            return None


def failover_metadata(metadata: Struct, plan: FailoverPlan, *, stream: bool, usage: bool) -> None:
    """Adds the plan (and what translating an answer needs) to the routing filter's metadata."""
    namespace = metadata.fields[METADATA_NAMESPACE].struct_value
    namespace.update(
        {
            FAILOVER_KEY: plan.to_json(),
            ATTEMPTS_KEY: [],
            STREAM_KEY: "true" if stream else "false",
            INCLUDE_USAGE_KEY: "true" if usage else "false",
        }
    )


def attempt_from_json(data: Any) -> Attempt:
    return Attempt(
        model=str(data.get("model", "")),
        status=int(data.get("status", 0)),
        timed_out=bool(data.get("timeout", False)),
    )
