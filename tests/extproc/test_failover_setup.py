"""Which requests the routing filter rewrites for their first model, leaving that attempt to
Envoy: the policy's statuses are the route's, and a retry can start from that rewrite."""

from __future__ import annotations

from plano_extproc.affinity.memory import MemoryAffinityStore
from plano_extproc.auth import Identity
from plano_extproc.auth.identity import Credential
from plano_extproc.config import load_config_text
from plano_extproc.config.model import ModelAllowance
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.clusters import FAILOVER_CLUSTER
from plano_extproc.contract.headers import CLUSTER_HEADER
from plano_extproc.extproc.failover_setup import Failover
from plano_extproc.extproc.provider_request import ProviderPlans
from plano_extproc.routing.decision import Decision

CONFIG = """
version: v0.4.0
model_providers:
  - model: openai/gpt-4o
    access_key: $KEY
    retry_policy: {fallback_models: [anthropic/claude-sonnet-4-20250514]}
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $KEY
    retry_policy: {fallback_models: [openai/gpt-4o]}
  - model: openai/gpt-4o-mini
    passthrough_auth: true
  - model: groq/llama-3.3-70b
    access_key: $KEY
    retry_policy: {fallback_models: [openai/gpt-4o-mini]}
"""
GPT, CLAUDE = "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"
MINI, LLAMA = "openai/gpt-4o-mini", "groq/llama-3.3-70b"


def _failover() -> Failover:
    config = load_config_text(CONFIG, {"KEY": "k"}, require_keys=False)
    return Failover(config, ProviderPlans(config), MemoryAffinityStore(60, 10))


def test_a_first_model_that_speaks_the_clients_api_is_left_to_envoy() -> None:
    failover = _failover()
    gpt = failover.plans[GPT].provider

    assert failover.envoy_judges_first(gpt, (GPT, CLAUDE), ClientApi.CHAT)
    # Its retries would need another model, and there is none.
    assert not failover.envoy_judges_first(gpt, (GPT,), ClientApi.CHAT)


def test_a_translated_first_attempt_stays_with_the_filter() -> None:
    failover = _failover()
    claude = failover.plans[CLAUDE].provider

    assert not failover.envoy_judges_first(claude, (CLAUDE, GPT), ClientApi.RESPONSES)
    assert failover.envoy_judges_first(claude, (CLAUDE, GPT), ClientApi.MESSAGES)


def test_a_later_model_with_the_clients_own_credentials_stays_with_the_filter() -> None:
    # The rewritten request no longer carries the client's credentials.
    failover = _failover()
    llama = failover.plans[LLAMA].provider

    assert not failover.envoy_judges_first(llama, (LLAMA, MINI), ClientApi.CHAT)


def test_a_plan_rewrites_for_the_failover_cluster_without_the_providers_own() -> None:
    plan = _failover().plans[GPT]

    for wire, headers in plan.via_failover.items():
        clusters = [h.header.raw_value for h in headers if h.header.key == CLUSTER_HEADER]
        assert clusters == [FAILOVER_CLUSTER.encode()]
        others = {h.header.key for h in plan.set_headers[wire]} - {CLUSTER_HEADER}
        assert {h.header.key for h in headers} - {CLUSTER_HEADER} == others


async def test_candidates_leave_out_models_the_clients_identity_may_not_use() -> None:
    failover = _failover()
    gpt = failover.plans[GPT].provider
    decision = Decision((GPT,), None, "0" * 32)
    only_gpt = Identity("a", Credential.API_KEY, models=ModelAllowance(frozenset({GPT})))

    assert await failover.candidates(gpt, decision) == (GPT, CLAUDE)
    assert await failover.candidates(gpt, decision, only_gpt) == (GPT,)
