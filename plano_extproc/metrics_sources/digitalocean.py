"""`digitalocean_pricing`: cost from DigitalOcean's public Gen-AI model catalog (no auth).

Each priced entry (``data[].model_id``, ``data[].creator``,
``data[].pricing.{input,output}_price_per_million``) costs input + output and is published
under its raw ``model_id`` and under ``lowercase(creator)/model_id``. The source's
``model_aliases`` map, as in Plano, a catalog name (either form) to a config model:
``{"anthropic-claude-4.5-sonnet": "anthropic/claude-sonnet-4-5"}``; the config loader warns
about aliases whose target is not a declared model.
Entries with no ``pricing`` at all (not sold per token) are left out silently.
The catalog is paginated; ``links.pages.next`` is followed for up to `MAX_PAGES` pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import urljoin

import httpx

from plano_extproc.config.model import DigitalOceanPricingSource
from plano_extproc.metrics_sources.fetch import (
    MetricsSourceError,
    SourceData,
    get_json,
    price_sum,
)

MAX_PAGES = 20


async def fetch_digitalocean_costs(
    source: DigitalOceanPricingSource, client: httpx.AsyncClient
) -> SourceData:
    entries: list[object] = []
    url: str | None = source.url
    seen: set[str] = set()
    while url is not None and url not in seen and len(seen) < MAX_PAGES:
        seen.add(url)
        page_entries, next_page = _catalog_page(await get_json(client, url))
        entries.extend(page_entries)
        url = urljoin(url, next_page) if next_page else None
    return parse_catalog(entries, source.model_aliases)


def parse_catalog(entries: list[object], aliases: Mapping[str, str]) -> SourceData:
    costs: dict[str, float] = {}
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        model_id = entry.get("model_id") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(model_id, str) or not model_id:
            skipped.append(f"data[{index}]")
            continue
        if entry.get("pricing") is None:
            continue
        cost = price_sum(entry["pricing"], "input_price_per_million", "output_price_per_million")
        if cost is None:
            skipped.append(model_id)
            continue
        for name in _catalog_names(model_id, entry.get("creator")):
            costs[name] = cost
    return SourceData(_with_aliases(costs, aliases), tuple(skipped))


def _catalog_page(payload: object) -> tuple[list[object], str | None]:
    """The page's entries and the (possibly relative) address of the next page."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise MetricsSourceError("digitalocean catalog: expected an object with a 'data' list")
    links = payload.get("links")
    pages = links.get("pages") if isinstance(links, dict) else None
    next_page = pages.get("next") if isinstance(pages, dict) else None
    return payload["data"], next_page if isinstance(next_page, str) and next_page else None


def _catalog_names(model_id: str, creator: object) -> Iterator[str]:
    yield model_id
    if isinstance(creator, str) and creator:
        yield f"{creator.lower()}/{model_id}"


def _with_aliases(costs: dict[str, float], aliases: Mapping[str, str]) -> dict[str, float]:
    named = dict(costs)
    for catalog_name, model in aliases.items():
        if catalog_name in costs:
            named[model] = costs[catalog_name]
    return named
