"""`make run` as a user runs it: `plano-extproc up --config config.example.yaml` on the default
port 12000, then `./demo.sh` and the README's curl examples against it, then Ctrl-C.

It needs the default ports (12000, Envoy's admin 9901, the ext_proc's 50051) and skips when one
of them is taken, e.g. by a `make run` of your own.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from plano_extproc.cli.up import installed_executable
from tests.support.processes import child_pids, http_ok

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
LISTENER_PORT, ADMIN_PORT, EXTPROC_PORT = 12000, 9901, 50051
URL = f"http://127.0.0.1:{LISTENER_PORT}"
# The command `make run` executes after installing (see the Makefile).
MAKE_RUN = ("plano-extproc", "up", "--config", "config.example.yaml")
READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0
COMMAND_TIMEOUT_SECONDS = 60.0
CODE_MODELS = ["anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"]
REASONING_MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini"]
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _command_line(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@contextmanager
def make_run(log_path: Path, children: list[int]) -> Iterator[subprocess.Popen[bytes]]:
    """`up` in the repository root, with no provider keys in its environment. On exit, anything
    left of it is killed: its process group and the `children` the test saw (they lead their own
    sessions)."""
    executable = installed_executable(MAKE_RUN[0])
    if executable is None:
        pytest.fail(f"{MAKE_RUN[0]} is not installed (make install)")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [executable, *MAKE_RUN[1:]],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for pid in children:
            if _alive(pid):
                with suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    ready = http_ok(f"{URL}/healthz")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"`make run` not ready (exit {process.poll()}):\n{_tail(log_path)}")
        time.sleep(0.1)


def _tail(log_path: Path, lines: int = 60) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _demo_sections(output: str) -> dict[int, Any]:
    """Section number → the JSON printed under its `--- N. title ---` line."""
    sections: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        title = re.match(r"^--- (\d+)\. .* ---$", line)
        if title:
            current = sections.setdefault(int(title.group(1)), [])
        elif line.startswith(("===", "Notice:")):
            current = None
        elif current is not None:
            current.append(line)
    return {number: json.loads("\n".join(lines)) for number, lines in sections.items()}


def _check_demo(output: str) -> None:
    sections = _demo_sections(output)
    assert sorted(sections) == list(range(1, 10)), output
    expected_routes = {
        1: ("code_generation", CODE_MODELS),
        2: ("complex_reasoning", REASONING_MODELS),
        3: (None, ["none"]),
        4: ("code_generation", CODE_MODELS),
        # Plano's descriptions as written: the embedded model reads this request as being
        # about data tables, not code (README, "Try it"); Arch-Router routes it.
        5: (None, ["none"]),
        6: ("coding", REASONING_MODELS),
        7: ("code_generation", CODE_MODELS),
        8: ("code_generation", CODE_MODELS[:1]),
        9: ("complex_reasoning", REASONING_MODELS),
    }
    for number, (route, models) in expected_routes.items():
        answer = sections[number]
        assert (answer["route"], answer["models"]) == (route, models), (number, answer)
        assert TRACE_ID.match(answer["trace_id"]), (number, answer)
    for number in range(1, 7):
        assert list(sections[number]) == ["models", "route", "trace_id"], (number, sections)
    sessions = {
        number: (sections[number]["session_id"], sections[number]["pinned"]) for number in (7, 8, 9)
    }
    assert sessions == {
        7: ("demo-session-001", False),
        8: ("demo-session-001", True),
        9: ("demo-session-002", False),
    }
    assert output.rstrip().endswith("=== Demo Complete ===")


def _readme_examples() -> list[tuple[str, str]]:
    """(curl command, the JSON block documented right after it) for each README example that
    calls localhost:12000."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE)
    examples = []
    for (language, code), (next_language, next_code) in itertools.pairwise(blocks):
        command = code.strip()
        if language == "bash" and command.startswith("curl") and "localhost:12000" in command:
            assert next_language == "json", f"no JSON answer documented after:\n{command}"
            examples.append((command, next_code.strip()))
    return examples


def _check_readme_example(command: str, documented: str) -> None:
    result = subprocess.run(
        ["bash", "-c", command.replace("localhost:12000", f"127.0.0.1:{LISTENER_PORT}")],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    expected = json.loads(documented)
    assert list(answer) == list(expected), (command, answer)
    for key, value in expected.items():
        if key == "trace_id":
            assert TRACE_ID.match(answer[key]), answer
        else:
            assert answer[key] == value, (command, key, answer)


def test_make_run_serves_the_demo_and_the_readme_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    taken = [port for port in (LISTENER_PORT, ADMIN_PORT, EXTPROC_PORT) if _port_taken(port)]
    if taken:
        pytest.skip(f"default port(s) {taken} in use; `make run` needs 12000, 9901 and 50051")
    examples = _readme_examples()
    assert examples, "README.md documents no curl example against localhost:12000"
    log_path = tmp_path / "make-run.log"
    children: list[int] = []

    with make_run(log_path, children) as up:
        _wait_ready(up, log_path)
        children += child_pids(up.pid)
        commands = [_command_line(pid) for pid in children]
        assert len(children) == 2, commands
        assert any(" serve " in command for command in commands), commands
        assert any("envoy" in command for command in commands), commands

        for command, documented in examples:
            _check_readme_example(command, documented)
        demo = subprocess.run(
            ["./demo.sh"],
            cwd=REPO,
            env={**os.environ, "PLANO_URL": URL},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        _check_demo(demo.stdout)

        up.send_signal(signal.SIGINT)
        try:
            exit_code = up.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"`up` still running {STOP_TIMEOUT_SECONDS}s after SIGINT:\n{_tail(log_path)}"
            )
        assert exit_code == 0, _tail(log_path)
        assert [pid for pid in children if _alive(pid)] == [], _tail(log_path)
        assert not http_ok(f"{URL}/healthz")()
