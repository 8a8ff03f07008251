"""The committed stubs are what `make proto` makes of proto/ today."""

from __future__ import annotations

from pathlib import Path

from plano_extproc.protogen import IMPORT_PREFIXES, REPO, generate


def test_committed_stubs_match_the_proto_files(tmp_path: Path) -> None:
    # Regenerate with: make proto
    fresh = generate(tmp_path)
    assert fresh
    for path in fresh:
        committed = REPO / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: make proto"
    names = {p.relative_to(tmp_path) for p in fresh if "_pb2" in p.name}
    on_disk = {
        p.relative_to(REPO)
        for prefix in IMPORT_PREFIXES.values()
        for p in (REPO / prefix).rglob("*_pb2*")
    }
    assert on_disk == names
    for prefix in IMPORT_PREFIXES.values():
        assert any(p.parts[: len(Path(prefix).parts)] == Path(prefix).parts for p in names), prefix
