"""Child processes kept running: one that exits unexpectedly is started again, alone.

Used by `serve --workers N` (each worker) and `up` (the ext_proc service and Envoy). The others
keep serving meanwhile; Envoy's health checks route around a worker until it is back. A child
that keeps dying soon after its start is restarted after a growing delay (1 s, 2 s, 4 s … 30 s),
so a broken config does not spin.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A child that ran this long before it died is restarted at once.
STABLE_AFTER_SECONDS = 30.0
MAX_RESTART_DELAY_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 60.0
# Past a child's own drain period, before it is killed.
STOP_MARGIN_SECONDS = 10.0
POLL_SECONDS = 0.2

Starter = Callable[[], "subprocess.Popen[bytes]"]


@dataclass(slots=True)
class Child:
    name: str
    start: Starter
    process: subprocess.Popen[bytes]
    started_at: float
    quick_deaths: int = 0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.children: list[Child] = []
        self.stopping = False

    def add(self, name: str, start: Starter) -> Child:
        child = Child(name, start, start(), self._clock())
        self.children.append(child)
        return child

    def poll(self) -> None:
        """Restarts every child that exited and whose restart delay has passed."""
        if self.stopping:
            return
        now = self._clock()
        for child in self.children:
            if child.process.poll() is None:
                continue
            if child.restart_at is None:
                child.restart_at = now + self._restart_delay(child, now)
            if now >= child.restart_at:
                child.process = child.start()
                child.started_at, child.restart_at = now, None
                child.restarts += 1

    def _restart_delay(self, child: Child, now: float) -> float:
        quick = now - child.started_at < STABLE_AFTER_SECONDS
        child.quick_deaths = child.quick_deaths + 1 if quick else 0
        delay = min(2.0 ** (child.quick_deaths - 1), MAX_RESTART_DELAY_SECONDS)
        delay = delay if child.quick_deaths else 0.0
        log.warning(
            "%s exited with status %s; restarting it in %.0fs",
            child.name,
            child.process.returncode,
            delay,
        )
        return delay

    def run(self, stop_requested: Callable[[], bool] = lambda: False) -> None:
        """Keeps the children running until `signal_all` or `stop_requested()`."""
        while not self.stopping and not stop_requested():
            self.poll()
            time.sleep(POLL_SECONDS)

    def signal_all(self, signum: int) -> None:
        """Stops supervising and passes `signum` on, once."""
        if self.stopping:
            return
        self.stopping = True
        for child in self.children:
            signal_child(child, signum)

    def wait_all(self, timeout_s: float = STOP_TIMEOUT_SECONDS) -> list[int]:
        codes = []
        for child in self.children:
            try:
                codes.append(child.process.wait(timeout=timeout_s))
            except subprocess.TimeoutExpired:
                child.process.kill()
                codes.append(child.process.wait())
        return codes


def signal_child(child: Child, signum: int) -> None:
    if child.process.poll() is None:
        child.process.send_signal(signum)


def stopped_cleanly(codes: list[int]) -> int:
    """The group's exit status: a child's own failure wins; children we stopped are fine."""
    failures = [code for code in codes if code not in (0, -signal.SIGTERM, -signal.SIGINT)]
    if not failures:
        return 0
    return failures[0] if failures[0] > 0 else 128 - failures[0]
