"""A question prepared once: the same text, vector and terms serve every later stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text.terms import STOPWORDS, terms, words


@dataclass(frozen=True)
class Query:
    """A question prepared once: its text, unit vector (dim,), index terms and content words."""

    text: str
    vector: np.ndarray
    terms: tuple[str, ...]
    words: frozenset[str]


def prepare(question: str, vector: np.ndarray) -> Query:
    return Query(
        text=question,
        vector=np.asarray(vector, dtype=np.float32).reshape(-1),
        terms=tuple(terms(question)),
        words=frozenset(w for w in words(question) if w not in STOPWORDS),
    )


@dataclass(frozen=True)
class Scored:
    """A candidate sentence row, its score (the chance it answers) and the features it was scored on."""

    sentence: int  # global sentence id
    score: float
    features: tuple[float, ...]
