"""Per config, what every attempt of a request with a `retry_policy` uses: the policies, the
providers' plans, the block store, and which first attempts Envoy judges alone."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping

from plano_extproc.affinity.base import AffinityStore
from plano_extproc.auth import Identity
from plano_extproc.config.model import Config, ModelProvider
from plano_extproc.config.retry_policy import RetryPolicy
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.extproc.offload import Offload
from plano_extproc.extproc.provider_request import ProviderPlan
from plano_extproc.failover.blocks import BlockStore, build_block_store
from plano_extproc.failover.first_attempt import envoy_judges, envoy_retried_statuses, first_attempt
from plano_extproc.failover.policy import (
    attempt_timeout_ms,
    failover_candidates,
    max_delay_seconds,
    unblocked_first,
)
from plano_extproc.routing.decision import Decision
from plano_extproc.wire import upstream_translation


def policy_owner(provider: ModelProvider) -> str:
    """The entry whose retry_policy governs `provider`: a model served by a wildcard has its
    wildcard entry's."""
    return provider.wildcard_of or provider.name


class _PrefixOf(Mapping[str, str]):
    """Each model's provider prefix (its family for `same_provider` strategies and block
    scopes), models served by wildcards included."""

    def __init__(self, providers: Mapping[str, ModelProvider]) -> None:
        self._providers = providers

    def __getitem__(self, name: str) -> str:
        return self._providers[name].provider

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)


class Failover:
    """Per config: the policies, plans and block store every attempt stream uses."""

    def __init__(
        self,
        config: Config,
        plans: Mapping[str, ProviderPlan],
        affinity: AffinityStore,
        *,
        blocks: BlockStore | None = None,
        offload: Offload | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plans = plans
        self.policies: dict[str, RetryPolicy] = {
            p.name: p.retry_policy for p in config.providers if p.retry_policy is not None
        }
        self.family_of = _PrefixOf(config.provider_by_name)
        self.blocks = blocks if blocks is not None else build_block_store(config.routing)
        self.affinity = affinity
        self.offload = offload or Offload()
        self.rng = rng or random.Random()
        self.clock = clock
        listener_timeout_s = config.listeners[0].timeout_seconds
        self.max_delay_s = max_delay_seconds(listener_timeout_s)
        self.attempt_timeouts_ms = {
            name: ms
            for name, policy in self.policies.items()
            if (ms := attempt_timeout_ms(policy, listener_timeout_s)) is not None
        }
        self._declared = tuple(p.name for p in config.providers if not p.is_wildcard)
        self._first_attempts = {name: first_attempt(p) for name, p in self.policies.items()}
        self._envoy_retried = envoy_retried_statuses(self.policies.values())

    async def candidates(
        self, provider: ModelProvider, decision: Decision, identity: Identity | None = None
    ) -> tuple[str, ...]:
        """The models this request may go to, in order; usable ones only (a key is set, and
        the client's identity may use it), and blocked ones last."""
        policy = self.policies[policy_owner(provider)]
        ranked = decision.models if decision.matched else ()
        ordered = failover_candidates(provider.name, policy, ranked, self._declared)
        usable = [
            m
            for m in ordered
            if m in self.plans
            and self.plans[m].missing_key_env is None
            and (identity is None or identity.allows(self.plans[m].provider))
        ]
        return unblocked_first(usable, await self.blocks.blocked(usable))

    def envoy_judges_first(
        self, provider: ModelProvider, candidates: tuple[str, ...], api: ClientApi
    ) -> bool:
        """Whether the routing filter may rewrite this request for its first candidate and
        leave that attempt to Envoy (failover/first_attempt.py): Envoy's retry statuses are
        the policy's, the first model speaks the client's API (a retry starts from the body
        the routing filter left), and no later candidate takes the client's own credentials
        (that body no longer carries them)."""
        first = self.plans[candidates[0]].provider
        later = (self.plans[m].provider for m in candidates[1:])
        return (
            envoy_judges(
                self._first_attempts[policy_owner(provider)], self._envoy_retried, len(candidates)
            )
            and upstream_translation(api, first) is None
            and (first.passthrough_auth or not any(p.passthrough_auth for p in later))
        )

    async def close(self) -> None:
        await self.blocks.close()
