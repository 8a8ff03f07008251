"""`plano-extproc health` against a real worker, and against nothing."""

from __future__ import annotations

import asyncio

from plano_extproc.cli.main import main
from plano_extproc.config import load_config_text
from plano_extproc.server import serve
from tests.extproc.conftest import CONFIG, ENV
from tests.test_server import free_port


async def test_serving_worker_is_healthy_and_a_missing_one_is_not() -> None:
    config = load_config_text(CONFIG, ENV, require_keys=False)
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(config, port=port, stop=stop, drain_seconds=1))
    try:
        for _ in range(200):
            if (
                await asyncio.to_thread(main, ["health", "--port", str(port), "--timeout", "1"])
                == 0
            ):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker never reported SERVING")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await asyncio.to_thread(main, ["health", "--port", str(port), "--timeout", "1"]) == 1
