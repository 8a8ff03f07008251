"""CPU time from /proc: per process group, of reaped children, and of the whole machine; and
this process's resident memory.

Linux only. Times are in seconds with the kernel's tick resolution (usually 10 ms), so measure
over several seconds.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Busier than this (other users' processes), the machine is not quiet enough to measure on.
QUIET_CORES = 0.25
QUIET_SAMPLE_SECONDS = 1.0


def group_cpu_seconds(pgid: int) -> float:
    """utime + stime of every live process in the process group, all threads included."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
        except OSError:  # exited meanwhile
            continue
        # After "pid (comm)": state ppid pgrp ...; utime and stime are the 14th and 15th fields.
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent outside idle and iowait, from /proc/stat."""
    fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def busy_cores(seconds: float) -> float:
    """Cores the whole machine keeps busy, on average over the next `seconds`."""
    before = busy_cpu_seconds()
    time.sleep(seconds)
    return (busy_cpu_seconds() - before) / seconds


def wait_until_quiet(limit_s: float) -> float:
    """Samples the machine until fewer than QUIET_CORES are busy or `limit_s` has passed, and
    returns the last sample: the caller goes ahead either way."""
    deadline = time.monotonic() + limit_s
    while True:
        busy = busy_cores(QUIET_SAMPLE_SECONDS)
        if busy < QUIET_CORES or time.monotonic() >= deadline:
            return busy
        print(f"waiting for a quiet machine: {busy:.2f} cores busy", file=sys.stderr)


def rss_mb() -> float:
    """This process's resident set size, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
