"""The supervisor restarts a child that died, alone, with a growing delay while it keeps dying
soon after its start, and stops restarting once told to stop."""

from __future__ import annotations

import signal

import pytest

from plano_extproc.cli.supervisor import Supervisor, stopped_cleanly
from tests.support.clock import FakeClock


class FakeProcess:
    def __init__(self, name: str) -> None:
        self.name = name
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        self.returncode = -signum

    def wait(self, timeout: float | None = None) -> int:
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        self.returncode = -signal.SIGKILL


class Starts:
    def __init__(self, name: str) -> None:
        self.name = name
        self.started: list[FakeProcess] = []

    def __call__(self) -> FakeProcess:
        self.started.append(FakeProcess(self.name))
        return self.started[-1]


def _supervisor(clock: FakeClock) -> tuple[Supervisor, Starts, Starts]:
    supervisor = Supervisor(clock)
    first, second = Starts("a"), Starts("b")
    supervisor.add("a", first)  # type: ignore[arg-type]
    supervisor.add("b", second)  # type: ignore[arg-type]
    return supervisor, first, second


def test_a_dead_child_is_restarted_alone() -> None:
    clock = FakeClock()
    supervisor, first, second = _supervisor(clock)
    clock.advance(60)
    first.started[0].returncode = -signal.SIGKILL

    supervisor.poll()

    assert len(first.started) == 2
    assert len(second.started) == 1
    assert second.started[0].signals == []


def test_a_child_that_keeps_dying_waits_longer_each_time() -> None:
    clock = FakeClock()
    supervisor, first, _ = _supervisor(clock)
    waits = []
    for _ in range(4):
        first.started[-1].returncode = 1
        supervisor.poll()
        count, waited = len(first.started), 0.0
        while len(first.started) == count:
            clock.advance(0.5)
            waited += 0.5
            supervisor.poll()
        waits.append(waited)
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_stopping_signals_every_child_once_and_restarts_none() -> None:
    clock = FakeClock()
    supervisor, first, second = _supervisor(clock)

    supervisor.signal_all(signal.SIGTERM)
    supervisor.signal_all(signal.SIGTERM)
    supervisor.poll()

    assert first.started[0].signals == [signal.SIGTERM]
    assert second.started[0].signals == [signal.SIGTERM]
    assert len(first.started) == 1
    assert stopped_cleanly(supervisor.wait_all()) == 0


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ([0, 0], 0),
        ([-signal.SIGTERM, 0], 0),
        ([3, -signal.SIGTERM], 3),
        ([-signal.SIGTERM, -signal.SIGKILL], 128 + signal.SIGKILL),
    ],
)
def test_the_group_status(codes: list[int], status: int) -> None:
    assert stopped_cleanly(codes) == status
