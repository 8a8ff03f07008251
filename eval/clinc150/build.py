"""Builds the CLINC150 routing task: routes.json, cases_train.jsonl and cases_val.jsonl.

Routes are eight CLINC150 domains described zero-shot: each description is a phrase list
written by hand from the domain's intent names, never from the dataset's utterances. Cases are
the validation utterances of those domains (gold: the domain) plus those of small_talk, meta and
the out-of-scope validation set (gold: "other"). The training split, built the same way into
cases_train.jsonl, is the one to tune on; validation is only for reporting (see README.md).

    python eval/clinc150/build.py [--dataset DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The checkout sits beside shared/ (./main and ./shared), in CI as on a developer's machine.
DEFAULT_DATASET = HERE.parents[2] / "shared" / "datasets" / "clinc150"
OTHER = "other"
OTHER_DOMAINS = ("small_talk", "meta")

# Written by hand from the domain's intent names in domains.json (never from its utterances),
# in the short topic-list style of a Plano route description.
ROUTE_DESCRIPTIONS = {
    "banking": (
        "personal banking: account balances, transactions and spending history, money transfers, "
        "paying bills, bill balances and due dates, minimum payments, interest rates, PIN "
        "changes, routing numbers, ordering checks, frozen or blocked accounts, reporting fraud"
    ),
    "credit_cards": (
        "credit cards: applying for a new card, application status, credit limits and limit "
        "increases, APR, rewards points and redeeming them, declined cards, lost or damaged "
        "cards, card expiration, replacement cards, international fees, credit scores"
    ),
    "kitchen_and_dining": (
        "cooking and restaurants: recipes, ingredient lists and substitutions, cooking times, "
        "calories and nutrition facts, how long food lasts, meal suggestions, restaurant "
        "suggestions and reviews, making, confirming or cancelling reservations, how busy a "
        "restaurant is, whether it accepts reservations"
    ),
    "home": (
        "home assistant tasks: playing music, naming the current song, next song, playlists, "
        "reminders, to-do lists, shopping lists, calendar events, ordering products and order "
        "status, smart home devices like lights, thermostats and locks"
    ),
    "auto_and_commute": (
        "cars and commuting: directions, distance and travel time, traffic, calling an uber, "
        "gas level, gas type and mpg, oil changes, tire pressure and tire changes, dead "
        "batteries and jump starts, scheduling maintenance, last maintenance, current location"
    ),
    "travel": (
        "travel: booking flights, hotels and car rentals, flight status, lost luggage, carry-on "
        "rules, international visas, vaccines, travel alerts and notifications, travel "
        "suggestions, timezones, exchange rates, plug types, translating phrases"
    ),
    "utility": (
        "quick utilities: weather, current time and date, alarms, timers, calculator, "
        "measurement conversion, definitions, spelling, making calls, sending texts, finding "
        "my phone, sharing my location, flipping a coin, rolling dice"
    ),
    "work": (
        "work and HR: PTO requests, PTO balance and PTO used, request status, next holiday, "
        "payday, income, direct deposit, taxes and W-2 forms, 401k rollover, insurance and "
        "changing insurance, meeting schedule and scheduling meetings"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    domains = json.loads((args.dataset / "domains.json").read_text())
    data = json.loads((args.dataset / "clinc150_train_val.json").read_text())
    routes = [{"name": name, "description": text} for name, text in ROUTE_DESCRIPTIONS.items()]
    _write_json(HERE / "routes.json", routes)
    written = {
        split: _write_cases(HERE / f"cases_{split}.jsonl", _cases(domains, data, split))
        for split in ("train", "val")
    }
    print(f"wrote {len(routes)} routes and {written} cases to {HERE}")


def _cases(
    domains: dict[str, list[str]], data: dict[str, list[list[str]]], split: str
) -> Iterator[dict]:
    gold_by_intent = {intent: name for name in ROUTE_DESCRIPTIONS for intent in domains[name]}
    gold_by_intent |= {intent: OTHER for name in OTHER_DOMAINS for intent in domains[name]}
    for text, intent in data[split] + data[f"oos_{split}"]:
        gold = OTHER if intent == "oos" else gold_by_intent.get(intent)
        if gold is not None:
            yield {"messages": [{"role": "user", "content": text}], "gold": gold}


def _write_cases(path: Path, cases: Iterator[dict]) -> int:
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
