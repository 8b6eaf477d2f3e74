"""Embed each text once? Chunk vectors pooled from their sentences' vectors, against embedded chunks.

``python -m experiments.pooled_chunks [SET ...]`` from the repository root.

A build embeds every sentence and every chunk (three sentences, one shared with each neighbour):
the chunks are most of the word pieces embedded. Here each eval set's index is answered twice with
the same pipeline and weights: with its embedded chunk vectors, and with each chunk's vector
replaced by the normalized mean of its sentences' vectors (and the vector index over them). The
table gives hit@1 / hit@3 of the first quotes (an abstention on an answerable question is a miss)
and the abstention precision and recall, as ``python -m index eval`` counts them.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments import EVAL_SETS
from index.config import load_config
from index.evaluate import eval_engine, is_hit, load_question_set
from index.store import NumpyIndex, load_snapshot
from index.store.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[1]


def pooled(s: Snapshot) -> np.ndarray:
    """(m, dim) unit vectors: each chunk's the normalized mean of its rows' vectors."""
    sv = np.asarray(s.sentence_vectors)
    out = np.zeros((len(s.chunks), sv.shape[1]), dtype=np.float32)
    for cid in range(len(s.chunks)):
        rows = s.chunk_rows(cid)
        v = sv[rows.start : rows.stop].mean(axis=0)
        out[cid] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sets", nargs="*", default=list(EVAL_SETS))
    args = p.parse_args(argv)
    config = load_config(ROOT / "config.yaml")
    print(f"{'set':10s} {'chunks':>9s}  {'hit@1':>6s} {'hit@3':>6s} {'abst P':>6s} {'abst R':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.sets:
            qset = load_question_set(ROOT / path, None, Path(tmp))
            engine = eval_engine(config, qset)
            embedded = engine.snapshot()
            vectors = pooled(embedded)
            mean_cos = float(np.mean(np.sum(vectors * np.asarray(embedded.chunk_vectors), axis=1)))
            alt = load_snapshot(engine.config.index_dir, chunk_index=NumpyIndex(vectors))
            alt.chunk_vectors = vectors
            for label, snap in (("embedded", embedded), ("pooled", alt)):
                ranked = engine.pipeline(snap).run([q.question for q in qset.questions], top_k=3)
                hit1 = hit3 = n = right = refused = unans = 0
                for q, r in zip(qset.questions, ranked, strict=True):
                    a = r.answer
                    refused += a.abstained
                    if q.answerable:
                        n += 1
                        hits = [is_hit(q, c.article_id, c.text) for c in a.citations]
                        hit1 += bool(hits[:1] and hits[0])
                        hit3 += any(hits[:3])
                    else:
                        unans += 1
                        right += a.abstained
                precision = f"{right / refused:.3f}" if refused else "—"
                recall = f"{right / unans:.3f}" if unans else "—"
                print(f"{qset.name:10s} {label:>9s}  {hit1 / n:.3f} {hit3 / n:.3f} {precision:>6s} {recall:>6s}")
            print(f"{'':10s} (mean cosine pooled vs embedded chunk vector {mean_cos:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
