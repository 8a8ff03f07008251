"""`plano-extproc keys --name NAME`: make a gateway API key and its `auth.api_keys` entry.

The key goes to stdout once and nowhere else (no log, no stderr): the config stores only its
sha256, so it cannot be shown again. `--hash` reads a key someone already holds from stdin
(unechoed on a terminal) and prints only its entry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import re
import sys
from typing import Any

import yaml

from plano_extproc.auth.keys import MAX_KEY_CHARS, hash_key, new_key
from plano_extproc.config.auth import IDENTITY_NAME, IDENTITY_NAME_RULE

# Where an entry goes in a config laid out as `auth:` / `  api_keys:` / `    - name: ...`.
ENTRY_INDENT = "    "
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# What a client can send in an Authorization or x-api-key header: visible ASCII.
_KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")
_USAGE_ERROR = 2


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "keys",
        help="make a gateway API key and print its auth.api_keys entry",
        description="Prints a new key (shown only this once) and the config entry holding its "
        "sha256. With --hash, reads an existing key from stdin and prints only its entry.",
    )
    command.add_argument("--name", required=True, type=_identity, help="the key's identity")
    command.add_argument(
        "--team", type=_identity, help="its team (in the access log and decision spans)"
    )
    command.add_argument(
        "--models",
        action="append",
        default=[],
        type=_model_names,
        help="a model or alias it may use (repeatable, or a comma list); default: every model",
    )
    command.add_argument("--expires", type=_expiry, help="the last day it works (UTC), YYYY-MM-DD")
    command.add_argument(
        "--hash", action="store_true", help="read an existing key from stdin; print its entry"
    )
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Each --models gave a list; repeats dropped, the order kept.
    models = list(dict.fromkeys(model for names in args.models for model in names))
    if args.hash:
        key = _read_key()
        if key is None:
            return _USAGE_ERROR
        print(entry_yaml(args.name, hash_key(key), args.team, models, args.expires), end="")
        return 0
    key = new_key()
    entry = entry_yaml(args.name, hash_key(key), args.team, models, args.expires)
    print(f"API key for {args.name}, shown only this once (the config stores only its sha256):")
    print(f"\n  {key}\n")
    print("Clients send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
    print("Paste this entry under auth.api_keys in your config:\n")
    print(entry, end="")
    return 0


def entry_yaml(
    name: str,
    digest: str,
    team: str | None,
    models: list[str],
    expires: dt.date | None,
) -> str:
    """The entry as YAML lines, indented to sit under `  api_keys:`."""
    entry: dict[str, Any] = {"name": name, "key_sha256": digest}
    if team is not None:
        entry["team"] = team
    if models:
        entry["models"] = _FlowList(models)
    if expires is not None:
        entry["expires"] = expires
    # The safe dumper quotes whatever YAML would misread (a model named `yes`, a team `1.0`).
    text = yaml.dump([entry], Dumper=_EntryDumper, sort_keys=False, width=1_000)
    return "".join(ENTRY_INDENT + line for line in text.splitlines(keepends=True))


class _FlowList(list[str]):
    """Written `[a, b]`, on the entry's own line."""


class _EntryDumper(yaml.SafeDumper):
    def represent_flow_list(self, value: _FlowList) -> yaml.Node:
        return self.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_EntryDumper.add_representer(_FlowList, _EntryDumper.represent_flow_list)


def _identity(text: str) -> str:
    if not IDENTITY_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"'{text}' must be {IDENTITY_NAME_RULE}")
    return text


def _expiry(text: str) -> dt.date:
    try:
        # fromisoformat alone also takes 20270630 and week dates; the config writes YYYY-MM-DD.
        if not _DATE.fullmatch(text):
            raise ValueError
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is no date such as 2027-06-30") from None
    if day < dt.datetime.now(dt.UTC).date():
        raise argparse.ArgumentTypeError(f"{text} is in the past")
    return day


def _model_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"'{text}' holds an empty model name")
    return names


def _read_key() -> str | None:
    """The key from stdin, unechoed on a terminal. Errors never repeat what was read."""
    tty = sys.stdin.isatty()
    key = (getpass.getpass("API key (not echoed): ") if tty else sys.stdin.read()).strip()
    if not key:
        print("keys --hash: no key on stdin", file=sys.stderr)
        return None
    if len(key) > MAX_KEY_CHARS or not _KEY_CHARACTERS.fullmatch(key):
        print(
            f"keys --hash: a key is one line of at most {MAX_KEY_CHARS} visible ASCII "
            "characters (no spaces), as a client sends it in a header",
            file=sys.stderr,
        )
        return None
    return key
