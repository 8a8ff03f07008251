"""The embedded classifier's route index, with small synthetic unit vectors instead of a model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from plano_extproc.classifiers.keyword_index import KeywordIndex
from plano_extproc.classifiers.lexical import terms
from plano_extproc.classifiers.route_index import (
    KEYWORD_WEIGHT,
    KEYWORD_Z_CAP,
    RAW_RANK_WEIGHT,
    TOP_K_WEIGHT,
    Background,
    Calibration,
    ConversationIntents,
    PhraseSet,
    RouteIndex,
    Scores,
    conversation_texts,
    route_texts,
)
from plano_extproc.config.model import Route

DIMENSIONS = 6
APPLES = Route("apples", "apples orchards", ("m",))
BANANAS = Route("bananas", "bananas plantations", ("m",))
NO_TERMS: list[str] = []


def unit(*components: float) -> np.ndarray:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[: len(components)] = components
    return vector / np.linalg.norm(vector)


def axis(index: int) -> np.ndarray:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[index] = 1.0
    return vector


def with_similarity(first: float, second: float = 0.0) -> np.ndarray:
    """A unit vector whose similarity to axis 0 is `first` and to axis 1 is `second`."""
    return unit(first, second, float(np.sqrt(1.0 - first**2 - second**2)))


def background_of(vectors: Sequence[np.ndarray]) -> Background:
    """A background without keyword evidence (no background sentence shares a word)."""
    return Background(np.stack(vectors), tuple(() for _ in vectors))


def random_background(rows: int = 400, seed: int = 7) -> Background:
    vectors = np.random.default_rng(seed).normal(size=(rows, DIMENSIONS)).astype(np.float32)
    return background_of(list(vectors / np.linalg.norm(vectors, axis=1, keepdims=True)))


def two_route_index(background: Background) -> RouteIndex:
    """APPLES has one phrase on axis 0, BANANAS one on axis 1."""
    return RouteIndex.build(
        [APPLES, BANANAS], [["apples"], ["bananas"]], np.stack([axis(0), axis(1)]), background
    )


# route_texts / conversation_texts


def test_route_texts_frame_name_and_description_phrases() -> None:
    route = Route(
        "Code_Generation",
        "Writing functions, creating boilerplate OR fixing bugs; refactoring: tests and docs",
        ("m",),
    )
    assert route_texts(route) == [
        "i have a question about code generation",
        "i have a question about writing functions",
        "i have a question about creating boilerplate",
        "i have a question about fixing bugs",
        "i have a question about refactoring",
        "i have a question about tests",
        "i have a question about docs",
    ]


def test_route_texts_split_only_on_whole_words() -> None:
    route = Route("sorting", "Sorting and handling errors for vendors", ("m",))
    assert route_texts(route) == [
        "i have a question about sorting",
        "i have a question about handling errors for vendors",
    ]


def test_route_texts_keep_examples_verbatim_after_the_phrases() -> None:
    route = Route(
        "code", "code review", ("m",), examples=(" Build a React Component ", "Fix THIS bug")
    )
    assert route_texts(route) == [
        "i have a question about code",
        "i have a question about code review",
        "Build a React Component",
        "Fix THIS bug",
    ]


def test_route_texts_drop_empty_texts_and_duplicates() -> None:
    route = Route(
        "billing",
        "Billing, , invoices;; billing or INVOICES",
        ("m",),
        examples=("", "  ", "refunds", "refunds", "i have a question about invoices"),
    )
    texts = route_texts(route)
    assert texts == [
        "i have a question about billing",
        "i have a question about invoices",
        "refunds",
    ]
    assert len(texts) == len(set(texts))


def test_conversation_texts_are_framed_lowercased_and_unique() -> None:
    assert conversation_texts(["Hello there", " thanks ", "hello there"]) == [
        "i have a question about hello there",
        "i have a question about thanks",
    ]


# PhraseSet


def test_phrase_set_bounds_follow_the_groups() -> None:
    phrases = PhraseSet.build([["a", "b", "c"], ["d"], ["e", "f"]], np.eye(DIMENSIONS))
    assert phrases.bounds == (0, 3, 4, 6)


def test_phrase_set_scores_best_phrase_plus_share_of_top_k_mean() -> None:
    similarities = [1.0, 0.5, 0.25, 0.0]
    vectors = np.stack([with_similarity(s) for s in similarities] + [with_similarity(0.3)])
    phrases = PhraseSet.build([["a", "b", "c", "d"], ["e"]], vectors)
    scores = phrases.scores(axis(0)[np.newaxis, :])
    assert scores.shape == (1, 2)
    top3_mean = (1.0 + 0.5 + 0.25) / 3
    expected_first = (1 - TOP_K_WEIGHT) * 1.0 + TOP_K_WEIGHT * top3_mean
    assert scores[0, 0] == pytest.approx(expected_first, abs=1e-6)
    assert scores[0, 0] == pytest.approx(0.6 + 0.4 * 1.75 / 3, abs=1e-6)
    # A single phrase scores as itself.
    assert scores[0, 1] == pytest.approx(0.3, abs=1e-6)


def test_phrase_set_agreeing_phrases_beat_one_lucky_match() -> None:
    agreeing = [with_similarity(0.8)] * 3
    lucky = [with_similarity(0.85), with_similarity(0.0), with_similarity(0.0)]
    phrases = PhraseSet.build([["a"] * 3, ["b"] * 3], np.stack(agreeing + lucky))
    (scores,) = phrases.scores(axis(0)[np.newaxis, :])
    assert scores[0] == pytest.approx(0.8, abs=1e-6)
    assert scores[1] < scores[0]


def test_phrase_set_scores_each_query_row() -> None:
    phrases = PhraseSet.build([["a"], ["b"]], np.stack([axis(0), axis(1)]))
    scores = phrases.scores(np.stack([axis(0), axis(1), unit(1, 1)]))
    np.testing.assert_allclose(scores, [[1, 0], [0, 1], [0.7071068, 0.7071068]], atol=1e-6)
    assert phrases.nbytes == 2 * DIMENSIONS * 4


# RouteIndex.build: calibration


def test_route_with_high_background_gets_a_lower_z_for_the_same_raw_score() -> None:
    # Background similarities to APPLES' phrase (axis 0) are high, to BANANAS' (axis 1) low.
    pairs = [(0.4, 0.0), (0.6, 0.2), (0.5, 0.1), (0.5, 0.1)]
    background = background_of([with_similarity(a, b) for a, b in pairs])
    index = two_route_index(background)
    scores = index.scores(unit(1, 1)[np.newaxis, :], [NO_TERMS])
    raw = 1 / np.sqrt(2)
    np.testing.assert_allclose(scores.raw, [[raw, raw]], atol=1e-6)
    spread = np.std([0.4, 0.6, 0.5, 0.5])
    expected = [(raw - 0.5) / spread, (raw - 0.1) / spread]
    np.testing.assert_allclose(scores.calibrated, [expected], rtol=1e-4)
    assert scores.calibrated[0, 0] < scores.calibrated[0, 1]


def test_background_scores_standardize_to_zero_mean_unit_spread() -> None:
    background = random_background()
    index = two_route_index(background)
    empty_terms = [NO_TERMS] * len(background.vectors)
    calibrated = index.scores(background.vectors, empty_terms).calibrated
    np.testing.assert_allclose(calibrated.mean(axis=0), [0, 0], atol=1e-4)
    np.testing.assert_allclose(calibrated.std(axis=0), [1, 1], atol=1e-4)


def test_tight_background_does_not_divide_by_zero() -> None:
    background = background_of([with_similarity(0.5, 0.5)] * 5)
    index = two_route_index(background)
    calibrated = index.scores(axis(0)[np.newaxis, :], [NO_TERMS]).calibrated
    assert np.isfinite(calibrated).all()
    assert calibrated[0, 0] == pytest.approx((1.0 - 0.5) / 1e-3, rel=1e-3)


def test_keyword_evidence_is_capped() -> None:
    # No background sentence shares a word with a route, so any shared word is far out.
    index = two_route_index(random_background())
    query = unit(1, 1)[np.newaxis, :]
    without = index.scores(query, [NO_TERMS]).calibrated
    with_keyword = index.scores(query, [terms("apples")]).calibrated
    boost = with_keyword - without
    np.testing.assert_allclose(boost, [[KEYWORD_WEIGHT * KEYWORD_Z_CAP, 0.0]], atol=1e-5)


def test_keyword_evidence_below_the_cap_adds_its_weighted_z() -> None:
    routes = [APPLES, BANANAS]
    background_terms = (("orchard",), ("apple", "orchard"), (), ("banana",), ())
    vectors = random_background(rows=len(background_terms)).vectors
    background = Background(vectors, background_terms)
    index = RouteIndex.build(routes, [["a"], ["b"]], np.stack([axis(0), axis(1)]), background)
    queries = [terms("apples"), terms("orchards bananas"), NO_TERMS]
    query_vectors = np.stack([unit(1, 1)] * len(queries))
    keyword = KeywordIndex.build(routes)
    reference = keyword.scores(background_terms)
    z = (keyword.scores(queries) - reference.mean(axis=0)) / reference.std(axis=0)
    assert (z < KEYWORD_Z_CAP).all()
    calibrated = index.scores(query_vectors, queries).calibrated
    semantic = index.scores(query_vectors, [NO_TERMS] * len(queries)).calibrated
    no_terms_keyword_z = -reference.mean(axis=0) / reference.std(axis=0)
    np.testing.assert_allclose(
        calibrated - semantic, KEYWORD_WEIGHT * (z - no_terms_keyword_z), atol=1e-4
    )


def test_route_index_nbytes() -> None:
    index = two_route_index(random_background())
    assert index.nbytes == index.phrases.nbytes + index.keywords.nbytes
    assert index.nbytes > 0
    assert index.names == ("apples", "bananas")


# Scores.choose


def choose(
    raw: Sequence[Sequence[float]],
    calibrated: Sequence[Sequence[float]],
    other_z: Sequence[float],
    *,
    min_z: float = 2.0,
    other_margin: float = 0.5,
) -> tuple[list[int], list[bool]]:
    scores = Scores(np.array(raw, dtype=np.float32), np.array(calibrated, dtype=np.float32))
    best, taken = scores.choose(
        np.array(other_z, dtype=np.float32), Calibration(min_z, other_margin)
    )
    return best.tolist(), taken.tolist()


def test_choose_min_z_gate() -> None:
    raw = [[0.5, 0.1]] * 3
    calibrated = [[1.9, 0.0], [2.0, 0.0], [5.0, 0.0]]
    best, taken = choose(raw, calibrated, [-10.0] * 3, min_z=2.0)
    assert best == [0, 0, 0]
    assert taken == [False, True, True]


def test_choose_other_margin_gate() -> None:
    raw = [[0.5, 0.1]] * 3
    calibrated = [[3.0, 0.0]] * 3
    best, taken = choose(raw, calibrated, [3.0, 3.5, 3.6], min_z=2.0, other_margin=0.5)
    assert best == [0, 0, 0]
    assert taken == [True, True, False]


def test_choose_ranks_by_calibrated_plus_weighted_raw() -> None:
    # Route 0 stands out more from its background, route 1 is clearly closer.
    calibrated = [[3.0, 2.5]]
    raw = [[0.5, 0.6]]
    assert 3.0 + RAW_RANK_WEIGHT * 0.5 < 2.5 + RAW_RANK_WEIGHT * 0.6
    best, taken = choose(raw, calibrated, [0.0], min_z=2.0)
    assert (best, taken) == ([1], [True])
    # The gate applies to the chosen route's own calibrated score, not the best one.
    best, taken = choose(raw, calibrated, [0.0], min_z=2.8)
    assert (best, taken) == ([1], [False])


def test_choose_ties_keep_the_first_route() -> None:
    best, taken = choose([[0.4, 0.4, 0.4]], [[3.0, 3.0, 3.0]], [0.0])
    assert (best, taken) == ([0], [True])
    best, _ = choose([[0.3, 0.4, 0.4]], [[3.0, 3.0, 3.0]], [0.0])
    assert best == [1]


# RouteIndex.decide and ConversationIntents


def conversation(background: Background) -> ConversationIntents:
    """Conversation intents around axis 2."""
    return ConversationIntents.build(np.stack([axis(2), unit(0, 0, 1, 0.2)]), background)


def test_conversation_intents_z_scores() -> None:
    background = random_background()
    intents = conversation(background)
    queries = np.stack([axis(2), axis(0), axis(3)])
    z = intents.z_scores(queries)
    assert z.shape == (3,)
    assert z[0] > 2.0
    assert z[0] > z[1]
    background_z = intents.z_scores(background.vectors)
    assert background_z.mean() == pytest.approx(0.0, abs=1e-4)
    assert background_z.std() == pytest.approx(1.0, abs=1e-4)
    # The z-score is the phrase score's distance above the background mean, in spreads.
    raw = intents.phrases.scores(queries)[:, 0]
    raw_background = intents.phrases.scores(background.vectors)[:, 0]
    expected = (raw - raw_background.mean()) / raw_background.std()
    np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (axis(0), "apples"),
        (axis(1), "bananas"),
        (unit(1, 0.2, 0, 0, 0.1), "apples"),
        (axis(2), None),  # conversation stands out more than any route
        (axis(4), None),  # nothing stands out: below min_z
    ],
)
def test_decide(query: np.ndarray, expected: str | None) -> None:
    background = random_background()
    index = two_route_index(background)
    decision = index.decide(query, NO_TERMS, conversation(background), Calibration(1.0, 0.0))
    assert decision == expected


def test_decide_keyword_tips_a_close_call() -> None:
    background = random_background()
    index = two_route_index(background)
    query = unit(1, 1.02)  # a little closer to BANANAS
    calibration = Calibration(1.0, 0.0)
    intents = conversation(background)
    assert index.decide(query, NO_TERMS, intents, calibration) == "bananas"
    assert index.decide(query, terms("apples"), intents, calibration) == "apples"
