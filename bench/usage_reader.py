"""What reading an answer's usage costs (`plano_extproc.wire.usage`): µs per chunk of a
typical stream of each API, one event per chunk as a provider flushes them, and µs per JSON
answer. The translator's cost per chunk, for the APIs it reads, is printed beside it for scale.

    python bench/usage_reader.py [--pieces 300] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire import Translation, stream_translator, usage_reader
from tests.support.upstream_payloads import Api, json_body, stream_content_type, stream_frames

# Each answer's API as the reader is given it, and a translation that reads that API, if any.
CASES: dict[Api, tuple[ClientApi | ProviderApi, Translation | None]] = {
    Api.CHAT: (ClientApi.CHAT, Translation.MESSAGES_TO_OPENAI),
    Api.MESSAGES: (ClientApi.MESSAGES, Translation.CHAT_TO_ANTHROPIC),
    Api.RESPONSES: (ClientApi.RESPONSES, None),
    Api.BEDROCK: (ProviderApi.BEDROCK, Translation.CHAT_TO_BEDROCK),
}
PROMPT_BYTES = 4000


def stream_chunks(api: Api, pieces: tuple[str, ...]) -> list[bytes]:
    frames = stream_frames(api, "bench", "model", pieces, PROMPT_BYTES)
    if api is not Api.CHAT:
        return list(frames.all())
    # As asked for with stream_options.include_usage: a usage chunk before [DONE].
    usage = {"prompt_tokens": 1000, "completion_tokens": len(pieces), "total_tokens": 0}
    usage_chunk = b"data: " + orjson.dumps({"choices": [], "usage": usage}) + b"\n\n"
    *body, done = frames.all()
    return [*body, usage_chunk, done]


def median_time(repeat: int, run: Callable[..., object], *args: object) -> float:
    """The median of `repeat` runs of `run(*args)`, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_usage(api: ClientApi | ProviderApi, content_type: str, chunks: list[bytes]) -> object:
    reader = usage_reader(api, stream=True, content_type=content_type)
    for chunk in chunks:
        reader.feed(chunk)
    usage = reader.finish()
    assert usage is not None
    return usage


def translate(translation: Translation, chunks: list[bytes]) -> object:
    translator = stream_translator(translation, created=0)
    return [translator.feed(chunk) for chunk in chunks] + [translator.finish()]


def read_json(api: ClientApi | ProviderApi, body: bytes) -> object:
    reader = usage_reader(api, stream=False, content_type="application/json")
    reader.feed(body)
    return reader.finish()


def row(api: Api, pieces: tuple[str, ...], repeat: int) -> str:
    reader_api, translation = CASES[api]
    chunks = stream_chunks(api, pieces)
    usage = median_time(repeat, read_usage, reader_api, stream_content_type(api), chunks)
    translated = "-"
    if translation is not None:
        seconds = median_time(repeat, translate, translation, chunks)
        translated = f"{seconds / len(chunks) * 1e6:.2f}"
    body = orjson.dumps(json_body(api, "bench", "model", pieces, PROMPT_BYTES))
    answer = median_time(repeat, read_json, reader_api, body)
    return (
        f"{api.value:<10} {len(chunks):>6} {usage / len(chunks) * 1e6:>15.2f}"
        f" {translated:>19} {answer * 1e6:>15.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=300, help="text deltas per stream")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    pieces = tuple(f" word{i % 10}" for i in range(args.pieces))
    print(f"{'api':<10} {'chunks':>6} {'usage µs/chunk':>15} {'translate µs/chunk':>19}", end="")
    print(f" {'JSON µs/answer':>15}")
    for api in CASES:
        print(row(api, pieces, args.repeat))


if __name__ == "__main__":
    main()
