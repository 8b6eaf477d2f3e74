"""The pipeline reads the index only through the Snapshot and the VectorIndex seam: over a brute-force
numpy index it gives exactly the answers it gives over FAISS."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from index.answer import Pipeline
from index.answer.model import Weights
from index.engine import Engine
from index.store import NumpyIndex, load_snapshot
from tests.conftest import NEWS


def test_the_answers_over_a_numpy_vector_index_are_the_answers_over_faiss(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(*sorted((NEWS / "articles").glob("*.md")))
    questions = [json.loads(line)["question"] for line in (NEWS / "questions.jsonl").read_text().splitlines()[:40]]
    faiss_snap = engine.snapshot()
    chunk_vectors = np.asarray(faiss_snap.vectors("chunk", slice(None)))
    numpy_snap = load_snapshot(engine.config.index_dir, chunk_index=NumpyIndex(chunk_vectors))
    assert type(faiss_snap.chunk_index).__name__ == "FaissIndex" and isinstance(numpy_snap.chunk_index, NumpyIndex)

    weights, search = Weights.load(), engine.config.search
    over_faiss = Pipeline(faiss_snap, engine.encoder, weights, search).run(questions, top_k=3)
    over_numpy = Pipeline(numpy_snap, engine.encoder, weights, search).run(questions, top_k=3)
    assert [r.answer for r in over_numpy] == [r.answer for r in over_faiss]
    assert sum(not r.answer.abstained for r in over_faiss) >= 20  # the questions were answered, not all refused


def test_the_numpy_index_pads_like_faiss() -> None:
    vectors = np.eye(4, dtype=np.float32)[:3]
    scores, ids = NumpyIndex(vectors).search(np.eye(4, dtype=np.float32)[:1], 5)
    assert ids.tolist() == [[0, 1, 2, -1, -1]] and scores[0, 0] == 1.0
