"""Chunk vectors are pooled from their sentences' vectors: only sentences are embedded."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np

from index.builder import pool_chunks
from index.engine import Engine
from tests.conftest import SEED


def test_a_chunk_vector_is_the_normalized_mean_of_its_sentences() -> None:
    rows = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    chunks = np.array([[0, 3], [2, 5], [4, 5]], dtype=np.int32)
    pooled = pool_chunks(rows, chunks)
    for (first, last), vector in zip(chunks, pooled, strict=True):
        mean = rows[first:last].mean(axis=0)
        np.testing.assert_allclose(vector, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    assert pool_chunks(rows, np.zeros((0, 2), dtype=np.int32)).shape == (0, 8)


def test_a_build_embeds_each_sentence_once_and_pools_the_chunks(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(build=False)
    shutil.copy(SEED, engine.config.corpus_dir / SEED.name)
    report = engine.rebuild()
    snap = engine.snapshot()
    assert report.embedded_sentences == len(snap.sentences) == 18
    for cid in range(len(snap.chunks)):
        rows = snap.chunk_rows(cid)
        mean = np.asarray(snap.vectors("sentence", rows)).mean(axis=0)
        np.testing.assert_allclose(
            snap.vectors("chunk", slice(cid, cid + 1))[0], mean / np.linalg.norm(mean), atol=1e-5
        )
