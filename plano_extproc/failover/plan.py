"""What the routing filter hands the attempts of a request with a `retry_policy`, through the
request's dynamic metadata, and how the attempts so far are recorded there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.struct_pb2 import ListValue, Struct

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.metadata import (
    ATTEMPTS_KEY,
    FAILOVER_KEY,
    FIRST_CLUSTER_KEY,
    FIRST_RETRY_AFTER_KEY,
    FIRST_STATUS_KEY,
    FIRST_TIMEOUT_KEY,
    FIRST_TIMEOUT_MS_KEY,
    INCLUDE_USAGE_KEY,
    METADATA_NAMESPACE,
    STREAM_KEY,
    set_strings,
)
from plano_extproc.failover.policy import Attempt, retry_after_seconds


@dataclass(frozen=True, slots=True)
class FailoverPlan:
    """What the routing filter hands the attempts, through the request's metadata."""

    candidates: tuple[str, ...]
    policy_owner: str  # the provider whose retry_policy governs the request
    api: ClientApi
    query: str
    session_key: str | None  # re-pinned to the model that answers after a failover
    route: str | None
    # The routing filter rewrote the request for the first candidate, and Envoy judges that
    # attempt alone (failover/first_attempt.py).
    first_rewritten: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": list(self.candidates),
            "policy": self.policy_owner,
            "api": self.api.value,
            "query": self.query,
            "session": self.session_key or "",
            "route": self.route or "",
            "first": self.first_rewritten,
        }

    @classmethod
    def from_json(cls, data: Any) -> FailoverPlan | None:
        """From the metadata's JSON string (or its decoded form); None when damaged."""
        try:
            if isinstance(data, str):
                data = orjson.loads(data)
            return cls(
                candidates=tuple(data["candidates"]),
                policy_owner=data["policy"],
                api=ClientApi(data["api"]),
                query=data["query"],
                session_key=data["session"] or None,
                route=data["route"] or None,
                first_rewritten=data.get("first") is True,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None


def failover_metadata(metadata: Struct, plan: FailoverPlan, *, stream: bool, usage: bool) -> None:
    """Adds the plan, as one JSON string (a nested Struct costs the hot path several times
    more to build), and what translating an answer needs to the routing filter's metadata."""
    set_strings(
        metadata,
        {
            FAILOVER_KEY: orjson.dumps(plan.to_json()).decode(),
            STREAM_KEY: "true" if stream else "false",
            INCLUDE_USAGE_KEY: "true" if usage else "false",
        },
    )
    namespace = metadata.fields[METADATA_NAMESPACE].struct_value
    namespace.fields[ATTEMPTS_KEY].list_value.CopyFrom(ListValue())


def first_attempt_metadata(metadata: Struct, cluster: str, attempt_timeout_ms: int | None) -> None:
    """For a first attempt Envoy judges alone: where the failover route sends it, and within
    what attempt timeout (failover/first_attempt.py)."""
    set_strings(metadata, {FIRST_CLUSTER_KEY: cluster})
    if attempt_timeout_ms is not None:
        set_strings(metadata, {FIRST_TIMEOUT_MS_KEY: str(attempt_timeout_ms)})


def recorded_first_attempt(
    namespace: Mapping[str, Any], model: str, retry_after_cap_s: float
) -> Attempt | None:
    """The first attempt as Envoy's recorder left it in the metadata (envoy/first_attempt.py);
    None when it recorded nothing (this is the first attempt)."""
    status = str(namespace.get(FIRST_STATUS_KEY, ""))
    if not status.isdigit():
        return None
    code = int(status)
    retry_after = namespace.get(FIRST_RETRY_AFTER_KEY)
    return Attempt(
        model,
        code,
        timed_out=namespace.get(FIRST_TIMEOUT_KEY) == "true",
        retry_after_s=retry_after_seconds(str(retry_after), retry_after_cap_s)
        if code >= 400 and retry_after is not None
        else None,
    )


def attempt_from_json(data: Any) -> Attempt:
    return Attempt(
        model=str(data.get("model", "")),
        status=int(data.get("status", 0)),
        timed_out=bool(data.get("timeout", False)),
    )
