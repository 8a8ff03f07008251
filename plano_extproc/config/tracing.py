"""The `tracing` section: where spans are exported, and what share of requests is sampled."""

from __future__ import annotations

from plano_extproc.config.environment import Environment
from plano_extproc.config.model import TracingSettings
from plano_extproc.config.reader import Section
from plano_extproc.config.spec import TRACING


def read_tracing(top: Section, env: Environment) -> TracingSettings | None:
    """None when the file has no `tracing`, or samples 0% of requests."""
    section = top.section("tracing", TRACING)
    if section is None:
        return None
    defaults = TracingSettings()
    endpoint = env.http_url(section, "opentracing_grpc_endpoint") or defaults.endpoint
    percent = _sampling_percent(section)
    if percent == 0:
        return None
    sampling = defaults.sampling_percent if percent is None else percent
    return TracingSettings(endpoint=endpoint, sampling_percent=sampling)


def _sampling_percent(section: Section) -> float | None:
    """`random_sampling`; None when it is absent or not a percentage."""
    percent = section.number("random_sampling")
    if percent is not None and not 0 <= percent <= 100:
        section.issues.error(section.where("random_sampling"), "must be a percentage, 0 to 100")
        return None
    return percent
