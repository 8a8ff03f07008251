"""Generates the gRPC stubs of proto/ into plano_extproc/grpc_api/generated (`make proto`).

The output is committed, so installing the package needs no code generator;
tests/grpc_api/test_generated.py regenerates into a temporary directory and fails when the
committed stubs drift from the .proto files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "proto"
OUTPUT = REPO / "plano_extproc" / "grpc_api" / "generated"
# The .proto files are mapped under this import path, so that the generated modules import
# one another as plano_extproc.grpc_api.generated.plano.routing.v1.
IMPORT_PREFIX = "plano_extproc/grpc_api/generated"


def generate(output_root: Path) -> list[Path]:
    """Writes the stubs below `output_root` (a directory standing for the repository root)."""
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    include = protoc._get_resource_file_name("grpc_tools", "_proto")  # type: ignore[attr-defined]
    for proto in protos:
        virtual = f"{IMPORT_PREFIX}/{proto.relative_to(PROTO_ROOT).as_posix()}"
        args = [
            "protoc",
            f"-I{IMPORT_PREFIX}={PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={output_root}",
            f"--pyi_out={output_root}",
            f"--grpc_python_out={output_root}",
            virtual,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {proto}")
    generated = sorted((output_root / IMPORT_PREFIX).rglob("*.py*"))
    for directory in {path.parent for path in generated}:
        for package in (directory, *directory.parents):
            if package == output_root or output_root not in package.parents:
                break
            (package / "__init__.py").touch()
    return generated


if __name__ == "__main__":
    for path in generate(REPO):
        print(path.relative_to(REPO))
    sys.exit(0)
