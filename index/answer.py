"""From a question to cited sentences: hybrid retrieval, sentence scoring, de-duplication, abstention."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .lexical import STOPWORDS, terms, words
from .models import Citation
from .store import Snapshot


@dataclass(frozen=True)
class Weights:
    """How the sentence features add up to one score (see :data:`FEATURES`)."""

    dense: float = 0.45
    coverage: float = 0.30
    chunk: float = 0.15
    window: float = 0.10
    novelty: float = 0.0
    answer_type: float = 0.0


FEATURES = ("dense", "coverage", "chunk", "window", "novelty", "answer_type")


@dataclass(frozen=True)
class Query:
    """A question prepared once: its text, unit vector (dim,), index terms and content words."""

    text: str
    vector: np.ndarray
    terms: tuple[str, ...]
    words: frozenset[str]


@dataclass(frozen=True)
class Scored:
    sentence: int  # global sentence id
    score: float
    features: tuple[float, ...]


def prepare(question: str, vector: np.ndarray) -> Query:
    return Query(
        text=question,
        vector=np.asarray(vector, dtype=np.float32).reshape(-1),
        terms=tuple(terms(question)),
        words=frozenset(w for w in words(question) if w not in STOPWORDS),
    )


def retrieve_chunks(s: Snapshot, q: Query, *, candidates: int, keep: int) -> dict[int, float]:
    """Hybrid chunk retrieval: dense (FAISS) and BM25 hits, fused by normalized score.

    Returns:
        chunk id -> fused score in [0, 1], the ``keep`` best.
    """
    if s.chunk_index.ntotal == 0:
        return {}
    k = min(candidates, s.chunk_index.ntotal)
    sims, ids = s.chunk_index.search(q.vector.reshape(1, -1), k)
    dense = {int(i): float(v) for i, v in zip(ids[0], sims[0], strict=True) if i >= 0}  # -1 pads
    lex_ids, lex_scores = s.chunk_lexical.search(q.terms, candidates)
    top = float(lex_scores[0]) if len(lex_scores) else 0.0
    lexical = {int(i): float(v) / top for i, v in zip(lex_ids, lex_scores, strict=True)} if top > 0 else {}
    pool = np.fromiter(set(dense) | set(lexical), dtype=np.int64)
    # A chunk found by one retriever only still has a score in the other: compute it, don't guess 0.
    dense_all = s.chunk_vectors[pool] @ q.vector
    lex_all = s.chunk_lexical.score_docs(q.terms, pool) / top if top > 0 else np.zeros(len(pool))
    fused = 0.5 * dense_all + 0.5 * lex_all
    order = np.argsort(-fused, kind="stable")[:keep]
    return {int(pool[i]): float(fused[i]) for i in order}


def score_sentences(s: Snapshot, q: Query, chunks: dict[int, float], weights: Weights) -> list[Scored]:
    """Score every sentence of the retrieved chunks against the question, best first."""
    best_chunk: dict[int, float] = {}
    for cid, fused in chunks.items():
        _, first, last = (int(x) for x in s.chunks[cid])
        for sid in range(first, last):
            best_chunk[sid] = max(best_chunk.get(sid, -1.0), fused)
    if not best_chunk:
        return []
    sids = np.fromiter(best_chunk, dtype=np.int64)
    dense = s.sentence_vectors[sids] @ q.vector
    idf_total = sum(s.sentence_lexical.term_idf(t) for t in set(q.terms)) or 1.0
    w = np.array([getattr(weights, f) for f in FEATURES], dtype=np.float64)
    out = []
    for i, sid in enumerate(sids):
        text = s.sentence_text(int(sid))
        present = set(terms(text))
        coverage = sum(s.sentence_lexical.term_idf(t) for t in set(q.terms) if t in present) / idf_total
        window = _window_similarity(s, int(sid), q.vector)
        features = (
            float(dense[i]),
            coverage,
            best_chunk[int(sid)],
            window,
            _novelty(text, q),
            _answer_type(text, q),
        )
        out.append(Scored(int(sid), float(np.dot(w, features)), features))
    out.sort(key=lambda x: (-x.score, x.sentence))
    return out


def _window_similarity(s: Snapshot, sid: int, qv: np.ndarray) -> float:
    art = s.articles[int(s.sentences[sid, 0])]
    lo = max(art.first_sentence, sid - 1)
    hi = min(art.first_sentence + art.sentences, sid + 2)
    return float(np.mean(s.sentence_vectors[lo:hi] @ qv))


def _novelty(text: str, q: Query) -> float:
    content = [w for w in words(text) if w not in STOPWORDS]
    if not content:
        return 0.0
    return sum(1 for w in content if w not in q.words) / len(content)


_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)s?\b",
    re.I,
)
_YEAR_OR_DATE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow)\b",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def _answer_type(text: str, q: Query) -> float:
    """1.0 when the sentence holds the kind of thing the question asks for, else 0."""
    question = q.text.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|amount)\b", question):
        return 1.0 if _NUMBER.search(text) else 0.0
    if re.search(r"\bwhen\b|\bwhat (year|date|day|time)\b", question):
        return 1.0 if _YEAR_OR_DATE.search(text) else 0.0
    if re.search(r"\bwho\b|\bwhose\b|\bwhom\b", question):
        names = {m.group(0).lower() for m in _NAME.finditer(text)}
        return 1.0 if any(n not in question for n in names) else 0.0
    return 0.0


def dedupe(s: Snapshot, scored: list[Scored], *, limit: int, threshold: float = 0.95) -> list[Scored]:
    """Keep the best of near-duplicate sentences (same words, or embeddings closer than ``threshold``)."""
    kept: list[Scored] = []
    seen_text: set[str] = set()
    for item in scored:
        key = " ".join(words(s.sentence_text(item.sentence)))
        if key in seen_text:
            continue
        vec = s.sentence_vectors[item.sentence]
        if any(float(vec @ s.sentence_vectors[k.sentence]) >= threshold for k in kept):
            continue
        seen_text.add(key)
        kept.append(item)
        if len(kept) == limit:
            break
    return kept


def cite(s: Snapshot, item: Scored) -> Citation | None:
    """A citation for a scored sentence, or None if the quote is not exactly the stored text at its offsets."""
    art_idx, start, end = (int(x) for x in s.sentences[item.sentence])
    article = s.articles[art_idx]
    body = s.article_text(art_idx)
    quote = body[start:end]
    if not quote or quote != s.sentence_text(item.sentence):
        return None
    return Citation(
        text=quote,
        article_id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        sentence=s.sentence_number(item.sentence),
        start=start,
        end=end,
        score=round(item.score, 4),
    )
