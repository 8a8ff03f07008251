"""The overhead benchmark's report: the machine, the explicit path's targets, and the markdown
table. Works on the JSON-ready report that `overhead.py` builds (and writes with --json)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpu_usage import QUIET_CORES

# The goals for the explicit-model path (scenario B).
TARGET_RPS_RATIO = 0.25  # at least, vs Envoy alone, at the highest concurrency
TARGET_ADDED_P50_MS = 1.0  # at most, vs Envoy alone, at the lowest concurrency
TARGET_EXTPROC_CPU_US = 450.0  # at most, per request, at the highest concurrency
EXPLICIT = "B"
# The other paths' goals, at the highest concurrency: (row, the row it is compared with, ratio
# of req/s at least). "A" is Envoy alone.
RELATIVE_TARGETS = (("C", EXPLICIT, 0.8), ("G", EXPLICIT, 0.85), ("E", "A", 0.10))
# (row, the row it is compared with, ext_proc CPU-µs per request it may add at most).
ADDED_CPU_TARGETS = (("K", EXPLICIT, 50.0),)
VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float
    limit: float
    met: bool


def targets(table: Sequence[Mapping[str, Any]]) -> list[Target]:
    """The explicit path's goals, then the other paths' where their rows ran; the CPU goal is
    read at the highest concurrency, where the per-request cost is not inflated by waking up
    idle processes for every request."""
    explicit = {row["concurrency"]: row for row in table if row["scenario"] == EXPLICIT}
    if not explicit:
        return []
    low, high = explicit[min(explicit)], explicit[max(explicit)]
    ratio, added = high["rps_vs_envoy_only"], low["added_p50_ms"]
    cpu = high["cpu_us_per_request"]["ext_proc"]
    return [
        Target(
            f"B req/s >= {TARGET_RPS_RATIO}x Envoy alone at c={high['concurrency']}",
            ratio,
            TARGET_RPS_RATIO,
            ratio >= TARGET_RPS_RATIO,
        ),
        Target(
            f"B added p50 <= {TARGET_ADDED_P50_MS} ms at c={low['concurrency']}",
            added,
            TARGET_ADDED_P50_MS,
            added <= TARGET_ADDED_P50_MS,
        ),
        Target(
            f"B ext_proc <= {TARGET_EXTPROC_CPU_US:g} CPU-us/request at c={high['concurrency']}",
            cpu,
            TARGET_EXTPROC_CPU_US,
            cpu <= TARGET_EXTPROC_CPU_US,
        ),
        *_relative_targets(table, high["concurrency"]),
        *_added_cpu_targets(table, high["concurrency"]),
    ]


def _relative_targets(table: Sequence[Mapping[str, Any]], concurrency: int) -> list[Target]:
    rps = {row["scenario"]: row["rps"] for row in table if row["concurrency"] == concurrency}
    found = []
    for row, base, limit in RELATIVE_TARGETS:
        if row in rps and rps.get(base):
            ratio = round(rps[row] / rps[base], 3)
            name = f"{row} req/s >= {limit}x {base} at c={concurrency}"
            found.append(Target(name, ratio, limit, ratio >= limit))
    return found


def _added_cpu_targets(table: Sequence[Mapping[str, Any]], concurrency: int) -> list[Target]:
    cpu = {
        row["scenario"]: row["cpu_us_per_request"].get("ext_proc")
        for row in table
        if row["concurrency"] == concurrency
    }
    found = []
    for row, base, limit in ADDED_CPU_TARGETS:
        if cpu.get(row) is not None and cpu.get(base) is not None:
            added = round(cpu[row] - cpu[base], 1)
            name = f"{row} adds <= {limit:g} ext_proc CPU-us/request to {base} at c={concurrency}"
            found.append(Target(name, added, limit, added <= limit))
    return found


def machine(envoy: str) -> dict[str, Any]:
    """The CPU and the tools' versions; `envoy` is the Envoy binary."""
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin") or "nginx"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "envoy": _version([envoy, "--version"]),
        "nginx": _version([nginx, "-v"]),
        "wrk": _version(["wrk", "-v"]),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _version(args: Sequence[str]) -> str:
    """The first x.y.z a tool prints about itself (after the word "version" if there is one)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = result.stdout + result.stderr
    found = VERSION.search(text.rpartition("version")[2]) or VERSION.search(text)
    return found.group(0) if found else "unknown"


HEADER = (
    "| scenario | c | req/s | p50 ms | p99 ms | req/s ÷ A | +p50 ms vs A "
    "| ext_proc CPU-µs/req | Envoy CPU-µs/req | non-2xx | others' cores |"
)


def markdown(report: Mapping[str, Any]) -> str:
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    lines += [_markdown_row(row) for row in report["results"]]
    return "\n".join([*lines, "", *_describe(report)])


def _markdown_row(row: Mapping[str, Any]) -> str:
    cpu = row["cpu_us_per_request"]
    cells = [
        f"{row['scenario']} {row['name']}",
        str(row["concurrency"]),
        f"{row['rps']:.0f}",
        f"{row['p50_ms']:.2f}",
        f"{row['p99_ms']:.2f}",
        f"{row['rps_vs_envoy_only']:.2f}",
        f"{row['added_p50_ms']:+.2f}",
        f"{cpu['ext_proc']:.0f}" if "ext_proc" in cpu else "-",
        f"{cpu['envoy']:.0f}",
        str(row["non_2xx"]),
        f"{row['others_cores']:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


def _describe(report: Mapping[str, Any]) -> list[str]:
    box, settings, load = report["machine"], report["settings"], report["load_average"]
    noisy = report["noisy_rows"]
    return [
        f"machine: {box['nproc']} x {box['cpu_model']}, Linux {box['kernel']}; Python "
        f"{box['python']}, Envoy {box['envoy']}, nginx {box['nginx']}, wrk {box['wrk']}",
        f"setup: ext_proc workers {settings['workers']}, Envoy --concurrency "
        f"{settings['envoy_concurrency']}, nginx workers {settings['nginx_workers']}, wrk "
        f"-t{settings['wrk_threads']}; {settings['warmup_s']}s warm-up + {settings['duration_s']}s "
        f"per row; nothing pinned: wrk, Envoy, nginx and the ext_proc share the {box['nproc']} "
        "cores",
        f"load average (1/5/15 min): before {_triple(load['before'])}, after "
        f"{_triple(load['after'])}; {report['busy_cores_before']:.2f} cores busy just before; "
        f"run took {report['wall_s']:.0f}s",
        "others' cores: CPU used during the row by anything but its stack and wrk; "
        + (f"above {QUIET_CORES} in {', '.join(noisy)}" if noisy else "quiet throughout"),
        *(
            f"target {'met' if t['met'] else 'MISSED'}: {t['name']} (measured {t['value']:g})"
            for t in report["targets"]
        ),
    ]


def _triple(values: Sequence[float]) -> str:
    return "/".join(f"{value:.2f}" for value in values)
