"""Stage 3b, the trained reader: a cross-encoder reads the question against each of the best few
sentences (with the sentence before and after it) and says how likely each is to answer.

Its logit joins the sentence model's in a fitted two-feature model that re-orders those few
(``ReaderWeights``; ``python -m index fit``). Whether any answers is decided before, without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..reader.serve import Candidate
from ..store.snapshot import Snapshot
from .query import Scored

READ_FEATURES = ("sentence_logit", "reader_logit")


class SentenceReader(Protocol):
    """What the pipeline needs of a reader (index.reader.Reader)."""

    def logits(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """(n,) float32 raw scores, one per candidate, in one call."""
        ...


def candidates(s: Snapshot, sids: Sequence[int]) -> list[Candidate]:
    """Each sentence row with its neighbours in the same article, as the reader reads them."""
    out = []
    for sid in sids:
        rows = s.article_rows(sid)
        previous = s.sentence_text(sid - 1) if sid - 1 >= rows.start else ""
        following = s.sentence_text(sid + 1) if sid + 1 < rows.stop else ""
        out.append((s.sentence_text(sid), previous, following))
    return out


def read(s: Snapshot, reader: SentenceReader, question: str, scored: list[Scored], depth: int) -> np.ndarray:
    """The reader's logits (min(depth, len(scored)),) for the best ``depth`` candidates."""
    head = [x.sentence for x in scored[:depth]]
    return reader.logits(question, candidates(s, head)) if head else np.zeros(0, dtype=np.float32)


def logit(p: np.ndarray | float) -> np.ndarray:
    """The inverse of the sigmoid, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q)).astype(np.float32)


def read_features(scored: list[Scored], logits: np.ndarray) -> np.ndarray:
    """(k, len(READ_FEATURES)) of the first k = len(logits) candidates."""
    head = np.array([x.score for x in scored[: len(logits)]], dtype=np.float32)
    return np.column_stack([logit(head), np.asarray(logits, dtype=np.float32)])


def reorder(scored: list[Scored], logits: np.ndarray, coef: Sequence[float], bias: float) -> list[Scored]:
    """Re-order the first ``len(logits)`` candidates by the combined model; the rest keep their
    place, their scores capped at the lowest of the read ones so scores still fall down the list."""
    k = len(logits)
    if not k:
        return scored
    z = read_features(scored, logits) @ np.asarray(coef, dtype=np.float32) + bias
    probs = 1.0 / (1.0 + np.exp(-z))
    order = np.argsort(-probs, kind="stable")
    floor = float(probs.min())
    head = [Scored(scored[i].sentence, float(probs[i]), scored[i].features) for i in order]
    return head + [Scored(x.sentence, min(x.score, floor), x.features) for x in scored[k:]]
