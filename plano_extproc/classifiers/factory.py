"""Builds the classifier named by `routing.classifier`."""

from __future__ import annotations

from plano_extproc.classifiers.arch_router.openai_compat import OpenAICompatibleClassifier
from plano_extproc.classifiers.base import Classifier
from plano_extproc.classifiers.lexical import LexicalClassifier
from plano_extproc.config.model import ClassifierSettings, ClassifierType, Route, TritonSettings


class UnavailableClassifier(Exception):
    """The configured classifier type cannot be built in this installation."""


def build_classifier(settings: ClassifierSettings, routes: tuple[Route, ...] = ()) -> Classifier:
    """`routes` (the config's) let a classifier prepare them at start."""
    if settings.type is ClassifierType.EMBEDDED:
        # Imported here: ONNX Runtime and the model are loaded only when this type is used.
        from plano_extproc.classifiers.embedded import EmbeddedClassifier

        return EmbeddedClassifier(settings.threshold, routes)
    if settings.type is ClassifierType.LEXICAL:
        return LexicalClassifier(settings.threshold)
    if settings.type is ClassifierType.OPENAI and settings.openai is not None:
        return OpenAICompatibleClassifier(settings.openai)
    if settings.type is ClassifierType.TRITON and settings.triton is not None:
        return _triton_classifier(settings.triton, settings.timeout_ms)
    raise UnavailableClassifier(
        f"routing.classifier.type '{settings.type}' is not available in this build; use 'lexical'"
    )


def _triton_classifier(settings: TritonSettings, timeout_ms: int) -> Classifier:
    # tritonclient is an optional extra; without it the other classifier types still work.
    try:
        from plano_extproc.classifiers.arch_router.triton import TritonClassifier
    except ImportError as error:
        raise UnavailableClassifier(
            "routing.classifier.type 'triton' needs tritonclient: "
            "pip install 'plano-extproc[triton]'"
        ) from error
    return TritonClassifier(settings, timeout_ms)
