"""Generates the Python stubs of proto/ with grpcio-tools (`make proto`).

Each top folder of proto/ is generated into the package that owns it:
- `proto/plano/` (the gRPC decision API) into plano_extproc/grpc_api/generated;
- `proto/envoy/` (Envoy's ext_proc protocol, as the service speaks it) into
  plano_extproc/extproc/generated.

The output is committed, so installing the package needs no code generator;
tests/test_protogen.py regenerates into a temporary directory and fails when the committed stubs
drift from the .proto files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import MappingProxyType

from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "proto"
# proto/<top folder> → where its stubs go. The .proto files are mapped under that import path,
# so the generated modules import one another as e.g.
# plano_extproc.grpc_api.generated.plano.routing.v1, and their descriptor file names cannot
# collide with another package's copy of the same protocol.
IMPORT_PREFIXES = MappingProxyType(
    {
        "plano": "plano_extproc/grpc_api/generated",
        "envoy": "plano_extproc/extproc/generated",
    }
)


def _protoc(output_root: Path, prefix: str, proto: Path) -> None:
    include = protoc._get_resource_file_name("grpc_tools", "_proto")  # type: ignore[attr-defined]
    virtual = f"{prefix}/{proto.relative_to(PROTO_ROOT).as_posix()}"
    args = [
        "protoc",
        f"-I{prefix}={PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        virtual,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto}")


def _add_package_markers(output_root: Path, generated: list[Path]) -> None:
    for directory in {path.parent for path in generated}:
        for package in (directory, *directory.parents):
            if package == output_root or output_root not in package.parents:
                break
            (package / "__init__.py").touch()


def generate(output_root: Path) -> list[Path]:
    """Writes the stubs below `output_root` (a directory standing for the repository root)."""
    for proto in sorted(PROTO_ROOT.rglob("*.proto")):
        top = proto.relative_to(PROTO_ROOT).parts[0]
        if top not in IMPORT_PREFIXES:
            raise RuntimeError(f"{proto}: no target package for proto/{top}/ in IMPORT_PREFIXES")
        _protoc(output_root, IMPORT_PREFIXES[top], proto)
    generated = sorted(
        path
        for prefix in IMPORT_PREFIXES.values()
        for path in (output_root / prefix).rglob("*.py*")
    )
    _add_package_markers(output_root, generated)
    return generated


if __name__ == "__main__":
    for path in generate(REPO):
        print(path.relative_to(REPO))
    sys.exit(0)
