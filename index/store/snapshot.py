"""One published build, loaded and checked once, read through typed accessors.

Row ids: the sentence arrays hold one row per *piece* (a sentence too long for the model is stored
as several pieces that share its number); "sid" is such a row id everywhere. Chunks are windows of
rows. Callers go through the accessors, never through the arrays' columns.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError, IndexMissingError, run_hint
from .folder import StoredArticle, check_files, current_build
from .lexical import LexicalIndex
from .manifest import Expectation, Manifest, check_manifest
from .vectors import VectorIndex, read_vector_index


class Snapshot:
    """One published build; read-only and safe to share between threads.

    Args:
        folder: The build folder.
        manifest: Its manifest.
        chunk_index: The vector index over the chunks; by default the build's FAISS index (a test
            can pass another :class:`~index.store.vectors.VectorIndex`, such as the numpy one).
    """

    def __init__(self, folder: Path, manifest: Manifest, *, chunk_index: VectorIndex | None = None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.build_id = manifest.build_id
        raw = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        self.articles = [StoredArticle(**a) for a in raw]
        self.by_id = {a.id: i for i, a in enumerate(self.articles)}
        self._texts = _map_bytes(folder / "texts.bin")
        self.sentences = np.load(folder / "sentences.npy", allow_pickle=False)  # (n, 4): article, start, end, number
        self.sentence_hashes = np.load(folder / "sentence_hashes.npy", allow_pickle=False)
        self.chunks = np.load(folder / "chunks.npy", allow_pickle=False)  # (m, 3): article, first row, last row
        # Mapped, not read: pages load on demand. Viewed as plain arrays, because every slice of a
        # np.memmap builds another memmap object, which the answer step would pay for per candidate.
        self.sentence_vectors = _mapped(folder / "sentence_vectors.npy")
        self.chunk_vectors = _mapped(folder / "chunk_vectors.npy")
        self.chunk_index: VectorIndex = chunk_index or read_vector_index(
            folder / "chunks.faiss", manifest.vector_indexes.get("chunks", {})
        )
        self.chunk_lexical = LexicalIndex.load(folder, "chunk_")
        self.sentence_lexical = LexicalIndex.load(folder, "sentence_")
        self._words: dict[str, int] | None = None
        self._words_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.manifest.model.dim

    def check(self, expect: Expectation) -> None:
        """Refuse to answer with a model or chunking other than the build's (see :func:`check_manifest`)."""
        check_manifest(self.manifest, expect)

    # --- articles -------------------------------------------------------------------------------

    def article_text(self, idx: int) -> str:
        """The stored body of article ``idx`` (every offset points into it)."""
        a = self.articles[idx]
        return bytes(self._texts[a.text_start : a.text_end]).decode("utf-8")

    def article_index(self, sid: int) -> int:
        """The index in ``articles`` of the article that row ``sid`` belongs to."""
        return int(self.sentences[sid, 0])

    def article_of(self, sid: int) -> StoredArticle:
        return self.articles[self.article_index(sid)]

    def article_rows(self, sid: int) -> range:
        """Every row of the article that row ``sid`` belongs to."""
        art = self.article_of(sid)
        return range(art.first_sentence, art.first_sentence + art.sentences)

    def numbered_spans(self, idx: int) -> list[tuple[int, int, int]]:
        """(number, start, end) of each sentence of article ``idx`` as a reader counts them: the pieces
        of a sentence split for the model are one span."""
        a = self.articles[idx]
        rows = self.sentences[a.first_sentence : a.first_sentence + a.sentences]
        spans: list[tuple[int, int, int]] = []
        for number, start, end in zip(rows[:, 3].tolist(), rows[:, 1].tolist(), rows[:, 2].tolist(), strict=True):
            if spans and spans[-1][0] == number:
                spans[-1] = (number, spans[-1][1], end)
            else:
                spans.append((number, start, end))
        return spans

    # --- sentences ------------------------------------------------------------------------------

    def sentence_span(self, sid: int) -> tuple[int, int]:
        """(start, end) of row ``sid`` in its article's text."""
        return int(self.sentences[sid, 1]), int(self.sentences[sid, 2])

    def sentence_text(self, sid: int) -> str:
        start, end = self.sentence_span(sid)
        return self.article_text(self.article_index(sid))[start:end]

    def sentence_hash(self, sid: int) -> int:
        """The hash of row ``sid``'s text recorded when it was split (:func:`sentence_hash`)."""
        return int(self.sentence_hashes[sid])

    def sentence_number(self, sid: int) -> int:
        """1-based number, within its article, of the sentence (as a reader counts) that row ``sid`` is of."""
        return int(self.sentences[sid, 3])

    def sentence_rows(self, sid: int) -> range:
        """The rows of the whole sentence that row ``sid`` is a piece of (one row unless it was split)."""
        rows = self.article_rows(sid)
        lo, hi, number = int(sid), int(sid) + 1, self.sentences[sid, 3]
        while lo > rows.start and self.sentences[lo - 1, 3] == number:
            lo -= 1
        while hi < rows.stop and self.sentences[hi, 3] == number:
            hi += 1
        return range(lo, hi)

    def words(self) -> dict[str, int]:
        """Every lowercased word of the sentences and how often it occurs; read on first need (only a
        question with a word the index does not know needs it)."""
        if self._words is None:
            with self._words_lock:
                if self._words is None:
                    self._words = json.loads((self.folder / "words.json").read_text(encoding="utf-8"))
        return self._words

    # --- chunks and vectors ---------------------------------------------------------------------

    def chunk_rows(self, cid: int) -> range:
        """The sentence rows that chunk ``cid`` holds."""
        return range(int(self.chunks[cid, 1]), int(self.chunks[cid, 2]))

    def vectors(self, kind: str, ids: np.ndarray | range | slice) -> np.ndarray:
        """Unit vectors (len(ids), dim) float32 of sentence rows (``kind="sentence"``) or chunks."""
        table = {"sentence": self.sentence_vectors, "chunk": self.chunk_vectors}[kind]
        if isinstance(ids, range):
            ids = slice(ids.start, ids.stop)
        return table[ids]


