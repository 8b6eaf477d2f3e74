"""A vector search limited to some ids (filters) is the full search restricted to them, exactly for
flat FAISS and numpy, and within the recall measured at build time for IVF."""

from __future__ import annotations

import numpy as np

from index.store import NumpyIndex, make_vector_index


def unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def expected(vectors: np.ndarray, query: np.ndarray, within: np.ndarray, k: int) -> list[int]:
    sims = vectors[within] @ query[0]
    return within[np.argsort(-sims, kind="stable")[:k]].tolist()


def test_flat_faiss_and_numpy_search_within_ids_exactly() -> None:
    vectors, query = unit(500), unit(1, seed=1)
    within = np.arange(3, 500, 7, dtype=np.int64)
    flat, info = make_vector_index(vectors, exact_max=10**6)
    assert info["type"] == "flat"
    for index in (flat, NumpyIndex(vectors)):
        _, ids = index.search(query, 5, within)
        assert ids[0].tolist() == expected(vectors, query, within, 5)
    # Fewer ids than k: padded with -1, as an index smaller than k is.
    for index in (flat, NumpyIndex(vectors)):
        _, ids = index.search(query, 5, np.array([10, 20], dtype=np.int64))
        assert sorted(ids[0].tolist()[:2]) == [10, 20] and ids[0].tolist()[2:] == [-1, -1, -1]


def test_ivf_search_within_ids_keeps_its_own_nprobe() -> None:
    vectors = unit(3000, seed=2)
    ivf, info = make_vector_index(vectors, exact_max=1000, probes=unit(200, seed=3))
    assert info["type"] == "ivf"
    within = np.arange(0, 3000, 2, dtype=np.int64)
    queries = unit(20, seed=4)
    found = 0
    for q in queries:
        _, ids = ivf.search(q.reshape(1, -1), 10, within)
        assert set(ids[0].tolist()) <= set(within.tolist()) | {-1}
        found += len(set(ids[0].tolist()) & set(expected(vectors, q.reshape(1, -1), within, 10)))
    assert found / (10 * len(queries)) >= 0.9  # recall@10 within the filter, at the nprobe chosen for 0.99
