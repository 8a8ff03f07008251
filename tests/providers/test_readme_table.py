"""README's provider table says what the provider table does (one row per provider)."""

from __future__ import annotations

from pathlib import Path

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.paths import provider_path
from plano_extproc.providers.registry import ALIASES, FAMILIES, ProviderApi, ProviderFamily

README = Path(__file__).resolve().parents[2] / "README.md"
_API_NAMES = {
    ClientApi.CHAT: "Chat Completions",
    ClientApi.MESSAGES: "Messages",
    ClientApi.RESPONSES: "Responses",
}


def _upstream(family: ProviderFamily, client: ClientApi) -> str:
    if client in family.serves:
        return _API_NAMES[client]
    if family.native_api is ProviderApi.BEDROCK:
        return "Converse"
    return _API_NAMES[ClientApi.CHAT]


def _row(family: ProviderFamily) -> str:
    aliases = sorted(alias for alias, name in ALIASES.items() if name == family.name)
    prefix = ", ".join(f"`{name}/`" for name in (family.name, *aliases))
    base_url = "required" if family.needs_base_url else f"optional ({family.endpoint})"
    apis = " / ".join(_upstream(family, client) for client in _API_NAMES)
    path = provider_path(family, "", ClientApi.CHAT, model="{model}", stream=False)
    path = path.replace("/converse", "/converse[-stream]")
    credential = (
        "`x-api-key` on Messages, else bearer"
        if ClientApi.MESSAGES in family.serves
        else ("`authorization: Bearer`")
    )
    return f"| {prefix} | {base_url} | `{path}` | {apis} | {credential} |"


def test_readme_has_a_row_for_every_provider() -> None:
    text = README.read_text()
    missing = [family.name for family in FAMILIES.values() if _row(family) not in text]
    assert not missing, "\n".join(_row(FAMILIES[name]) for name in missing)
