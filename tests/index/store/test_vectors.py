"""A vector search limited to some ids (filters) is the full search restricted to them, exactly for
flat FAISS and numpy, and within the recall measured at build time for HNSW."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.store import NumpyIndex, make_vector_index
from index.store.vectors import read_vector_index


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


def test_hnsw_keeps_the_recall_it_measured_and_searches_within_ids() -> None:
    vectors = unit(3000, seed=2)
    hnsw, info = make_vector_index(vectors, exact_max=1000, probes=unit(200, seed=3))
    assert info["type"] == "hnsw" and info["recall@10"] >= 0.99
    queries = unit(20, seed=4)
    everything = np.arange(3000, dtype=np.int64)
    within = everything[::2]
    found_all = found_within = 0
    for q in queries:
        q = q.reshape(1, -1)
        _, ids = hnsw.search(q, 10)
        found_all += len(set(ids[0].tolist()) & set(expected(vectors, q, everything, 10)))
        _, ids = hnsw.search(q, 10, within)
        assert set(ids[0].tolist()) <= set(within.tolist()) | {-1}
        found_within += len(set(ids[0].tolist()) & set(expected(vectors, q, within, 10)))
    assert found_all / (10 * len(queries)) >= 0.95  # measured on other probes: a little slack
    assert found_within / (10 * len(queries)) >= 0.9


def test_the_search_breadth_the_build_chose_is_the_one_a_loaded_index_uses(tmp_path: Path) -> None:
    hnsw, info = make_vector_index(unit(3000, seed=2), exact_max=1000, probes=unit(200, seed=3))
    hnsw.write(tmp_path / "chunks.faiss")
    loaded = read_vector_index(tmp_path / "chunks.faiss", info)
    assert loaded.breadth == info["breadth"]
    assert read_vector_index(tmp_path / "chunks.faiss", {**info, "breadth": 7}).breadth == 7


def test_an_ivf_index_of_an_older_build_still_loads_with_its_nprobe(tmp_path: Path) -> None:
    vectors = unit(3000, seed=2)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 32, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    faiss.write_index(ivf, str(tmp_path / "chunks.faiss"))
    loaded = read_vector_index(tmp_path / "chunks.faiss", {"type": "ivf", "nlist": 32, "nprobe": 32})
    q = vectors[:1]
    _, ids = loaded.search(q, 3)
    assert ids[0].tolist() == expected(vectors, q, np.arange(3000), 3)  # every list probed: exact
    _, ids = loaded.search(q, 3, np.arange(1, 3000, dtype=np.int64))
    assert 0 not in ids[0].tolist() and ids[0].tolist() == expected(vectors, q, np.arange(1, 3000), 3)
