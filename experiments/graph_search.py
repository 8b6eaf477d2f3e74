"""The chunk search as an HNSW graph against a flat scan, asked in turn of one engine.

``python -m experiments.graph_search [--config /tmp/citebot-bench/100k.yaml]`` from the repository
root, after ``python -m bench.speed --scales 10000,100000`` has built that index (above
``search.exact_search_max`` chunk vectors, so its chunk index is a graph).

The bench's 200 questions are asked of the one engine twice each, once with the built index and once
with an exact flat scan over the same float32 chunk vectors put in its place, the order alternated
question by question, so a slow spell of these shared cores falls on both alike. Prints warm ask
p50 / p95 of each, their ratio, and how many answers (every citation) are the same.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from bench.speed import questions
from index.config import load_config
from index.engine import Engine
from index.models import Answer
from index.store.vectors import FaissIndex


def _cited(answer: Answer) -> tuple[object, ...]:
    return (answer.abstained, tuple((c.article_id, c.sentence) for c in answer.citations))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", type=Path, default=Path("/tmp/citebot-bench/100k.yaml"))
    p.add_argument("--questions", type=int, default=200)
    args = p.parse_args(argv)
    engine = Engine(load_config(args.config))
    qs = questions(args.questions)
    engine.ask(qs[0])
    snap = engine.snapshot()
    described = snap.manifest.vector_indexes.get("chunks", {})
    vectors = np.ascontiguousarray(snap.chunk_vectors, dtype=np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    kinds = {str(described.get("type", "built")): snap.chunk_index, "flat": FaissIndex(exact)}
    for q in qs[:10]:  # warm-up
        engine.ask(q)
    times: dict[str, list[float]] = {k: [] for k in kinds}
    answers: dict[str, list[tuple[object, ...]]] = {k: [] for k in kinds}
    names = list(kinds)
    for i, q in enumerate(qs):
        for name in names if i % 2 else names[::-1]:
            snap.chunk_index = kinds[name]
            started = time.perf_counter()
            answer = engine.ask(q)
            times[name].append((time.perf_counter() - started) * 1000)
            answers[name].append(_cited(answer))
    print(f"{len(vectors):,} chunk vectors; built index: {described}")
    for name, ms in times.items():
        print(f"  {name:6s} warm ask p50 {np.median(ms):.1f} ms  p95 {np.percentile(ms, 95):.1f} ms")
    first, second = names
    print(f"  p50 {first} / {second}: {np.median(times[first]) / np.median(times[second]):.2f}")
    same = sum(a == b for a, b in zip(answers[first], answers[second], strict=True))
    print(f"  same answers (every citation): {same} of {len(qs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
