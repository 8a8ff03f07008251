"""The committed stubs are what `make proto` makes of proto/ today."""

from __future__ import annotations

from pathlib import Path

from plano_extproc.grpc_api.generate import IMPORT_PREFIX, REPO, generate


def test_committed_stubs_match_the_proto_files(tmp_path: Path) -> None:
    # Regenerate with: make proto
    fresh = generate(tmp_path)
    assert fresh
    for path in fresh:
        committed = REPO / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: make proto"
    names = {p.relative_to(tmp_path / IMPORT_PREFIX) for p in fresh}
    on_disk = {p.relative_to(REPO / IMPORT_PREFIX) for p in (REPO / IMPORT_PREFIX).rglob("*_pb2*")}
    assert on_disk == names
