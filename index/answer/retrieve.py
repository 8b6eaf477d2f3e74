"""Stage 1, retrieval: dense (vector index) and BM25 hits over chunks, fused by normalized score."""

from __future__ import annotations

import numpy as np

from ..store.snapshot import Snapshot
from .query import Query

# The fused score of a chunk: these shares of its cosine and of its BM25 score over the best BM25
# score of the question. Equal shares measured best on the eval sets (README, "How it works").
DENSE_SHARE = 0.5
LEXICAL_SHARE = 0.5
# A filtered search over at most this many chunks scans their vectors (exact, ~2 ms); a larger one
# asks the vector index with an id selector.
EXACT_SCOPE_MAX = 20_000


def retrieve_chunks(
    s: Snapshot, q: Query, *, candidates: int, keep: int, within: np.ndarray | None = None
) -> dict[int, float]:
    """Hybrid chunk retrieval: dense (FAISS) and BM25 hits, fused by normalized score.

    Args:
        s: The index.
        q: The question.
        candidates: Hits taken from each retriever.
        keep: Fused chunks returned.
        within: Sorted chunk ids retrieval is limited to (filters; answer.filters.scope_of), or
            None for every chunk. Both retrievers search only these, so the best within them are
            found, not the best overall that happen to pass.

    Returns:
        chunk id -> fused score in [0, 1], the ``keep`` best, no two with the same sentences.
    """
    total = s.chunk_index.ntotal if within is None else len(within)
    if total == 0:
        return {}
    k = min(candidates, total)
    if within is not None and len(within) <= EXACT_SCOPE_MAX:
        sims_all = s.vectors("chunk", within) @ q.vector  # a small scope: exact, whatever the index
        best = np.argsort(-sims_all, kind="stable")[:k]
        dense = {int(within[i]): float(sims_all[i]) for i in best}
    else:
        sims, ids = s.chunk_index.search(q.vector.reshape(1, -1), k, within)
        dense = {int(i): float(v) for i, v in zip(ids[0], sims[0], strict=True) if i >= 0}  # -1 pads
    lex_ids, lex_scores = s.chunk_lexical.search(q.terms, candidates, within)
    top = float(lex_scores[0]) if len(lex_scores) else 0.0
    lexical = {int(i): float(v) / top for i, v in zip(lex_ids, lex_scores, strict=True)} if top > 0 else {}
    pool = np.fromiter(set(dense) | set(lexical), dtype=np.int64)
    # A chunk found by one retriever only still has a score in the other: compute it, don't guess 0.
    dense_all = s.vectors("chunk", pool) @ q.vector
    lex_all = s.chunk_lexical.score_docs(q.terms, pool) / top if top > 0 else np.zeros(len(pool))
    fused = DENSE_SHARE * dense_all + LEXICAL_SHARE * lex_all
    kept: dict[tuple[int, ...], tuple[int, float]] = {}  # the chunk's sentences -> (chunk id, score)
    for i in np.argsort(-fused, kind="stable"):
        # A chunk whose sentences are those of a better one (a syndicated copy) adds nothing: it is
        # skipped, so the chunks kept hold as many different sentences as they can; of copies that
        # score the same, the newest article's is kept.
        cid, score = int(pool[i]), float(fused[i])
        key = tuple(s.sentence_hash(r) for r in s.chunk_rows(cid))
        if key in kept:
            other, other_score = kept[key]
            if score == other_score and _date(s, cid) > _date(s, other):
                kept[key] = (cid, score)
            continue
        if len(kept) == keep:
            break
        kept[key] = (cid, score)
    return dict(kept.values())


def _date(s: Snapshot, cid: int) -> str:
    return s.articles[int(s.chunks[cid, 0])].date
