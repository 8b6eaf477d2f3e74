"""Vector search: the VectorIndex seam, its FAISS implementation, and a brute-force numpy one.

Geometry: every vector is L2-normalized float32, so inner product is cosine. The answer step only
sees :class:`VectorIndex`; FAISS is imported here and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np

APPROX_RECALL = 0.99  # the least recall@10 an approximate index must keep, measured at build time
# HNSW graph: links per vector, and the breadth of the search while the graph is built.
HNSW_LINKS = 32
HNSW_BUILD_BREADTH = 80
# Search breadths tried at build time, smallest first: the first that keeps APPROX_RECALL is kept.
HNSW_BREADTHS = (16, 32, 64, 128, 256, 512, 1024)
# faiss-cpu's type stubs lag the library (no SearchParametersHNSW; IndexHNSWSQ's quantizer type as
# an int): the HNSW calls go through this untyped handle.
_hnsw: Any = faiss


class VectorIndex(Protocol):
    """Nearest neighbours by inner product over unit vectors (cosine)."""

    @property
    def ntotal(self) -> int:
        """How many vectors the index holds."""
        ...

    def search(self, queries: np.ndarray, k: int, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best of each query.

        Args:
            queries: float32 (n, dim), unit rows.
            k: Neighbours per query.
            within: Sorted ids the search is limited to (None: every vector).

        Returns:
            (scores float32 (n, k), ids int64 (n, k)), best first; ids are -1 (and scores -inf or
            undefined) where the index holds fewer than ``k`` vectors.
        """
        ...


class FaissIndex:
    """A FAISS index (flat, or HNSW with the search breadth measured at build time) as a :class:`VectorIndex`.

    Indexes built before HNSW (IVF with its measured nprobe) still load and search.
    """

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def breadth(self) -> int | None:
        """An HNSW graph's search breadth (efSearch); None for other kinds."""
        graph: Any = self._index
        return int(graph.hnsw.efSearch) if isinstance(graph, faiss.IndexHNSW) else None

    def search(self, queries: np.ndarray, k: int, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(queries, dtype=np.float32)
        if within is None:
            sims, ids = self._index.search(x, k)
            return sims, ids
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(within, dtype=np.int64))
        # Given parameters replace the index's own: carry its measured breadth / nprobe over.
        params: Any
        if (breadth := self.breadth) is not None:
            params = _hnsw.SearchParametersHNSW()
            params.efSearch = breadth
        elif ivf := faiss.try_extract_index_ivf(self._index):
            params = faiss.SearchParametersIVF()
            params.nprobe = ivf.nprobe
        else:
            params = faiss.SearchParameters()
        params.sel = selector
        sims, ids = self._index.search(x, k, params=params)
        return sims, ids

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))


def read_vector_index(path: Path, info: dict[str, Any]) -> FaissIndex:
    """Load a FAISS index written by :meth:`FaissIndex.write`, with the search breadth (HNSW) or
    nprobe (IVF, older builds) its manifest records."""
    index: Any = faiss.read_index(str(path))
    if info.get("type") == "hnsw":
        index.hnsw.efSearch = int(info["breadth"])
    elif info.get("type") == "ivf":
        faiss.extract_index_ivf(index).nprobe = int(info["nprobe"])
    faiss.omp_set_num_threads(1)  # answering: one thread per question (see faiss_threads)
    return FaissIndex(index)


class NumpyIndex:
    """Exact search by one matrix product: the reference every other :class:`VectorIndex` must agree with."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def ntotal(self) -> int:
        return len(self._vectors)

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    def search(self, queries: np.ndarray, k: int, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        sims = np.asarray(queries, dtype=np.float32) @ self._vectors.T  # (n, ntotal)
        if within is not None:
            outside = np.ones(self.ntotal, dtype=bool)
            outside[within] = False
            sims[:, outside] = -np.inf
        take = min(k, self.ntotal)
        ids = np.argsort(-sims, axis=1, kind="stable")[:, :take]
        scores = np.take_along_axis(sims, ids, axis=1)
        pad = k - take
        if pad:
            ids = np.hstack([ids, np.full((len(ids), pad), -1)])
            scores = np.hstack([scores, np.full((len(scores), pad), -np.inf, dtype=np.float32)])
        ids = np.where(np.isneginf(scores), -1, ids)  # outside ``within``: padding, as FAISS gives
        return scores.astype(np.float32), ids.astype(np.int64)


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Let FAISS use ``n`` threads inside the block (training, ground truth), then one again.

    Answering uses one thread: a single query gains nothing from two, and with another process on
    the second core a two-thread search is several times slower.
    """
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


def make_vector_index(
    vectors: np.ndarray, exact_max: int, probes: np.ndarray | None = None
) -> tuple[FaissIndex, dict[str, Any]]:
    """A FAISS index over unit vectors: inner product is cosine.

    Exact (flat) search up to ``exact_max`` vectors. Above it an HNSW graph over float16 copies of
    the vectors (the float32 ones are kept beside it, and the answer step rescores its hits with
    them): a flat scan reads every vector from memory for every question (5.2 ms at 48k chunks,
    against 0.26 ms for the graph; docs/research.md). Its search breadth is the smallest that keeps
    recall@10 >= 0.99 against exact search, measured on ``probes``: real embeddings that are not in
    the index (the sentences, for the chunk index). Random vectors would be the wrong judge: real
    embeddings cluster, and a graph does better on them.

    Returns:
        The index and a description for the manifest (type, links, breadth, measured recall).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= exact_max:
        flat = faiss.IndexFlatIP(dim)
        if n:
            flat.add(vectors)
        return FaissIndex(flat), {"type": "flat"}
    rng = np.random.default_rng(0)
    with faiss_threads(os.cpu_count() or 1):
        index = _hnsw.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_BREADTH
        index.train(vectors)  # float16 needs no statistics: this only marks it trained
        index.add(vectors)
        if probes is None or not len(probes):
            probes = vectors[rng.choice(n, size=min(n, 200), replace=False)]
        probes = np.ascontiguousarray(probes[rng.permutation(len(probes))[:200]], dtype=np.float32)
        _, truth = faiss.knn(probes, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)  # exact, no copy of the vectors
        recall = 0.0
        for breadth in HNSW_BREADTHS:
            index.hnsw.efSearch = breadth
            _, found = index.search(probes, 10)
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
            if recall >= APPROX_RECALL:
                break
    info = {"type": "hnsw", "links": HNSW_LINKS, "breadth": int(index.hnsw.efSearch), "recall@10": round(recall, 4)}
    return FaissIndex(index), info
