"""A tiny routing dataset on disk, for the loader, runner and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

ROUTES = [
    {
        "name": "code",
        "description": "writing code, functions and scripts",
        "examples": ["Write a Python function"],
    },
    {
        "name": "translation",
        "description": "translating text between languages",
        "examples": ["Translate this into French"],
    },
]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


# The lexical classifier (default threshold) gets every case right but the last.
CASES = [
    {"messages": [user("Write a Python function that adds two numbers")], "gold": "code"},
    {"messages": [user("Translate good morning into French")], "gold": "translation"},
    {"messages": [user("hello there")], "gold": "other"},
    {
        "messages": [
            {"role": "system", "content": "You write Python code."},
            user("Translate hello into German"),
            {"role": "assistant", "content": "Hallo"},
            user("and Spanish?"),
        ],
        "gold": "translation",
    },
    # Shares no word with the code route, so lexical answers other.
    {"messages": [user("Implement quicksort in Go")], "gold": "code"},
]


def write_json_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_dataset(directory: Path) -> tuple[Path, Path]:
    routes = directory / "routes.json"
    routes.write_text(json.dumps(ROUTES))
    return routes, write_json_lines(directory / "cases.jsonl", list(CASES))
