"""Builds the classifier named by `routing.classifier`."""

from __future__ import annotations

from plano_extproc.classifiers.base import Classifier
from plano_extproc.classifiers.lexical import LexicalClassifier
from plano_extproc.classifiers.openai_compat import OpenAICompatibleClassifier
from plano_extproc.config.model import ClassifierSettings, ClassifierType


class UnavailableClassifier(Exception):
    """The configured classifier type cannot be built in this installation."""


def build_classifier(settings: ClassifierSettings) -> Classifier:
    if settings.type is ClassifierType.LEXICAL:
        return LexicalClassifier(settings.threshold)
    if settings.type is ClassifierType.OPENAI and settings.openai is not None:
        return OpenAICompatibleClassifier(settings.openai)
    raise UnavailableClassifier(
        f"routing.classifier.type '{settings.type}' is not available in this build; use 'lexical'"
    )
