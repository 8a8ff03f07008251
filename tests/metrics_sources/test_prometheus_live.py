"""The latency source against a real Prometheus scraping a local /metrics endpoint."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from plano_extproc.config.model import PrometheusLatencySource, SelectionPolicy
from plano_extproc.metrics_sources import FetchTimeouts, MetricsStore
from plano_extproc.routing.ranking import rank
from tests.metrics_sources.conftest import StubServer, free_port

PROMETHEUS = shutil.which("prometheus")
QUERY = "model_latency_p95_seconds"
GPT = "openai/gpt-4o"
CLAUDE = "anthropic/claude-sonnet-4-20250514"
STARTUP_BOUND = 60.0
EXPOSITION = "text/plain; version=0.0.4"

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(PROMETHEUS is None, reason="needs the prometheus binary"),
]


def exposition(**latencies: float) -> str:
    lines = [f"# TYPE {QUERY} gauge"]
    lines += [f'{QUERY}{{model_name="{model}"}} {value}' for model, value in latencies.items()]
    return "\n".join(lines) + "\n"


def serve_latencies(stub: StubServer, latencies: dict[str, float]) -> None:
    stub.reply("/metrics", exposition(**latencies), content_type=EXPOSITION)


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_BOUND
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"prometheus: no {what} within {STARTUP_BOUND}s")
        time.sleep(0.2)


def answers(url: str, check: Callable[[httpx.Response], bool]) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return check(httpx.get(url, timeout=2.0))
        except httpx.HTTPError:
            return False

    return probe


def has_series(response: httpx.Response) -> bool:
    return response.is_success and len(response.json()["data"]["result"]) == 2


@pytest.fixture
def prometheus_url(stub: StubServer, tmp_path: Path) -> Iterator[str]:
    assert PROMETHEUS is not None
    serve_latencies(stub, {GPT: 1.2, CLAUDE: 0.85})
    target = stub.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: models\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    address = f"127.0.0.1:{free_port()}"
    log_file = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={address}",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{address}"
    try:
        wait_for(answers(f"{url}/-/ready", lambda r: r.is_success), "readiness", process)
        query_url = f"{url}/api/v1/query?query={QUERY}"
        wait_for(answers(query_url, has_series), "scraped series", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


async def test_latency_source_reads_real_prometheus(stub: StubServer, prometheus_url: str) -> None:
    source = PrometheusLatencySource(url=prometheus_url, query=QUERY, refresh_interval=0.2)
    store = MetricsStore(latency_source=source, timeouts=FetchTimeouts(connect=2.0, total=5.0))
    await store.start()
    try:
        assert store.latency(GPT) == 1.2
        assert store.latency(CLAUDE) == 0.85
        assert rank((GPT, CLAUDE), SelectionPolicy.FASTEST, store) == (CLAUDE, GPT)

        serve_latencies(stub, {GPT: 0.4, CLAUDE: 0.85})
        async with asyncio.timeout(STARTUP_BOUND):
            while store.latency(GPT) != 0.4:  # noqa: ASYNC110 - refreshed by the store's loop
                await asyncio.sleep(0.1)
        assert rank((GPT, CLAUDE), SelectionPolicy.FASTEST, store) == (GPT, CLAUDE)
    finally:
        await store.close()
