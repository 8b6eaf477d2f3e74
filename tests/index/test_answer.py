"""The pieces of the answer step that stand alone: residuals and the re-read order."""

from __future__ import annotations

import numpy as np

from index.answer import FEATURES, Scored, Weights, rerank, residuals, worth_rereading


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
    assert worth_rereading(close) and not worth_rereading(clear)
    assert not worth_rereading(close[:1])  # one candidate: nothing to re-order
