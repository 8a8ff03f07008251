"""A real Triton Inference Server for tests: the `tritonserver` of the `nvidia-pytriton` wheel,
on ``triton/model_repository`` with the CPU stand-in engine (triton/cpu_standin).

    with running_triton(tmp_path) as triton:
        triton.grpc_url          # what the `triton` classifier is given
        triton.unload(ENGINE); triton.load(ENGINE)
        triton.kill(); triton.start()   # an outage, and a restart on the same ports

The python backend's stub embeds the interpreter it finds first on PATH, so it runs in the
environment `make install` builds for it (.tools/triton-python: NumPy 1.x, which the stub is
built against, and transformers); it loads libpython from the running interpreter's LIBDIR.
Models load explicitly (`--model-control-mode explicit`), so tests can unload one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
STUB_PYTHON = ROOT / ".tools" / "triton-python"
ENSEMBLE = "arch_router"
ENGINE = "tensorrt_llm"
STARTUP_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0
_PREPARE = ROOT / "triton" / "cpu_standin" / "prepare_repository.py"


class TritonServerError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class TritonInstall:
    """Where the wheel put the server, its libraries and the python backend."""

    server: Path
    libraries: Path
    python_backend: Path
    stubs: Path

    @classmethod
    def find(cls) -> TritonInstall:
        spec = importlib.util.find_spec("pytriton")
        if spec is None or not spec.submodule_search_locations:
            raise TritonServerError("nvidia-pytriton is not installed: run `make install`")
        package = Path(next(iter(spec.submodule_search_locations)))
        tritonserver = package / "tritonserver"
        return cls(
            server=tritonserver / "bin" / "tritonserver",
            libraries=package.parent / "nvidia_pytriton.libs",
            python_backend=tritonserver / "backends" / "python",
            stubs=tritonserver / "python_backend_stubs",
        )

    def backends(self, into: Path) -> Path:
        """A backend directory whose python backend has the stub for this interpreter."""
        python = into / "python"
        shutil.copytree(self.python_backend, python, dirs_exist_ok=True)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        shutil.copy2(self.stubs / version / "triton_python_backend_stub", python)
        return into


def prepare_repository(workdir: Path) -> Path:
    """The stand-in repository and its tokenizer under `workdir` (prepare_repository.py)."""
    subprocess.run([sys.executable, str(_PREPARE), str(workdir)], check=True, capture_output=True)
    return workdir / "model_repository"


class TritonServer:
    def __init__(self, install: TritonInstall, repository: Path, workdir: Path) -> None:
        self._install = install
        self.repository = repository
        self.workdir = workdir
        self._backends = install.backends(workdir / "backends")
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "tritonserver.log"

    def start(self, wait: bool = True) -> None:
        if self._process is not None:
            raise TritonServerError("tritonserver is already running")
        with self.log_path.open("ab") as log:
            # Its own process group: the python stubs it spawns outlive a killed server
            # otherwise (they are reparented, and keep their memory and shared memory).
            self._process = subprocess.Popen(
                self._command(),
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise TritonServerError(f"tritonserver exited:\n{self.log_tail()}")
            if self._answers("/v2/health/ready"):
                return
            time.sleep(0.2)
        raise TritonServerError(f"tritonserver not ready in {timeout_s:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: an outage, not a shutdown (its python stubs are killed with it)."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        self._stop(signal.SIGTERM)

    def load(self, model: str) -> None:
        self._repository_call(model, "load")

    def unload(self, model: str) -> None:
        self._repository_call(model, "unload")

    def model_ready(self, model: str) -> bool:
        return self._answers(f"/v2/models/{model}/ready")

    def metrics(self) -> dict[tuple[str, str], float]:
        """Triton's counters by (name, model), e.g. ("nv_inference_exec_count", ENGINE)."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        values: dict[tuple[str, str], float] = {}
        for line in text.splitlines():
            name, _, rest = line.partition('{model="')
            if not rest or line.startswith("#"):
                continue
            model = rest.partition('"')[0]
            values[(name, model)] = float(line.rpartition(" ")[2])
        return values

    def processes(self) -> list[int]:
        """Live processes started from this server's backend directory (its python stubs)."""
        marker = str(self._backends).encode()
        found = []
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
        return found

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def _stop(self, sig: signal.Signals) -> None:
        """`sig` to the server, then whatever is left of its process group (the stubs) is
        killed: a server killed outright never stops them."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def _answers(self, path: str) -> bool:
        try:
            return httpx.get(self.http_url + path, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _repository_call(self, model: str, action: str) -> None:
        url = f"{self.http_url}/v2/repository/models/{model}/{action}"
        reply = httpx.post(url, json={}, timeout=STARTUP_TIMEOUT_SECONDS)
        if reply.status_code != 200:
            raise TritonServerError(f"{action} {model}: {reply.status_code} {reply.text}")

    def _command(self) -> list[str]:
        return [
            str(self._install.server),
            f"--model-repository={self.repository}",
            f"--backend-directory={self._backends}",
            "--model-control-mode=explicit",
            f"--load-model={ENSEMBLE}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--exit-timeout-secs=2",
        ]

    def _env(self) -> dict[str, Any]:
        stub_bin = STUB_PYTHON / "bin"
        if not (stub_bin / "python").exists():
            raise TritonServerError(f"{STUB_PYTHON} is missing: run `make install`")
        libraries = [str(sysconfig.get_config_var("LIBDIR")), str(self._install.libraries)]
        inherited = os.environ.get("LD_LIBRARY_PATH")
        return {
            **os.environ,
            "PATH": f"{stub_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "LD_LIBRARY_PATH": os.pathsep.join([*libraries, *([inherited] if inherited else [])]),
        }


@contextmanager
def running_triton(workdir: Path, *, start: bool = True) -> Iterator[TritonServer]:
    """Ready on exit unless `start` is False (then the caller starts it: a late server)."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = TritonServer(TritonInstall.find(), prepare_repository(workdir), workdir)
    try:
        if start:
            server.start()
        yield server
    finally:
        server.stop()
