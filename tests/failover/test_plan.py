"""The failover plan travels in the request's metadata and comes back whole."""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.failover.plan import FailoverPlan, attempt_from_json, failover_metadata
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
