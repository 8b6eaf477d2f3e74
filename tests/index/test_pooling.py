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


def test_a_sentence_repeated_in_a_syndicated_copy_is_embedded_once(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(build=False)
    original = SEED.read_text(encoding="utf-8")
    lines = original.split("\n")
    (engine.config.corpus_dir / "original.txt").write_text(original, encoding="utf-8")
    # The copy: the same article with one more sentence at the end (one new text to embed).
    copy = "\n".join([*lines, "", "The wire copy adds that talks with the protesters resumed on Wednesday."])
    (engine.config.corpus_dir / "wire-copy.txt").write_text(copy, encoding="utf-8")
    report = engine.rebuild()
    snap = engine.snapshot()
    assert len(snap.sentences) == 18 + 19
    assert report.embedded_sentences == 19  # the copy's 18 repeated sentences took the original's vectors
    first, second = (snap.by_id[a] for a in ("original", "wire-copy"))
    rows = [range(snap.articles[i].first_sentence, snap.articles[i].first_sentence + 18) for i in (first, second)]
    np.testing.assert_array_equal(snap.vectors("sentence", rows[0]), snap.vectors("sentence", rows[1]))
