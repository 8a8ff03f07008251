"""Run nginx in the foreground as the benchmark's fixed upstream on 127.0.0.1.

    python bench/nginx_upstream.py --port 18080 --workdir /tmp/bench-nginx [--workers 1]

Renders `nginx.conf.template` into WORKDIR (nginx's prefix: pid file and temp dirs live there),
then becomes nginx (`daemon off`), so signals and the exit status are nginx's own.
Needs Debian's `nginx` package.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from string import Template

# `python bench/nginx_upstream.py` puts bench/ on sys.path, not the repo root that holds tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.bedrock_payloads import converse_stream

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
# What a small OpenAI chat completion looks like; the benchmark only needs it to be realistic.
COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the benchmark upstream."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
}
# The same answer as an Anthropic message, for requests the gateway translates to Anthropic.
MESSAGE = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "Hello from the benchmark upstream."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 7},
}


# The Bedrock model whose ConverseStream answer is served: the same answer in one text delta,
# then short deltas as a model streams them, and the usage.
BEDROCK_MODEL = "us.amazon.nova-pro-v1:0"
STREAM_PIECES = ("Hello from the benchmark upstream.", *(f" {word}" for word in "abcdefgh"))


def render(port: int, workdir: Path, workers: int = 1) -> Path:
    """Writes WORKDIR/nginx.conf (and the event stream nginx serves) and returns its path."""
    text = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        user=_same_user(),
        port=port,
        workers=workers,
        completion=_compact(COMPLETION),
        message=_compact(MESSAGE),
        bedrock_model=BEDROCK_MODEL,
    )
    static = workdir / "static"
    static.mkdir(parents=True, exist_ok=True)
    head, deltas, tail = converse_stream(STREAM_PIECES, (12, 9))
    (static / "converse-stream.bin").write_bytes(b"".join((*head, *deltas, *tail)))
    config = workdir / "nginx.conf"
    config.write_text(text, encoding="utf-8")
    return config


def _same_user() -> str:
    """Run as root, nginx's workers become `nobody`, who cannot read the private work
    directory's files: they keep our user instead."""
    return "user root;\n" if os.geteuid() == 0 else ""


def _compact(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


def command(config: Path, workdir: Path) -> list[str]:
    # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if nginx is None:
        raise FileNotFoundError("nginx not found: apt-get install -y nginx")
    # -e: log to stderr from the start, not to the compiled-in /var/log/nginx/error.log.
    return [nginx, "-e", "stderr", "-p", str(workdir), "-c", str(config), "-g", "daemon off;"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    argv_nginx = command(render(args.port, workdir, args.workers), workdir)
    os.execv(argv_nginx[0], argv_nginx)


if __name__ == "__main__":
    sys.exit(main())
