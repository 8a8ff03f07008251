"""rank(): order of a route's models under each selection policy."""

from __future__ import annotations

import random

import pytest

from plano_extproc.config.model import SelectionPolicy
from plano_extproc.metrics_sources.base import StaticMetrics
from plano_extproc.routing.ranking import rank

MODELS = ("a", "b", "c", "d")

METRICS = StaticMetrics(
    costs={"a": 20.0, "b": 5.0, "c": 20.0, "e": 0.1},
    latencies={"a": 1.2, "b": 0.85, "d": 0.85, "c": float("nan")},
)


@pytest.mark.parametrize(
    ("policy", "models", "expected"),
    [
        (SelectionPolicy.NONE, MODELS, ("a", "b", "c", "d")),
        # a and c tie on cost: config order kept; d has no cost: last
        (SelectionPolicy.CHEAPEST, MODELS, ("b", "a", "c", "d")),
        (SelectionPolicy.CHEAPEST, ("d", "c", "b", "a"), ("b", "c", "a", "d")),
        # b and d tie on latency: config order kept; c's NaN counts as no data
        (SelectionPolicy.FASTEST, MODELS, ("b", "d", "a", "c")),
        (SelectionPolicy.FASTEST, ("d", "c", "b", "a"), ("d", "b", "a", "c")),
        (SelectionPolicy.CHEAPEST, ("x", "y", "z"), ("x", "y", "z")),
        (SelectionPolicy.FASTEST, ("x", "a", "y"), ("a", "x", "y")),
        (SelectionPolicy.CHEAPEST, (), ()),
        (SelectionPolicy.NONE, ["b", "a"], ("b", "a")),
    ],
)
def test_rank(policy: SelectionPolicy, models: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert rank(models, policy, METRICS) == expected


def test_missing_data_goes_last_in_config_order() -> None:
    metrics = StaticMetrics(costs={"m3": 2.0, "m5": 1.0})
    models = ("m1", "m2", "m3", "m4", "m5", "m6")

    assert rank(models, SelectionPolicy.CHEAPEST, metrics) == ("m5", "m3", "m1", "m2", "m4", "m6")


def test_cheapest_reads_cost_and_fastest_reads_latency() -> None:
    metrics = StaticMetrics(costs={"a": 1.0, "b": 2.0}, latencies={"a": 2.0, "b": 1.0})

    assert rank(("a", "b"), SelectionPolicy.CHEAPEST, metrics) == ("a", "b")
    assert rank(("a", "b"), SelectionPolicy.FASTEST, metrics) == ("b", "a")


def test_random_is_a_permutation_that_varies_across_calls() -> None:
    models = tuple(f"m{i}" for i in range(8))
    rng = random.Random(1234)

    orders = {rank(models, SelectionPolicy.RANDOM, METRICS, rng) for _ in range(20)}

    assert all(sorted(order) == sorted(models) for order in orders)
    assert len(orders) > 1


def test_random_is_reproducible_with_a_seeded_rng() -> None:
    models = tuple(f"m{i}" for i in range(8))

    first = [rank(models, SelectionPolicy.RANDOM, METRICS, random.Random(7)) for _ in range(3)]

    assert first[0] == first[1] == first[2]


def test_random_without_an_rng_still_permutes() -> None:
    models = ("a", "b", "c")

    assert sorted(rank(models, SelectionPolicy.RANDOM, METRICS)) == ["a", "b", "c"]


def test_rank_does_not_mutate_its_input() -> None:
    models = ["c", "b", "a"]

    rank(models, SelectionPolicy.RANDOM, METRICS, random.Random(0))
    rank(models, SelectionPolicy.CHEAPEST, METRICS)

    assert models == ["c", "b", "a"]
