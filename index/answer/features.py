"""Stage 2, features: what the sentence and abstention models read, each column filled by name."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np

from ..store.snapshot import Snapshot
from ..text.terms import STOPWORDS, terms, words
from .cues import KINDS, answer_present, measure_present, question_kind, question_measure
from .query import Query, Scored

FEATURES = (
    "dense",  # cosine of question and sentence
    "coverage",  # share of the question's BM25 term weight (idf) that the sentence contains
    "chunk",  # fused retrieval score of the best chunk holding the sentence
    "window",  # mean cosine of the sentence and its neighbours (±1)
    "dense_gap",  # dense minus the best dense among the candidates (<= 0)
    "coverage_gap",  # coverage minus the best coverage among the candidates (<= 0)
    "lead_in",  # question weight the sentence before adds to this one's (its topic is set up there)
    "bigrams",  # share of the question's adjacent content-word pairs found in the sentence
    "novelty",  # share of the sentence's content words that the question does not already contain
    "type_number",  # how many/much/long... question and a number the question does not hold
    "type_date",  # when/what year... question and a date or time the question does not hold
    "type_person",  # who/whose... question and a capitalized name the question does not hold
    "type_place",  # where/which city... question and a capitalized place the question does not hold
    "type_measure",  # a number question and a number of the measure it asks for (money, speed, age...)
    "local_coverage",  # coverage with the question's words weighted by their rarity among the candidates
    "length",  # log of the sentence's word count
)


# Column of each feature: filled by name, so the order above is the only order there is.
COLUMN = {name: i for i, name in enumerate(FEATURES)}
TYPE_FEATURE = {kind: f"type_{kind}" for kind in KINDS}


def _distinct(s: Snapshot, chunks: dict[int, float]) -> dict[int, float]:
    """The candidate sentences of the chunks, each with its best chunk's score; a sentence found in
    several articles (the same text, as syndicated copies have it) is one candidate: the copy in the
    best chunk, the newest article on a tie. Copies cost the later stages and decide nothing."""
    best_chunk: dict[int, float] = {}
    for cid, fused in chunks.items():
        for sid in s.chunk_rows(cid):
            best_chunk[sid] = max(best_chunk.get(sid, -1.0), fused)
    kept: dict[int, int] = {}  # sentence hash -> sid
    for sid, score in best_chunk.items():
        h = s.sentence_hash(sid)
        other = kept.get(h)
        if other is None or (score, s.article_of(sid).date) > (best_chunk[other], s.article_of(other).date):
            kept[h] = sid
    return {sid: best_chunk[sid] for sid in best_chunk if kept[s.sentence_hash(sid)] == sid}


def features(s: Snapshot, q: Query, chunks: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix of every distinct sentence in the retrieved chunks (:func:`_distinct`).

    Returns:
        (sentence ids int64 (n,), features float32 (n, len(FEATURES))).
    """
    best_chunk = _distinct(s, chunks)
    sids = np.fromiter(best_chunk, dtype=np.int64, count=len(best_chunk))
    out = np.zeros((len(sids), len(FEATURES)), dtype=np.float32)
    if not len(sids):
        return sids, out
    col = COLUMN
    query_terms = set(q.terms)
    idf = {t: s.sentence_lexical.term_idf(t) for t in query_terms}
    idf_total = sum(idf.values()) or 1.0
    bigrams = _bigrams(q.text)
    kind = question_kind(q.text)
    question_lower = q.text.lower()
    measure = question_measure(question_lower) if kind == "number" else None

    term_sets: dict[int, set[str]] = {}

    def present(sid: int) -> set[str]:
        if sid not in term_sets:
            term_sets[sid] = query_terms.intersection(terms(s.sentence_text(sid)))
        return term_sets[sid]

    def coverage(found: set[str]) -> float:
        return sum(idf[t] for t in found) / idf_total

    dense = s.vectors("sentence", sids) @ q.vector
    for i, sid in enumerate(map(int, sids)):
        text = s.sentence_text(sid)
        rows = s.article_rows(sid)
        content = [w for w in words(text) if w not in STOPWORDS]
        out[i, col["dense"]] = dense[i]
        out[i, col["coverage"]] = coverage(present(sid))
        out[i, col["chunk"]] = best_chunk[sid]
        window = range(max(rows.start, sid - 1), min(rows.stop, sid + 2))
        out[i, col["window"]] = float(np.mean(s.vectors("sentence", window) @ q.vector))
        out[i, col["lead_in"]] = coverage(present(sid - 1) - present(sid)) if sid - 1 >= rows.start else 0.0
        out[i, col["bigrams"]] = len(bigrams & _bigrams(text)) / len(bigrams) if bigrams else 0.0
        out[i, col["novelty"]] = sum(1 for w in content if w not in q.words) / len(content) if content else 0.0
        if kind in KINDS:
            out[i, col[TYPE_FEATURE[kind]]] = answer_present(kind, text, question_lower)
        if measure:
            out[i, col["type_measure"]] = measure_present(measure, text, question_lower)
        out[i, col["length"]] = math.log1p(len(content))
    # The article's own names are in most candidates and tell them apart no better than "the": the
    # question's words that only some candidates hold ("governor", "referee") say which one answers.
    df = {t: sum(1 for sid in sids if t in term_sets[int(sid)]) for t in query_terms}
    local = {t: math.log((len(sids) + 1) / (n + 0.5)) for t, n in df.items() if n}
    local_total = sum(local.values())
    if local_total > 0:
        for i, sid in enumerate(map(int, sids)):
            out[i, col["local_coverage"]] = sum(local[t] for t in term_sets[sid] if t in local) / local_total
    out[:, col["dense_gap"]] = out[:, col["dense"]] - out[:, col["dense"]].max()
    out[:, col["coverage_gap"]] = out[:, col["coverage"]] - out[:, col["coverage"]].max()
    return sids, out


