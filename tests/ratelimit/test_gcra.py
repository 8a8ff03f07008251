"""GCRA arithmetic at the edges of the window: a full burst, one token over, the refill, costs
that can never pass, and the after-the-answer corrections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plano_extproc.ratelimit.gcra import Quota, adjust, interval, remaining, take

# 4 tokens a second: an interval of 0.25 s, exact in binary, so the edges are exact too.
FOUR_PER_SECOND = Quota(4, 1.0)
T0 = 1000.0
EPOCH = 1_760_000_000.123456  # the magnitude of Redis's clock, where rounding bites


def drained(limit: Quota = FOUR_PER_SECOND, now: float = T0) -> float:
    outcome = take(now, now, limit.tokens, limit)
    assert outcome.allowed
    return outcome.tat


def test_a_fresh_bucket_allows_exactly_its_burst() -> None:
    outcome = take(T0, T0, 4, FOUR_PER_SECOND)
    assert outcome == (True, T0 + 1.0, None)
    assert take(outcome.tat, T0, 1, FOUR_PER_SECOND) == (False, outcome.tat, 0.25)


def test_the_burst_is_the_unit_however_the_interval_rounds() -> None:
    for limit in (Quota(3, 1.0), Quota(7, 60.0), Quota(1000, 3600.0), Quota(100_000, 60.0)):
        tat = drained(limit, EPOCH)
        assert not take(tat, EPOCH, 1, limit).allowed, limit
        assert not take(EPOCH, EPOCH, limit.tokens + 1, limit).allowed, limit


def test_one_token_over_the_burst_is_refused_with_the_wait_for_one_token() -> None:
    tat = take(T0, T0, 3, FOUR_PER_SECOND).tat
    outcome = take(tat, T0, 2, FOUR_PER_SECOND)
    assert outcome == (False, tat, 0.25)


def test_a_token_comes_back_after_exactly_one_interval() -> None:
    tat = drained()
    assert take(tat, T0 + 0.25 - 0.001, 1, FOUR_PER_SECOND).retry_after == pytest.approx(0.001)
    refilled = take(tat, T0 + 0.25, 1, FOUR_PER_SECOND)
    assert refilled.allowed
    assert not take(refilled.tat, T0 + 0.25, 1, FOUR_PER_SECOND).allowed


def test_waiting_the_retry_after_is_enough_at_epoch_magnitudes() -> None:
    limit = Quota(7, 60.0)
    tat = drained(limit, EPOCH)
    refused = take(tat, EPOCH + 1.0, 3, limit)
    assert refused.retry_after is not None
    assert take(tat, EPOCH + 1.0 + refused.retry_after, 3, limit).allowed


def test_a_cost_over_the_burst_can_never_pass() -> None:
    outcome = take(T0 - 3600, T0, 5, FOUR_PER_SECOND)
    assert outcome == (False, T0 - 3600, None)
    assert outcome.never


def test_a_cost_of_zero_always_passes_and_changes_nothing() -> None:
    tat = drained()
    assert take(tat, T0, 0, FOUR_PER_SECOND) == (True, tat, None)


def test_a_past_tat_is_a_full_bucket() -> None:
    assert take(T0 - 50, T0, 4, FOUR_PER_SECOND) == (True, T0 + 1.0, None)
    assert remaining(T0 - 50, T0, FOUR_PER_SECOND) == 4.0


def test_a_refund_gives_tokens_back() -> None:
    tat = drained()
    assert adjust(tat, T0, -2, FOUR_PER_SECOND) == T0 + 0.5
    assert remaining(T0 + 0.5, T0, FOUR_PER_SECOND) == 2.0


def test_a_refund_never_goes_below_now() -> None:
    tat = take(T0, T0, 1, FOUR_PER_SECOND).tat
    assert adjust(tat, T0, -100, FOUR_PER_SECOND) == T0
    assert adjust(T0 - 10, T0, -1, FOUR_PER_SECOND) == T0


def test_a_positive_adjustment_charges_beyond_the_burst() -> None:
    tat = adjust(drained(), T0, 4, FOUR_PER_SECOND)
    assert tat == T0 + 2.0
    assert remaining(tat, T0 + 0.5, FOUR_PER_SECOND) == 0.0
    assert take(tat, T0 + 1.0, 1, FOUR_PER_SECOND) == (False, tat, 0.25)
    assert take(tat, T0 + 1.25, 1, FOUR_PER_SECOND).allowed


def test_a_positive_adjustment_of_an_idle_bucket_counts_from_now() -> None:
    assert adjust(T0 - 10, T0, 2, FOUR_PER_SECOND) == T0 + 0.5


def test_remaining_follows_charges_and_refill() -> None:
    assert remaining(T0, T0, FOUR_PER_SECOND) == 4.0
    tat = take(T0, T0, 3, FOUR_PER_SECOND).tat
    assert remaining(tat, T0, FOUR_PER_SECOND) == 1.0
    assert remaining(tat, T0 + 0.125, FOUR_PER_SECOND) == 1.5
    assert remaining(tat, T0 + 1.0, FOUR_PER_SECOND) == 4.0


def test_a_quota_needs_positive_numbers() -> None:
    with pytest.raises(ValueError, match="positive"):
        Quota(0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        Quota(5, 0.0)


@given(
    tokens=st.integers(1, 1000),
    unit=st.sampled_from([1.0, 60.0, 3600.0]),
    requests=st.lists(
        st.tuples(st.floats(0, 5, allow_nan=False), st.integers(0, 50)), min_size=1, max_size=60
    ),
)
def test_no_window_lets_through_more_than_the_burst_and_the_refill(
    tokens: int, unit: float, requests: list[tuple[float, int]]
) -> None:
    limit = Quota(tokens, unit)
    now = tat = EPOCH
    let_through = 0
    for gap, cost in requests:
        now += gap
        outcome = take(tat, now, cost, limit)
        tat = outcome.tat
        let_through += cost if outcome.allowed else 0
    assert let_through <= tokens + (now - EPOCH) / interval(limit) + 1e-3
