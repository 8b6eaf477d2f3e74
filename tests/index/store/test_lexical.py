"""BM25 as numpy postings agrees with the textbook formula computed by brute force."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from index.store.lexical import LexicalIndex
from index.text.terms import terms, terms_many

DOCS = [
    "Khan's wife, Bushra Bibi, led the latest protest.",
    "Top leaders of the party left the protest site.",
    "The interior minister said the Red Zone was cleared.",
    "Police arrested hundreds of protesters in the capital.",
    "The minister of the interior spoke to reporters.",
    "Nothing relevant here at all.",
]


def brute_force(docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    scores = np.zeros(n)
    for term in set(query):
        df = sum(1 for d in docs if term in d)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = Counter(d)[term]
            if tf:
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avg))
    return scores


def test_terms_drop_stopwords_and_possessives_and_stem() -> None:
    assert terms("Who led the protests in Khan's city?") == ["led", "protest", "khan", "citi"]


@pytest.mark.parametrize("question", ["who led the protest?", "interior minister", "protesters arrested", "zebra"])
def test_search_and_score_docs_match_brute_force(question: str) -> None:
    docs = terms_many(DOCS)
    index = LexicalIndex.build(docs)
    expected = brute_force(docs, terms(question))
    ids, scores = index.search(terms(question), k=10)
    assert set(ids.tolist()) == {i for i, s in enumerate(expected) if s > 0}
    np.testing.assert_allclose(scores, expected[ids], rtol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    all_ids = np.arange(len(DOCS))
    np.testing.assert_allclose(index.score_docs(terms(question), all_ids), expected, rtol=1e-5)


def test_top_k_cuts_and_an_empty_index_answers_nothing(tmp_path) -> None:
    index = LexicalIndex.build(terms_many(DOCS))
    ids, _ = index.search(terms("protest minister interior police"), k=2)
    assert len(ids) == 2
    empty = LexicalIndex.build([])
    assert len(empty.search(["protest"], k=5)[0]) == 0
    index.save(tmp_path, "x_")
    loaded = LexicalIndex.load(tmp_path, "x_")
    a, b = index.search(terms("interior minister"), 5), loaded.search(terms("interior minister"), 5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1])


def test_the_max_score_cut_returns_exactly_the_full_ranking() -> None:
    # Zipf-like documents: a few words in most documents, many in a few, as in real text.
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(400)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    docs = [list(rng.choice(vocab, size=rng.integers(3, 15), p=weights / weights.sum())) for _ in range(3000)]
    index = LexicalIndex.build(docs)
    for _ in range(200):
        query = list(rng.choice(vocab[:5], size=2)) + list(rng.choice(vocab[50:], size=rng.integers(0, 3)))
        expected = brute_force(docs, query)
        ids, scores = index.search(query, k=10)
        top = np.sort(expected)[::-1][: len(ids)]
        np.testing.assert_allclose(np.sort(scores)[::-1], top, rtol=1e-5)
        np.testing.assert_allclose(scores, expected[ids], rtol=1e-5)


def test_a_search_within_some_documents_is_the_full_search_restricted_to_them() -> None:
    docs = terms_many(DOCS)
    index = LexicalIndex.build(docs)
    query = terms("protest minister interior police")
    within = np.array([1, 2, 5], dtype=np.int64)
    expected = brute_force(docs, query)
    ids, scores = index.search(query, k=10, within=within)
    assert set(ids.tolist()) == {i for i in within.tolist() if expected[i] > 0} == {1, 2}
    np.testing.assert_allclose(scores, expected[ids], rtol=1e-5)
    assert index.search(query, k=10, within=np.array([5]))[0].tolist() == []  # shares no term
