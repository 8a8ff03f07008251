"""`plano-extproc fetch-archive URL --sha256 HEX --into DIR`: download a .tar.gz, check it, unpack.

The Helm chart's Triton init container uses it to put a built Arch-Router model repository on
the pod's volume. Nothing is unpacked unless the whole download matches the digest, and
members that would land outside DIR (absolute paths, `..`, links out) are refused.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60
FAILED_STATUS = 1


class FetchError(Exception):
    pass


def register(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "fetch-archive", help="download a .tar.gz, check its sha256 and unpack it into a folder"
    )
    command.add_argument("url", help="http(s):// URL of a .tar.gz")
    command.add_argument("--sha256", required=True, help="expected digest (hex)")
    command.add_argument("--into", required=True, help="folder to unpack into")
    command.set_defaults(handler=run)


def download(url: str, target: Path) -> str:
    """Streams `url` into `target`; returns the hex sha256 of what was written."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http:// and https:// URLs are fetched")
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as reply,
            target.open("wb") as out,
        ):
            while chunk := reply.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
    except OSError as error:
        raise FetchError(f"{url}: {error}") from error
    return digest.hexdigest()


def unpack(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise FetchError(f"{archive.name}: {error}") from error


def run(args: argparse.Namespace) -> int:
    into = Path(args.into)
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into) as scratch:
        archive = Path(scratch) / "archive.tar.gz"
        try:
            actual = download(args.url, archive)
            if actual != args.sha256.strip().lower():
                raise FetchError(f"{args.url}: sha256 is {actual}, expected {args.sha256}")
            unpack(archive, into)
        except FetchError as error:
            print(error, file=sys.stderr)
            return FAILED_STATUS
    print(f"unpacked {args.url} into {into}")
    return 0
