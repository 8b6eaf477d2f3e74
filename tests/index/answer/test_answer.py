"""The pieces of the answer step that stand alone: answer types, residuals and the re-read order."""

from __future__ import annotations

import numpy as np
import pytest

from index.answer.cues import answer_present, measure_present, question_kind, question_measure
from index.answer.features import FEATURES
from index.answer.model import Weights, close_call, rerank
from index.answer.query import Scored
from index.answer.reread import residuals


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("how much did Victor Osei pay for the club?", "money"),
        ("what is the mayor's salary?", "money"),
        ("how much did Tessaro's profit drop?", "percent"),
        ("how fast can the scooter go?", "speed"),
        ("how long are the solar panels?", "time_or_length"),
        ("how many pupils does the school have?", "count"),
        ("how old is the skeleton?", "age"),
        ("how big is the fire?", "size"),
        ("how often do trains run?", None),
    ],
)
def test_number_questions_name_the_measure_they_want(question: str, measure: str | None) -> None:
    assert question_measure(question.lower()) == measure


@pytest.mark.parametrize(
    ("measure", "sentence", "holds"),
    [
        ("money", "The club nearly folded in 2021 before a takeover by Victor Osei.", False),
        ("money", "He was sentenced to six years in prison.", False),
        ("money", "The win earns Rovers prize money of 4.5 million pounds.", True),
        ("money", "The refit cost $27m.", True),
        ("count", "Both schools will close at the end of the 2026 school year.", False),
        ("count", "Fallen trees brought down more than 400 power lines.", True),
        ("count", "Thirteen people were hurt.", True),
        ("speed", "Voltaro is recalling about 210,000 scooters.", False),
        ("speed", "Gusts reached 94 miles per hour.", True),
        ("percent", "Profit fell 18 per cent.", True),
        ("time_or_length", "The probe unfolded two arrays, each 14 metres long.", True),
        ("age", "The 19-year-old substitute scored.", True),
    ],
)
def test_a_measure_is_a_number_with_its_unit(measure: str, sentence: str, holds: bool) -> None:
    assert measure_present(measure, sentence, "how much?") == float(holds)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how many people died when the bridge fell", "number"),
        ("how old was she when she set the record?", "number"),
        ("who was mayor when the flood hit", "person"),
        ("when did the mayor resign", "date"),
        ("where did they go when the rally ended", "place"),
        ("what did the council decide", "other"),
    ],
)
def test_the_first_asking_word_says_what_is_asked(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_the_number_the_question_already_holds_is_no_answer() -> None:
    assert measure_present("money", "It cost 5 pounds.", "did it cost 5 pounds or more?") == 0.0


def test_a_sentence_opening_capital_is_no_name_unless_a_name_follows() -> None:
    question = "who organised the protest?"
    assert answer_present("person", "Officials said the protest was peaceful.", question) == 0.0
    assert answer_present("person", "Ruth Kaplan organised it.", question) == 1.0
    assert answer_present("person", "It was organised by Kaplan.", question) == 1.0


def test_residuals_drop_the_words_question_and_sentence_share() -> None:
    rest_q, rest_s = residuals("who sang the national anthem?", "Lady Gaga performed the national anthem.")
    assert (rest_q, rest_s) == ("who sang ?", "Lady Gaga performed .")
    # Words match by stem and case does not matter; what is left keeps its order.
    assert residuals("When did the Bridges close?", "The bridge was closing on Monday.") == (
        "When did ?",
        "was on Monday .",
    )


def test_residuals_of_nothing_left_are_a_full_stop() -> None:
    assert residuals("Khan's party", "Khan’s party won.") == (".", "won .")


def test_rerank_reorders_the_head_and_keeps_scores_falling() -> None:
    features = tuple(0.0 for _ in FEATURES)
    scored = [Scored(i, s, features) for i, s in enumerate([0.9, 0.8, 0.7, 0.6])]
    weights = Weights.load()
    # All else equal, a higher residual similarity must win the re-read.
    out = rerank(scored, np.array([0.1, 0.9, 0.5], dtype=np.float32), weights)
    assert [x.sentence for x in out] == [1, 2, 0, 3]
    scores = [x.score for x in out]
    assert scores == sorted(scores, reverse=True)
    assert rerank(scored, np.zeros(0, dtype=np.float32), weights) == scored


def test_only_close_calls_are_re_read() -> None:
    features = tuple(0.0 for _ in FEATURES)
    close = [Scored(0, 0.62, features), Scored(1, 0.55, features)]
    clear = [Scored(0, 0.92, features), Scored(1, 0.20, features)]
    assert close_call(close) and not close_call(clear)
    assert not close_call(close[:1])  # one candidate: nothing to re-order
