"""The installed environment is what the dependencies promise, whatever order pip installed them.

Guards against issue 16: xds-protos shipped an old copy of opentelemetry-proto's (and
googleapis-common-protos') modules, and whichever package pip installed last owned the files.
"""

from __future__ import annotations

import importlib.metadata
from collections import defaultdict
from pathlib import Path


def _owners_of_installed_files() -> dict[Path, set[str]]:
    owners: dict[Path, set[str]] = defaultdict(set)
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        for file in distribution.files or ():
            if file.suffix == ".pyc" or file.parts[0].endswith(".dist-info"):
                continue
            owners[Path(distribution.locate_file(file)).resolve()].add(name)
    return owners


def test_no_two_installed_distributions_ship_the_same_file() -> None:
    shared = {path: names for path, names in _owners_of_installed_files().items() if len(names) > 1}
    assert not shared, f"files owned by several distributions (pip order decides): {shared}"


def test_the_envoy_protocol_comes_from_our_own_stubs_not_xds_protos() -> None:
    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    assert "xds-protos" not in installed


def test_the_otlp_exporter_and_its_protos_import() -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

    assert InstrumentationScope(name="plano_extproc.routing").name == "plano_extproc.routing"
    assert OTLPSpanExporter is not None
