"""Tunes the embedded classifier's two constants on the tuning sets, never on reported ones.

The sets are CLINC150's training split (`eval/clinc150/cases_train.jsonl`, a sample) and the
hand-written `eval/tuning/llm_apps` set. Every case is embedded once with the production
encoder and route index; then each (min_z, other_margin) pair of the grid is scored. The pair
with the best mean accuracy over the sets is printed last; copy it into
`plano_extproc/classifiers/embedded.py` (DEFAULT_MIN_Z, DEFAULT_OTHER_MARGIN).

    python eval/tuning/tune.py [--sample 3000]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from plano_extproc.classifiers.embedded import (
    build_query,
    embedded_background,
    embedded_conversation,
)
from plano_extproc.classifiers.encoder import load_encoder
from plano_extproc.classifiers.route_index import Calibration, RouteIndex, route_texts
from plano_extproc.eval.dataset import load_cases, load_routes

EVAL = Path(__file__).resolve().parents[1]
SETS = {
    "clinc150_train": (EVAL / "clinc150/routes.json", EVAL / "clinc150/cases_train.jsonl"),
    "tuning_llm_apps": (EVAL / "tuning/llm_apps/routes.json", EVAL / "tuning/llm_apps/cases.jsonl"),
}
MIN_Z = np.round(np.arange(0.5, 3.01, 0.1), 2)
OTHER_MARGIN = np.round(np.arange(-2.0, 1.01, 0.25), 2)


def _score(name: str, sample: int):  # type: ignore[no-untyped-def]
    """A function of (min_z, other_margin) → (accuracy, other F1) for one set."""
    routes_path, cases_path = SETS[name]
    routes = load_routes(routes_path)
    cases = load_cases(cases_path, routes)
    if len(cases) > sample:
        random.Random(7).shuffle(cases)
        cases = cases[:sample]
    encoder = load_encoder()
    background = embedded_background(encoder)
    texts = [route_texts(route) for route in routes]
    flat = [text for group in texts for text in group]
    index = RouteIndex.build(routes, texts, encoder.encode(flat), background)
    queries = np.stack([_query_vector(encoder, case.messages) for case in cases])
    scores = index.scores(queries, [_query_terms(case.messages) for case in cases])
    other_z = embedded_conversation(encoder, background).z_scores(queries)
    gold = [case.gold or "other" for case in cases]

    def accuracy(min_z: float, margin: float) -> tuple[float, float]:
        best, taken = scores.choose(other_z, Calibration(min_z, margin))
        predicted = [index.names[b] if t else "other" for b, t in zip(best, taken, strict=True)]
        pairs = list(zip(predicted, gold, strict=True))
        tp = sum(p == g == "other" for p, g in pairs)
        fp = sum(p == "other" != g for p, g in pairs)
        fn = sum(g == "other" != p for p, g in pairs)
        return float(np.mean([p == g for p, g in pairs])), 2 * tp / max(1, 2 * tp + fp + fn)

    return accuracy


def _query_vector(encoder, messages) -> np.ndarray:  # type: ignore[no-untyped-def]
    query = build_query(messages)
    if query is None:
        return np.zeros(encoder.dimensions, dtype=np.float32)
    return query.vector(encoder.encode(query.texts))


def _query_terms(messages) -> list[str]:  # type: ignore[no-untyped-def]
    query = build_query(messages)
    return [] if query is None else query.terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=3000, help="cases per set at most")
    args = parser.parse_args()
    scored = {name: _score(name, args.sample) for name in SETS}
    results = []
    for min_z in MIN_Z:
        for margin in OTHER_MARGIN:
            per_set = {name: accuracy(min_z, margin) for name, accuracy in scored.items()}
            mean = float(np.mean([acc for acc, _ in per_set.values()]))
            results.append((mean, min_z, margin, per_set))
    results.sort(key=lambda row: row[0])
    for mean, min_z, margin, per_set in results[-10:]:
        cells = "  ".join(f"{n} {a:.3f}/{f:.3f}" for n, (a, f) in per_set.items())
        print(f"min_z {min_z:.2f} margin {margin:+.3f}  mean acc {mean:.3f}  {cells}")


if __name__ == "__main__":
    main()
