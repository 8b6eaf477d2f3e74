"""Late interaction on the real model's token embeddings."""

from __future__ import annotations

import numpy as np

from index.answer import LATE_FEATURES, late_interaction
from index.encoder import Encoder, TokenEncoder


def test_a_sentence_holding_every_question_word_matches_best(encoder: Encoder) -> None:
    assert isinstance(encoder, TokenEncoder)
    _, (question, answer, neighbour, unrelated) = encoder.encode_with_tokens(
        [
            "who led the protest march?",
            "Bushra Bibi led the protest march to D-Chowk on Tuesday.",
            "The protest was the third this year.",
            "The weather stayed cold all week.",
        ]
    )
    features = late_interaction(question, [answer, neighbour, unrelated])
    assert features.shape == (3, len(LATE_FEATURES)) and features.dtype == np.float32
    mean, worst = features[:, 0], features[:, 1]
    assert mean[0] > mean[1] > mean[2]
    assert worst[0] > worst[1] and worst[0] > worst[2]  # "led" and "march" are missing from the neighbour
    assert worst[0] > 0.7 and np.all(features <= 1.0 + 1e-5)


def test_questions_of_stopwords_and_empty_sentences_do_not_break_it(encoder: Encoder) -> None:
    assert isinstance(encoder, TokenEncoder)
    _, (question, empty, sentence) = encoder.encode_with_tokens(["what is it?", "", "It is what it is."])
    features = late_interaction(question, [empty, sentence])
    assert features[0].tolist() == [0.0, 0.0]
    assert features[1, 0] > 0.5  # no content word: every piece counts, and most are found
