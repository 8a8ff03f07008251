"""`plano-extproc fetch-archive`: the chart's Triton init container."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plano_extproc.cli.main import main


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, the folder it serves)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def publish(root: Path, name: str, members: dict[str, bytes]) -> str:
    data = tar_gz(members)
    (root / name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_unpacks_an_archive_whose_digest_matches(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    digest = publish(root, "repo.tar.gz", {"model_repository/arch_router/config.pbtxt": b"name"})
    into = tmp_path / "models"
    assert (
        main(["fetch-archive", f"{base}/repo.tar.gz", "--sha256", digest, "--into", str(into)]) == 0
    )
    assert (into / "model_repository/arch_router/config.pbtxt").read_bytes() == b"name"
    assert sorted(p.name for p in into.iterdir()) == ["model_repository"]


def test_a_wrong_digest_unpacks_nothing(
    served: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = served
    publish(root, "repo.tar.gz", {"a.txt": b"a"})
    into = tmp_path / "models"
    status = main(
        ["fetch-archive", f"{base}/repo.tar.gz", "--sha256", "0" * 64, "--into", str(into)]
    )
    assert status == 1
    assert "expected 000" in capsys.readouterr().err
    assert list(into.iterdir()) == []


def test_members_outside_the_folder_are_refused(
    served: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = served
    digest = publish(root, "evil.tar.gz", {"../escape.txt": b"x"})
    into = tmp_path / "models"
    status = main(["fetch-archive", f"{base}/evil.tar.gz", "--sha256", digest, "--into", str(into)])
    assert status == 1
    assert not (tmp_path / "escape.txt").exists()
    assert "outside" in capsys.readouterr().err


def test_a_missing_file_or_another_scheme_fails(
    served: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = served
    into = str(tmp_path / "models")
    assert main(["fetch-archive", f"{base}/nope.tar.gz", "--sha256", "0", "--into", into]) == 1
    assert "404" in capsys.readouterr().err
    assert main(["fetch-archive", "file:///etc/passwd", "--sha256", "0", "--into", into]) == 1
    assert "only http" in capsys.readouterr().err
