from __future__ import annotations

import pytest

from plano_extproc.auth.keys import hash_key
from plano_extproc.config import Config
from plano_extproc.config.exposure import is_loopback, open_listener_warning
from tests.config.support import load

AUTH = f"""\
    auth:
      api_keys:
        - {{name: team-a, key_sha256: {hash_key("pk-test")}}}
"""


def config_on(address: str | None, *, auth: bool = False) -> Config:
    text = "    version: v0.4.0\n"
    if address is not None:
        text += (
            f"    listeners:\n      - {{type: model, name: l, address: '{address}', port: 12000}}\n"
        )
    text += "    model_providers:\n      - {model: openai/gpt-4o, access_key: k}\n"
    return load(text + (AUTH if auth else ""))


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1", "localhost", "LocalHost."],
)
def test_loopback_addresses(address: str) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0", "::", "10.0.0.5", "203.0.113.7", "2001:db8::1", "::ffff:10.0.0.1", "gateway"],
)
def test_addresses_other_hosts_can_reach(address: str) -> None:
    assert not is_loopback(address)


def test_an_open_listener_without_auth_gets_one_warning_naming_it() -> None:
    warning = open_listener_warning(config_on("0.0.0.0"))
    assert warning is not None
    assert warning.startswith("listener 0.0.0.0:12000 accepts requests from any client")
    assert "no `auth` is configured" in warning
    assert "plano-extproc keys --name" in warning
    assert "\n" not in warning


def test_an_ipv6_listener_is_written_with_brackets() -> None:
    warning = open_listener_warning(config_on("::"))
    assert warning is not None
    assert warning.startswith("listener [::]:12000 ")


def test_the_default_listener_binds_every_address() -> None:
    assert open_listener_warning(config_on(None)) is not None


@pytest.mark.parametrize(("address", "auth"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_no_warning_on_loopback_or_with_auth(address: str, *, auth: bool) -> None:
    assert open_listener_warning(config_on(address, auth=auth)) is None
