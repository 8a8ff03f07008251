"""The benchmark's nginx upstream answers a fixed chat completion that the OpenAI SDK parses."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import openai
import pytest

from tests.support.ports import free_ports
from tests.support.processes import http_ok, managed_process

pytestmark = pytest.mark.e2e

NGINX_UPSTREAM = Path(__file__).parents[2] / "bench" / "nginx_upstream.py"


def test_nginx_upstream_serves_the_fixed_completion(tmp_path: Path) -> None:
    if shutil.which("nginx", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("nginx not installed (apt-get install -y nginx)")
    (port,) = free_ports(1)
    args = [sys.executable, str(NGINX_UPSTREAM), "--port", str(port), "--workdir", str(tmp_path)]
    ready = http_ok(f"http://127.0.0.1:{port}/health")

    with managed_process("nginx", args, tmp_path, ready=ready):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert completion.choices[0].message.content == "Hello from the benchmark upstream."
