"""BM25 over numpy postings: the lexical side of hybrid retrieval.

Written here rather than taken from bm25s: its fast backend needs a numba compile of several
seconds at every start, and the answer step needs per-sentence term weights that a top-k API does
not expose. Postings are a CSR matrix (term -> sorted doc ids, precomputed BM25 weights), so a
question costs one slice per query term.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class LexicalIndex:
    """BM25 (Lucene's variant) over a list of documents.

    Scores are ``sum over distinct query terms of idf(t) * tf*(k1+1) / (tf + k1*(1-b+b*len/avglen))``
    with ``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``; they are never negative.
    """

    FILES = ("lexical_vocab.json", "lexical_indptr.npy", "lexical_docs.npy", "lexical_weights.npy")

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
        idf: np.ndarray,
    ) -> None:
        self.vocab = vocab
        self.indptr = indptr  # (n_terms + 1,) int64
        self.docs = docs  # (n_postings,) int32, sorted within each term
        self.weights = weights  # (n_postings,) float32
        self.n_docs = n_docs
        self.idf = idf  # (n_terms,) float32
        self._term_max: np.ndarray | None = None

    @classmethod
    def build(cls, doc_terms: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index documents given as lists of terms (see :func:`terms`)."""
        n_docs = len(doc_terms)
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(n_docs, dtype=np.float32)
        for doc, doc_tokens in enumerate(doc_terms):
            lengths[doc] = len(doc_tokens)
            for term, tf in Counter(doc_tokens).items():
                rows.append(vocab.setdefault(term, len(vocab)))
                cols.append(doc)
                tfs.append(tf)
        term_ids = np.asarray(rows, dtype=np.int64)
        doc_ids = np.asarray(cols, dtype=np.int32)
        tf_arr = np.asarray(tfs, dtype=np.float32)
        order = np.lexsort((doc_ids, term_ids))  # by term, then doc: each posting list sorted
        term_ids, doc_ids, tf_arr = term_ids[order], doc_ids[order], tf_arr[order]
        df = np.bincount(term_ids, minlength=len(vocab)).astype(np.float32)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(term_ids, minlength=len(vocab)))
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n_docs and lengths.mean() > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths[doc_ids] / avg)
        weights = (idf[term_ids] * tf_arr * (k1 + 1.0) / (tf_arr + norm)).astype(np.float32)
        return cls(vocab, indptr, doc_ids, weights, n_docs, idf)

    def save(self, folder: Path, prefix: str = "") -> list[Path]:
        vocab_file, indptr_file, docs_file, weights_file = (folder / (prefix + name) for name in self.FILES)
        vocab_file.write_text(json.dumps({"n_docs": self.n_docs, "terms": list(self.vocab)}), encoding="utf-8")
        np.save(indptr_file, self.indptr)
        np.save(docs_file, self.docs)
        np.save(weights_file, self.weights)
        return [vocab_file, indptr_file, docs_file, weights_file]

    @classmethod
    def load(cls, folder: Path, prefix: str = "") -> LexicalIndex:
        vocab_file, indptr_file, docs_file, weights_file = (folder / (prefix + name) for name in cls.FILES)
        meta = json.loads(vocab_file.read_text(encoding="utf-8"))
        vocab = {term: i for i, term in enumerate(meta["terms"])}
        indptr = np.load(indptr_file, allow_pickle=False)
        docs = np.load(docs_file, allow_pickle=False, mmap_mode="r")
        weights = np.load(weights_file, allow_pickle=False, mmap_mode="r")
        n_docs = int(meta["n_docs"])
        df = np.diff(indptr).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        return cls(vocab, indptr, docs, weights, n_docs, idf)

    def _query_ids(self, query_terms: Sequence[str]) -> list[int]:
        return sorted({self.vocab[t] for t in query_terms if t in self.vocab})

    @property
    def term_max(self) -> np.ndarray:
        """(n_terms,) the highest weight in each term's postings: an upper bound of what it adds."""
        if self._term_max is None:
            out = np.zeros(len(self.indptr) - 1, dtype=np.float32)
            nonempty = np.flatnonzero(np.diff(self.indptr))
            if len(nonempty):
                out[nonempty] = np.maximum.reduceat(np.asarray(self.weights), self.indptr[nonempty])
            self._term_max = out
        return self._term_max

    def search(
        self, query_terms: Sequence[str], k: int, within: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best documents for a query, exactly (among the documents ``within``, when given).

        Rare terms are scored in full first. A common term (long postings) is then only looked up
        for the documents already found, when even its best weight (plus every other common term's)
        could not lift an unseen document past the k-th score so far: a document without any rare
        term cannot make the top k. This "max-score" cut keeps a question with one specific word
        fast on a million documents; it never changes the result.

        Args:
            query_terms: The question's terms.
            k: Documents wanted.
            within: Sorted document ids the search is limited to (None: every document); every term
                is then scored in full and the documents outside are dropped before the top k.

        Returns:
            (doc ids int64 (m,), scores float32 (m,)), best first, ``m <= k``; only documents that
            share at least one term with the query.
        """
        ids = self._query_ids(query_terms)
        if not ids or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if within is not None:
            candidates, cand_scores = self._accumulate(ids)
            keep = np.isin(candidates, within, assume_unique=True)
            return self._top(candidates[keep], cand_scores[keep], k)
        length = {t: int(self.indptr[t + 1] - self.indptr[t]) for t in ids}
        rare = [t for t in ids if length[t] <= self.n_docs // 16]
        common = [t for t in ids if t not in rare]
        if rare and common:
            candidates, cand_scores = self._accumulate(rare)
            bound = float(self.term_max[common].sum())
            if len(candidates) > k and bound < float(np.partition(cand_scores, len(cand_scores) - k)[-k]):
                cand_scores = cand_scores + self._lookup(common, candidates)
                return self._top(candidates, cand_scores, k)
        candidates, cand_scores = self._accumulate(ids)
        return self._top(candidates, cand_scores, k)

    def _accumulate(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Term-at-a-time scores of every document that has one of the terms."""
        if len(ids) == 1:
            lo, hi = self.indptr[ids[0]], self.indptr[ids[0] + 1]
            return np.asarray(self.docs[lo:hi]), np.asarray(self.weights[lo:hi], dtype=np.float32)
        scores = np.zeros(self.n_docs, dtype=np.float32)
        postings = 0
        for t in ids:
            lo, hi = self.indptr[t], self.indptr[t + 1]
            # Doc ids are unique within one posting list, so fancy-index += is exact here.
            scores[self.docs[lo:hi]] += self.weights[lo:hi]
            postings += int(hi - lo)
        if postings < self.n_docs // 8:
            # Few postings: gather them (sorting a short list beats scanning every document).
            candidates = np.unique(np.concatenate([self.docs[self.indptr[t] : self.indptr[t + 1]] for t in ids]))
        else:
            candidates = np.flatnonzero(scores)
        return candidates, scores[candidates]

    @staticmethod
    def _top(candidates: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(candidates) > k:
            part = np.argpartition(-scores, k - 1)[:k]
            candidates, scores = candidates[part], scores[part]
        order = np.lexsort((candidates, -scores))  # ties: lower doc id first, deterministic
        return candidates[order].astype(np.int64), scores[order].astype(np.float32)

    def score_docs(self, query_terms: Sequence[str], doc_ids: np.ndarray) -> np.ndarray:
        """BM25 scores of the given documents only (for re-scoring a candidate set).

        Returns:
            float32 array of shape (len(doc_ids),).
        """
        return self._lookup(self._query_ids(query_terms), np.asarray(doc_ids, dtype=np.int32))

    def _lookup(self, ids: Sequence[int], doc_ids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(doc_ids), dtype=np.float32)
        for t in ids:
            lo, hi = self.indptr[t], self.indptr[t + 1]
            postings = self.docs[lo:hi]
            if not len(postings):
                continue
            pos = np.searchsorted(postings, doc_ids)
            pos_clipped = np.minimum(pos, len(postings) - 1)
            hit = (pos < len(postings)) & (postings[pos_clipped] == doc_ids)
            out[hit] += self.weights[lo + pos_clipped[hit]]
        return out

    def term_idf(self, term: str) -> float:
        """IDF of a term; an unseen term gets the highest possible value."""
        t = self.vocab.get(term)
        return float(self.idf[t]) if t is not None else math.log1p((self.n_docs + 0.5) / 0.5)
