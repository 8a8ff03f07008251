"""The failover plan travels in the request's metadata and comes back whole."""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.failover.plan import (
    FailoverPlan,
    attempt_from_json,
    failover_metadata,
    recorded_first_attempt,
)
from plano_extproc.failover.policy import Attempt

PLAN = FailoverPlan(
    ("openai/gpt-4o", "anthropic/claude"), "openai/gpt-4o", ClientApi.CHAT, "a=1", None, "code"
)


def test_the_plan_survives_the_metadata_round_trip() -> None:
    metadata = Struct()
    metadata.update({"plano": {"model": "openai/gpt-4o"}})
    failover_metadata(metadata, PLAN, stream=True, usage=False)
    plano = json_format.MessageToDict(metadata)["plano"]
    assert FailoverPlan.from_json(plano["failover"]) == PLAN
    assert (plano["stream"], plano["include_usage"], plano["attempts"]) == ("true", "false", [])
    assert plano["model"] == "openai/gpt-4o"


def test_a_damaged_plan_is_none_not_an_error() -> None:
    assert FailoverPlan.from_json({"candidates": ["m"]}) is None
    assert FailoverPlan.from_json("not a plan") is None


def test_recorded_attempts_are_read_back() -> None:
    recorded = {"model": "m", "status": 429, "timeout": True}
    assert attempt_from_json(recorded) == Attempt("m", 429, timed_out=True)


def test_the_first_attempt_envoy_recorded_reads_back_as_an_attempt() -> None:
    namespace = {"first_status": "429", "first_retry_after": "120", "first_timeout": "true"}

    attempt = recorded_first_attempt(namespace, "openai/gpt-4o", retry_after_cap_s=60)

    assert attempt == Attempt("openai/gpt-4o", 429, timed_out=True, retry_after_s=60)
    assert recorded_first_attempt({}, "openai/gpt-4o", 60) is None
    assert recorded_first_attempt({"first_status": "x"}, "openai/gpt-4o", 60) is None


def test_a_plan_without_the_first_flag_reads_as_filter_judged() -> None:
    data = FailoverPlan(("a/b",), "a/b", ClientApi.CHAT, "", None, None).to_json()
    del data["first"]

    plan = FailoverPlan.from_json(data)

    assert plan is not None
    assert plan.first_rewritten is False
