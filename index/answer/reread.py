"""Stage 4, the re-read of close calls: the rest of each sentence against the rest of the question."""

from __future__ import annotations

import re

import numpy as np

from ..embed.base import Encoder
from ..store.snapshot import Snapshot
from ..text.terms import stem_word
from .model import Scored, Weights, close_call, rerank


def residuals(question: str, sentence: str) -> tuple[str, str]:
    """The question without the words the sentence shares with it, and the sentence without the
    words it shares with the question (words compared by stem; order and punctuation kept).

    "who sang the national anthem?" against "Lady Gaga performed the national anthem." gives
    ("who sang ?", "Lady Gaga performed ."): how well the rest of the sentence answers the rest of
    the question, which the whole-sentence similarity blurs with the words they share.
    """
    q = _stemmed(question)
    s = _stemmed(sentence)
    q_stems, s_stems = {stem for _, stem in q}, {stem for _, stem in s}
    rest_q = " ".join(word for word, stem in q if stem not in s_stems)
    rest_s = " ".join(word for word, stem in s if stem not in q_stems)
    return rest_q or ".", rest_s or "."


_PIECE = re.compile(r"[\w'’-]+|[^\w\s]")


def _stemmed(text: str) -> list[tuple[str, str]]:
    return [(w, stem_word(re.split(r"['’]", w.lower(), maxsplit=1)[0])) for w in _PIECE.findall(text)]


def reread(
    s: Snapshot, encoder: Encoder, questions: list[tuple[str, list[Scored]] | None], weights: Weights, depth: int
) -> list[list[Scored] | None]:
    """Re-order each question's best ``depth`` sentences where the best two are close
    (:func:`~index.answer.model.close_call`), by the cosine of their :func:`residuals`.

    Args:
        s: The snapshot.
        encoder: Embeds the residuals, every one of every question in one call.
        questions: (question text, candidates best first) for each question, None where the
            question is refused anyway.
        weights: The fitted models.
        depth: How many best sentences are read again (``search.rerank``).

    Returns:
        The candidates of each question in their new order (None where the input was None).
    """
    pairs: list[list[tuple[str, str]]] = []
    for item in questions:
        if item is None or not depth or not close_call(item[1]):
            pairs.append([])
        else:
            text, scored = item
            pairs.append([residuals(text, s.sentence_text(x.sentence)) for x in scored[:depth]])
    residual_texts = sorted({t for question in pairs for pair in question for t in pair})
    if not residual_texts:
        return [item[1] if item else None for item in questions]
    vectors = encoder.encode(residual_texts, batch_size=len(residual_texts))
    row = {t: i for i, t in enumerate(residual_texts)}
    out: list[list[Scored] | None] = []
    for item, question in zip(questions, pairs, strict=True):
        if item is None:
            out.append(None)
            continue
        scored = item[1]
        if question:
            cosines = np.array([vectors[row[q]] @ vectors[row[t]] for q, t in question], dtype=np.float32)
            scored = rerank(scored, cosines, weights)
        out.append(scored)
    return out
