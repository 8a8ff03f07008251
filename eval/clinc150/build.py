"""Builds the CLINC150 routing task: routes.json and cases_val.jsonl (see README.md).

Routes are eight CLINC150 domains described zero-shot: each description is a phrase list
written by hand from the domain's intent names, never from the dataset's utterances. Cases are
the validation utterances of those domains (gold: the domain) plus those of small_talk, meta and
the out-of-scope validation set (gold: "other").

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

# One phrase per intent at least, in the domain's order in domains.json.
ROUTE_DESCRIPTIONS = {
    "banking": (
        "freezing my bank account, locking my account, the routing number of my bank, "
        "changing my PIN, setting a new PIN number, when my bill is due, the due date of a bill, "
        "paying a bill, paying my electricity bill, my bank account is blocked, "
        "why my account is locked, the interest rate on my savings account, "
        "the minimum payment due, how much I owe on a bill, my bill balance, "
        "transferring money between accounts, sending money to someone, ordering new checks, "
        "my bank account balance, how much money I have in checking, my spending history, "
        "how much I spent on something last month, recent transactions on my account, "
        "reporting fraud on my bank account, someone took money from my account"
    ),
    "credit_cards": (
        "how long until my replacement card arrives, when my credit card expires, "
        "the expiration date of my card, my credit card is damaged, my card is broken, "
        "improving my credit score, reporting a lost credit card, my card was stolen, "
        "my card was declined, why my card got rejected, raising my credit limit, "
        "the APR on my credit card, redeeming credit card rewards points, "
        "what my credit limit is, how many rewards points I have, "
        "the status of my credit card application, checking my credit score, "
        "applying for a new credit card, foreign transaction fees on my card"
    ),
    "kitchen_and_dining": (
        "how long food keeps in the fridge, how long chicken lasts before it goes bad, "
        "confirming my restaurant reservation, how busy a restaurant is, "
        "the wait time to be seated at a restaurant, the ingredients of a dish, "
        "what I need to make a recipe, how many calories are in a food, "
        "the nutrition facts of a food, how healthy a food is, a recipe for a dish, "
        "how to cook a meal, reviews of a restaurant, whether a restaurant is any good, "
        "booking a table at a restaurant, making a dinner reservation, "
        "suggesting a meal for dinner, recommending a good restaurant nearby, "
        "cancelling my restaurant reservation, substituting one ingredient for another, "
        "using butter instead of oil in a recipe, what I can use in place of eggs, "
        "how long to cook something, baking time and oven temperature, "
        "whether a restaurant takes reservations"
    ),
    "home": (
        "what song is playing, playing music, putting on a song by an artist, "
        "adding a task to my to-do list, my reminders, setting a reminder, "
        "remind me to do something, adding an event to my calendar, "
        "the status of my online order, when my package will arrive, "
        "adding a song to my playlist, my shopping list, what is on my calendar, "
        "skipping to the next song, ordering more paper towels, reordering something from amazon, "
        "my to-do list, adding items to my grocery list, "
        "turning the lights on, setting the thermostat, smart home devices, "
        "locking the doors at home"
    ),
    "auto_and_commute": (
        "my current location, where am I right now, when my car needs an oil change, "
        "how to change the oil in my car, calling an uber, getting a ride somewhere, "
        "traffic on my commute, the traffic on the highway, my car's tire pressure, "
        "scheduling car maintenance, booking a car service appointment, "
        "how much gas is left in my car, my car's gas mileage, miles per gallon, "
        "how long it takes to drive somewhere, the distance to a place, "
        "directions to a place, how do I get to the train station, "
        "where is the nearest bus stop, when my car was last serviced, "
        "what type of gas my car takes, changing a flat tire, when to replace my tires, "
        "jump starting a dead car battery"
    ),
    "travel": (
        "what plug adapter I need in another country, "
        "telling my bank I am traveling abroad, translating a phrase into another language, "
        "how to say something in Spanish, the status of my flight, whether my flight is delayed, "
        "whether I need a visa to visit a country, the time zone of a city, "
        "the currency exchange rate, converting dollars to euros, "
        "suggestions for a vacation destination, places to visit on a trip, "
        "travel warnings for a country, whether it is safe to travel there, "
        "vaccines needed before a trip, my luggage was lost, the airline lost my bag, "
        "booking a flight, buying plane tickets, booking a hotel room, "
        "a hotel reservation for my trip, carry-on baggage rules, "
        "what I can bring on a plane, renting a car"
    ),
    "utility": (
        "the weather forecast, whether it will rain, setting an alarm, wake me up at a time, "
        "today's date, what day it is, finding my lost phone, sharing my location with someone, "
        "setting a timer, making a phone call, calling someone, "
        "doing a math calculation, solving a math problem, multiplying two numbers, "
        "a percentage of a number, the definition of a word, define a word, "
        "what does this word mean, converting units of measurement, "
        "how many ounces are in a cup, celsius to fahrenheit, "
        "flipping a coin, how to spell a word, the current time, what time it is, "
        "rolling dice, sending a text message to someone, text my friend"
    ),
    "work": (
        "the status of my time off request, the next company holiday, "
        "changing my health insurance plan, my health insurance benefits, "
        "my meetings today, when I get paid, when payday is, filing my taxes, "
        "my salary, how much I earn, rolling over my 401k, "
        "how many vacation days I have left, my PTO balance, "
        "requesting days off from work, asking my boss for vacation time, "
        "getting my W-2 tax form, scheduling a meeting with coworkers, "
        "setting up direct deposit of my paycheck, how many vacation days I used"
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
    cases = list(_val_cases(domains, data))
    lines = (json.dumps(case, ensure_ascii=False) for case in cases)
    (HERE / "cases_val.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(routes)} routes and {len(cases)} cases to {HERE}")


def _val_cases(domains: dict[str, list[str]], data: dict[str, list[list[str]]]) -> Iterator[dict]:
    gold_by_intent = {intent: name for name in ROUTE_DESCRIPTIONS for intent in domains[name]}
    gold_by_intent |= {intent: OTHER for name in OTHER_DOMAINS for intent in domains[name]}
    for text, intent in data["val"] + data["oos_val"]:
        gold = OTHER if intent == "oos" else gold_by_intent.get(intent)
        if gold is not None:
            yield {"messages": [{"role": "user", "content": text}], "gold": gold}


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