QUESTION_FEATURES = (
    "top_score",  # the best sentence's score
    "top_dense",  # best cosine among the candidates
    "top_coverage",  # best coverage among the candidates
    "uncovered",  # share of the question's idf weight found neither in the best sentence nor its neighbours
    "unknown",  # share of the question's idf weight in terms the corpus never uses
    "top_chunk",  # best fused chunk score
    "typed",  # the question asks for a number, date, person or place
    "type_found",  # ... and the best sentence holds one
    "rarest_uncovered",  # idf of the rarest question term missing near the best sentence, over the highest idf
    "number_missing",  # the question names a number or year that the best sentence's article never uses
    "measured",  # the question asks for a particular measure (money, a count, a speed...)
    "measure_found",  # ... and the best sentence holds a number of it
)


QUESTION_COLUMN = {name: i for i, name in enumerate(QUESTION_FEATURES)}


def question_features(s: Snapshot, q: Query, scored: list[Scored]) -> np.ndarray:
    """Features of the question as a whole, for the abstention model.

    Args:
        s: The snapshot.
        q: The question.
        scored: Its candidates as the sentence model ranks them, best first.

    Returns:
        float32 array of shape (len(QUESTION_FEATURES),).
    """
    col = QUESTION_COLUMN
    out = np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
    query_terms = set(q.terms)
    idf = {t: s.sentence_lexical.term_idf(t) for t in query_terms}
    total = sum(idf.values()) or 1.0
    out[col["unknown"]] = sum(v for t, v in idf.items() if t not in s.sentence_lexical.vocab) / total
    kind = question_kind(q.text)
    out[col["typed"]] = float(kind in KINDS)
    if not scored:
        out[col["uncovered"]] = 1.0
        return out
    top = scored[0]
    feats = np.array([x.features for x in scored], dtype=np.float32)
    out[col["top_score"]] = top.score
    out[col["top_dense"]] = feats[:, COLUMN["dense"]].max()
    out[col["top_coverage"]] = feats[:, COLUMN["coverage"]].max()
    rows = s.article_rows(top.sentence)
    near_rows = range(max(rows.start, top.sentence - 1), min(rows.stop, top.sentence + 2))
    near = set(terms(" ".join(s.sentence_text(i) for i in near_rows)))
    out[col["uncovered"]] = sum(v for t, v in idf.items() if t not in near) / total
    out[col["top_chunk"]] = feats[:, COLUMN["chunk"]].max()
    if kind in KINDS:
        out[col["type_found"]] = top.features[COLUMN[TYPE_FEATURE[kind]]]
    missing = [v for t, v in idf.items() if t not in near]
    ceiling = s.sentence_lexical.term_idf("\0") or 1.0  # an unseen term has the highest idf
    out[col["rarest_uncovered"]] = max(missing) / ceiling if missing else 0.0
    numbers = set(re.findall(r"\d[\d,.]*\d|\d", q.text))
    if numbers:
        body = s.article_text(s.article_index(top.sentence))
        out[col["number_missing"]] = float(any(n not in body for n in numbers))
    if kind == "number" and question_measure(q.text.lower()):
        out[col["measured"]] = 1.0
        out[col["measure_found"]] = top.features[COLUMN["type_measure"]]
    return out


def _bigrams(text: str) -> set[tuple[str, str]]:
    content = [w for w in words(text) if w not in STOPWORDS]
    return set(itertools.pairwise(content))