def sentence_hash(text: str) -> int:
    """A 64-bit hash of a sentence's text, recorded when it is split: the independent record that a
    quote is checked against, so a wrong offset or a damaged text store cannot pass for a quote."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _mapped(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False, mmap_mode="r").view(np.ndarray)


def _map_bytes(path: Path) -> np.ndarray | bytes:
    if path.stat().st_size == 0:
        return b""
    return np.memmap(path, dtype=np.uint8, mode="r")


def load_snapshot(index_dir: Path, *, chunk_index: VectorIndex | None = None) -> Snapshot:
    """Load the published build: its manifest, files checked against their checksums, counts.

    Raises:
        IndexMissingError: Nothing has been built in ``index_dir``.
        IndexMismatchError: The build is damaged or of another format; the message names the fix.
            (Whether it fits the configured model is :meth:`Snapshot.check`.)
    """
    for attempt in range(2):
        build_id = current_build(index_dir)
        if build_id is None:
            raise IndexMissingError(f"no index in {index_dir} yet; {run_hint()} to index the corpus")
        folder = index_dir / "builds" / build_id
        try:
            raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            break
        except FileNotFoundError:
            # A writer may have replaced CURRENT and cleaned this build between our two reads.
            if attempt == 0 and current_build(index_dir) != build_id:
                continue
            raise IndexMismatchError(
                f"the index in {index_dir} is damaged (build {build_id} has no manifest); {run_hint()}"
            ) from None
        except (OSError, ValueError) as exc:
            raise IndexMismatchError(f"the index manifest in {folder} cannot be read ({exc}); {run_hint()}") from exc
    manifest = Manifest.from_json(raw, folder)
    check_files(folder, manifest)
    try:
        snapshot = Snapshot(folder, manifest, chunk_index=chunk_index)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexMismatchError(f"the index in {folder} cannot be loaded ({exc}); {run_hint()}") from exc
    _check_counts(snapshot)
    return snapshot


def _check_counts(s: Snapshot) -> None:
    counts = s.manifest.counts
    found = {
        "articles": len(s.articles),
        "sentences": len(s.sentences),
        "sentence hashes": len(s.sentence_hashes),
        "chunks": len(s.chunks),
        "sentence vectors": len(s.sentence_vectors),
        "chunk vectors": len(s.chunk_vectors),
        "chunk vector index entries": s.chunk_index.ntotal,
        "sentence lexical docs": s.sentence_lexical.n_docs,
        "chunk lexical docs": s.chunk_lexical.n_docs,
    }
    expected = {
        "articles": counts["articles"],
        "sentences": counts["sentences"],
        "sentence hashes": counts["sentences"],
        "chunks": counts["chunks"],
        "sentence vectors": counts["sentences"],
        "chunk vectors": counts["chunks"],
        "chunk vector index entries": counts["chunks"],
        "sentence lexical docs": counts["sentences"],
        "chunk lexical docs": counts["chunks"],
    }
    for what, n in found.items():
        if n != expected[what]:
            raise IndexMismatchError(
                f"the index in {s.folder} is inconsistent ({what}: {n}, manifest says {expected[what]}); {run_hint()}"
            )
    dims = {int(s.chunk_vectors.shape[1]) if s.chunk_vectors.ndim == 2 else s.dim}
    if len(s.sentence_vectors):
        dims.add(s.sentence_vectors.shape[1])
    if dims != {s.dim}:
        raise IndexMismatchError(
            f"the index in {s.folder} mixes dimensions {sorted(dims)} (manifest says {s.dim}); {run_hint()}"
        )
