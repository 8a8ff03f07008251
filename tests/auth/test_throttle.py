from __future__ import annotations

from plano_extproc.auth.throttle import WINDOW_SECONDS, FailureThrottle


def test_an_address_is_refused_after_the_limit_until_its_window_ends() -> None:
    throttle = FailureThrottle(3)
    for second in range(3):
        assert throttle.retry_after("10.0.0.1", 100.0 + second) is None
        throttle.failed("10.0.0.1", 100.0 + second)

    assert throttle.retry_after("10.0.0.1", 110.0) == 50
    assert throttle.retry_after("10.0.0.2", 110.0) is None
    assert throttle.retry_after("10.0.0.1", 100.0 + WINDOW_SECONDS) is None


def test_failures_in_an_old_window_start_a_new_one() -> None:
    throttle = FailureThrottle(2)
    throttle.failed("a", 0.0)
    throttle.failed("a", WINDOW_SECONDS + 1)

    assert throttle.retry_after("a", WINDOW_SECONDS + 2) is None
    throttle.failed("a", WINDOW_SECONDS + 3)
    assert throttle.retry_after("a", WINDOW_SECONDS + 4) is not None


def test_memory_is_bounded_by_forgetting_the_oldest_address() -> None:
    throttle = FailureThrottle(1, max_addresses=100)
    for n in range(10_000):
        throttle.failed(f"198.51.{n // 256}.{n % 256}", 1.0)

    assert len(throttle) == 100
    assert throttle.retry_after("198.51.0.0", 2.0) is None  # forgotten
    assert throttle.retry_after("198.51.39.15", 2.0) is not None  # the last one


def test_a_limit_of_zero_never_refuses_or_remembers() -> None:
    throttle = FailureThrottle(0)
    for _ in range(100):
        throttle.failed("a", 1.0)

    assert throttle.retry_after("a", 1.0) is None
    assert len(throttle) == 0
