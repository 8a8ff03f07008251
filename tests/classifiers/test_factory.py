import pytest

from plano_extproc.classifiers.factory import UnavailableClassifier, build_classifier
from plano_extproc.classifiers.lexical import LexicalClassifier
from plano_extproc.config.model import ClassifierSettings, ClassifierType


def test_lexical_is_built_with_its_threshold() -> None:
    classifier = build_classifier(ClassifierSettings(type=ClassifierType.LEXICAL, threshold=2.5))
    assert isinstance(classifier, LexicalClassifier)
    assert classifier.threshold == 2.5


def test_unavailable_type_names_itself() -> None:
    with pytest.raises(UnavailableClassifier, match="'triton' is not available"):
        build_classifier(ClassifierSettings(type=ClassifierType.TRITON))
