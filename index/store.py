"""The index on disk: self-describing build folders, published atomically, loaded with checks.

Layout of ``index_dir``::

    CURRENT               one line: the id of the published build
    lock                  flock()ed by the one writer; the kernel drops it if the writer dies
    builds/<id>/          one complete build (manifest.json last); a build in progress is <id>.tmp

A build is written aside, every file fsynced, the folder renamed into place, then ``CURRENT`` is
replaced with ``os.replace``: a crash at any instant leaves the old index or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .errors import BusyError, CitebotError, IndexMismatchError, IndexMissingError, IndexWriteError
from .lexical import LexicalIndex

log = logging.getLogger(__name__)

# 2: sentences.npy gained each piece's sentence number, and sentence_hashes.npy was added.
FORMAT_VERSION = 2
BUILD_HINT = "run `python -m index build`"
# Files up to this size are hashed whole at every load. Bigger ones (vectors of a large corpus) are
# checked by size and by a hash of 64 evenly spaced 64 KiB samples: hashing gigabytes would make every
# start slow, and FAISS and numpy refuse a truncated file anyway.
HASH_LIMIT = 32 << 20
SAMPLES, SAMPLE_BYTES = 64, 64 << 10


@dataclass(frozen=True)
class StoredArticle:
    """An indexed article: metadata, its sentences' global range, its text's byte range in texts.bin.

    ``first_sentence`` and ``sentences`` give the range of its rows (pieces) in the sentence arrays: a
    sentence too long for the model is stored as several pieces. ``reader_sentences`` is how many
    sentences a reader counts.
    """

    id: str
    title: str
    date: str
    source: str
    sha256: str
    first_sentence: int
    sentences: int
    reader_sentences: int
    text_start: int
    text_end: int


@dataclass(frozen=True)
class Expectation:
    """What the loader must find in the manifest for the index to be usable with this config."""

    model: str
    fingerprint: str
    dim: int
    chunk_sentences: int
    chunk_overlap: int


@dataclass
class BuildData:
    """Everything a new build folder holds, in memory, before it is written."""

    articles: list[StoredArticle]
    texts: bytes
    sentences: np.ndarray  # (n_sentences, 4) int32: article idx, start, end (characters), 1-based number
    sentence_hashes: np.ndarray  # (n_sentences,) uint64: sentence_hash of each text as it was split
    chunks: np.ndarray  # (n_chunks, 3) int32: article idx, first sentence, last sentence (exclusive)
    sentence_vectors: np.ndarray  # (n_sentences, dim) float32, unit rows
    chunk_vectors: np.ndarray  # (n_chunks, dim) float32, unit rows
    sentence_lexical: LexicalIndex
    chunk_lexical: LexicalIndex


# --- the index folder -------------------------------------------------------------------------


def current_build(index_dir: Path) -> str | None:
    """The id of the published build, or None when nothing has been published."""
    try:
        text = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexMismatchError(f"{index_dir / 'CURRENT'} cannot be read ({exc.strerror})") from exc
    return text or None


def published_articles(index_dir: Path) -> dict[str, str]:
    """Article id -> content hash as the published build's manifest lists them, read without loading
    (or checking) the build: what a rebuild compares against when the build itself is damaged.
    Empty when there is no readable manifest."""
    try:
        build = current_build(index_dir)
        if build is None:
            return {}
        articles = json.loads((index_dir / "builds" / build / "manifest.json").read_text(encoding="utf-8"))["articles"]
        return {str(k): str(v) for k, v in articles.items()}
    except (CitebotError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


@contextlib.contextmanager
def write_lock(index_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's single-writer lock.

    flock() is released by the kernel when its holder exits or is killed, so a lock left by a dead
    process is never stale. The holder's pid is written into the file for the refusal message.

    Raises:
        BusyError: Another writer holds the lock for longer than ``wait`` seconds.
    """
    _make_dirs(index_dir)
    path = index_dir / "lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _write_error(index_dir, exc) from exc
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise BusyError(
                        f"another build (pid {holder}) is writing the index in {index_dir}; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _make_dirs(index_dir: Path) -> None:
    try:
        (index_dir / "builds").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(index_dir, exc) from exc


def _write_error(index_dir: Path, exc: OSError) -> IndexWriteError:
    reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
    return IndexWriteError(f"cannot write the index in {index_dir} ({reason}); the previous index is unchanged")


def write_build(index_dir: Path, data: BuildData, manifest: dict[str, Any], *, exact_max: int) -> str:
    """Write a complete build folder aside and publish it; the caller holds :func:`write_lock`.

    Returns:
        The new build's id.

    Raises:
        CitebotError: The folder is not writable or the disk is full; the old index is untouched.
    """
    build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    builds = index_dir / "builds"
    tmp = builds / f"{build_id}.tmp"
    try:
        tmp.mkdir(parents=True)
        files, described = _write_files(tmp, data, exact_max)
        manifest = dict(manifest)
        manifest["vector_indexes"] = described
        manifest["build_id"] = build_id
        manifest["format"] = FORMAT_VERSION
        manifest["counts"] = {
            "articles": len(data.articles),
            "sentences": len(data.sentences),
            "chunks": len(data.chunks),
        }
        manifest["articles"] = {a.id: a.sha256 for a in data.articles}
        manifest["files"] = {f.name: _file_digest(f) for f in files}
        # The manifest is written last: a folder without one was never finished.
        _write_synced(tmp / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        _fsync_dir(tmp)
        final = builds / build_id
        os.rename(tmp, final)
        _fsync_dir(builds)
        _write_synced(index_dir / "CURRENT.tmp", f"{build_id}\n".encode())
        os.replace(index_dir / "CURRENT.tmp", index_dir / "CURRENT")
        _fsync_dir(index_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(index_dir, exc) from exc
    return build_id


def clean_builds(index_dir: Path, *, keep: int = 2) -> None:
    """Remove unfinished builds and all but the newest ``keep`` finished ones; CURRENT's is always kept.

    One older build is kept by default because a process that loaded it a moment ago may still be
    reading it (the bot between two questions); deleting it is safe on Linux, but not everywhere.
    """
    builds = index_dir / "builds"
    current = current_build(index_dir)
    if not builds.is_dir():
        return
    finished = sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.endswith(".tmp"))
    doomed = [p for p in builds.iterdir() if p.name.endswith(".tmp")]
    doomed += [p for p in finished[:-keep] if p.name != current]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)


def _write_files(folder: Path, data: BuildData, exact_max: int) -> tuple[list[Path], dict[str, Any]]:
    """Write every file of a build; returns them and the manifest's description of the FAISS index.

    Questions are searched over chunks only, so only chunks get a FAISS index; the sentence vectors
    are stored once, as an array (the answer step and the evaluation read them directly).
    """
    files: list[Path] = []

    def save_npy(name: str, array: np.ndarray) -> None:
        path = folder / name
        np.save(path, np.ascontiguousarray(array))
        files.append(path)

    articles = [a.__dict__ for a in data.articles]
    (folder / "articles.json").write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
    files.append(folder / "articles.json")
    (folder / "texts.bin").write_bytes(data.texts)
    files.append(folder / "texts.bin")
    save_npy("sentences.npy", data.sentences.astype(np.int32))
    save_npy("sentence_hashes.npy", data.sentence_hashes.astype(np.uint64))
    save_npy("chunks.npy", data.chunks.astype(np.int32))
    save_npy("sentence_vectors.npy", data.sentence_vectors.astype(np.float32))
    save_npy("chunk_vectors.npy", data.chunk_vectors.astype(np.float32))
    index, info = make_vector_index(data.chunk_vectors, exact_max, data.sentence_vectors)
    faiss.write_index(index, str(folder / "chunks.faiss"))
    files.append(folder / "chunks.faiss")
    files += data.chunk_lexical.save(folder, "chunk_")
    files += data.sentence_lexical.save(folder, "sentence_")
    for path in files:
        _fsync_file(path)
    return files, {"chunks": info}


IVF_RECALL = 0.99  # the least recall@10 an approximate index must keep, measured at build time
NPROBES = (8, 16, 32, 64, 128, 256, 512, 1024)


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
) -> tuple[faiss.Index, dict[str, Any]]:
    """A FAISS index over unit vectors: inner product is cosine.

    Exact (flat) search up to ``exact_max`` vectors. Above it an IVF index (about 4·sqrt(n) lists),
    whose ``nprobe`` is the smallest that keeps recall@10 >= 0.99 against exact search, measured on
    ``probes``: real embeddings that are not in the index (the sentences, for the chunk index).
    Random vectors would be the wrong judge: real embeddings cluster, and IVF does far better on them.

    Returns:
        The index and a description for the manifest (type, lists, nprobe, measured recall).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= exact_max:
        flat = faiss.IndexFlatIP(dim)
        if n:
            flat.add(vectors)
        return flat, {"type": "flat"}
    nlist = int(min(65536, max(64, 4 * np.sqrt(n))))
    rng = np.random.default_rng(0)
    with faiss_threads(os.cpu_count() or 1):
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
        index.train(sample)
        index.add(vectors)
        if probes is None or not len(probes):
            probes = vectors[rng.choice(n, size=min(n, 200), replace=False)]
        probes = np.ascontiguousarray(probes[rng.permutation(len(probes))[:200]], dtype=np.float32)
        exact = faiss.IndexFlatIP(dim)
        exact.add(vectors)
        _, truth = exact.search(probes, 10)
        del exact
        recall = 0.0
        for nprobe in NPROBES:
            index.nprobe = min(nprobe, nlist)
            _, found = index.search(probes, 10)
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
            if recall >= IVF_RECALL or nprobe >= nlist:
                break
    return index, {"type": "ivf", "nlist": nlist, "nprobe": int(index.nprobe), "recall@10": round(recall, 4)}


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_digest(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    entry: dict[str, Any] = {"bytes": size}
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= HASH_LIMIT:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
            entry["sha256"] = digest.hexdigest()
        else:
            step = (size - SAMPLE_BYTES) // (SAMPLES - 1)
            for i in range(SAMPLES):
                f.seek(i * step)
                digest.update(f.read(SAMPLE_BYTES))
            entry["sampled_sha256"] = digest.hexdigest()
    return entry


# --- loading ----------------------------------------------------------------------------------


class Snapshot:
    """One published build, loaded and checked; read-only and safe to share between threads."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.build_id: str = manifest["build_id"]
        raw = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        self.articles = [StoredArticle(**a) for a in raw]
        self.by_id = {a.id: i for i, a in enumerate(self.articles)}
        self._texts = _map_bytes(folder / "texts.bin")
        self.sentences = np.load(folder / "sentences.npy", allow_pickle=False)
        self.sentence_hashes = np.load(folder / "sentence_hashes.npy", allow_pickle=False)
        self.chunks = np.load(folder / "chunks.npy", allow_pickle=False)
        # Mapped, not read: pages load on demand. Viewed as plain arrays, because every slice of a
        # np.memmap builds another memmap object, which the answer step would pay for per candidate.
        self.sentence_vectors = _mapped(folder / "sentence_vectors.npy")
        self.chunk_vectors = _mapped(folder / "chunk_vectors.npy")
        self.chunk_index = self._read_index("chunks")
        self.chunk_lexical = LexicalIndex.load(folder, "chunk_")
        self.sentence_lexical = LexicalIndex.load(folder, "sentence_")

    def _read_index(self, name: str) -> faiss.Index:
        index = faiss.read_index(str(self.folder / f"{name}.faiss"))
        info = self.manifest.get("vector_indexes", {}).get(name, {})
        if info.get("type") == "ivf":
            faiss.extract_index_ivf(index).nprobe = int(info["nprobe"])
        return index

    @property
    def dim(self) -> int:
        return int(self.manifest["model"]["dim"])

    def article_text(self, idx: int) -> str:
        a = self.articles[idx]
        return bytes(self._texts[a.text_start : a.text_end]).decode("utf-8")

    def sentence_text(self, sid: int) -> str:
        art, start, end = (int(x) for x in self.sentences[sid, :3])
        return self.article_text(art)[start:end]

    def sentence_number(self, sid: int) -> int:
        """1-based number, within its article, of the sentence (as a reader counts) that row ``sid`` is of."""
        return int(self.sentences[sid, 3])

    def sentence_rows(self, sid: int) -> range:
        """The rows of the whole sentence that row ``sid`` is a piece of (one row unless it was split)."""
        art = self.articles[int(self.sentences[sid, 0])]
        lo, hi, number = int(sid), int(sid) + 1, self.sentences[sid, 3]
        while lo > art.first_sentence and self.sentences[lo - 1, 3] == number:
            lo -= 1
        while hi < art.first_sentence + art.sentences and self.sentences[hi, 3] == number:
            hi += 1
        return range(lo, hi)


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


def load_snapshot(index_dir: Path, expect: Expectation | None) -> Snapshot:
    """Load the published build and check it against what the config expects.

    Raises:
        IndexMissingError: Nothing has been built in ``index_dir``.
        IndexMismatchError: The build is damaged, of another format, or made with another model,
            dimension or chunking; the message names both sides and the fixing command.
    """
    for attempt in range(2):
        build_id = current_build(index_dir)
        if build_id is None:
            raise IndexMissingError(f"no index in {index_dir} yet; {BUILD_HINT} to index the corpus")
        folder = index_dir / "builds" / build_id
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            break
        except FileNotFoundError:
            # A writer may have replaced CURRENT and cleaned this build between our two reads.
            if attempt == 0 and current_build(index_dir) != build_id:
                continue
            raise IndexMismatchError(
                f"the index in {index_dir} is damaged (build {build_id} has no manifest); {BUILD_HINT}"
            ) from None
        except (OSError, ValueError) as exc:
            raise IndexMismatchError(f"the index manifest in {folder} cannot be read ({exc}); {BUILD_HINT}") from exc
    check_manifest(manifest, expect, folder)
    faiss.omp_set_num_threads(1)  # answering: one thread per question (see faiss_threads)
    try:
        snapshot = Snapshot(folder, manifest)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexMismatchError(f"the index in {folder} cannot be loaded ({exc}); {BUILD_HINT}") from exc
    _check_counts(snapshot)
    return snapshot


def check_manifest(manifest: dict[str, Any], expect: Expectation | None, folder: Path) -> None:
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {folder} has format {manifest.get('format')}, this citebot reads format "
            f"{FORMAT_VERSION}; {BUILD_HINT} to rebuild it"
        )
    for name, entry in manifest.get("files", {}).items():
        path = folder / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexMismatchError(f"the index in {folder} is damaged ({name} is missing); {BUILD_HINT}") from None
        if size != entry["bytes"] or _file_digest(path) != entry:
            raise IndexMismatchError(
                f"the index in {folder} is damaged ({name} does not match its checksum); {BUILD_HINT}"
            )
    if expect is None:
        return
    model = manifest.get("model", {})
    sides = [
        ("model", model.get("name"), expect.model),
        ("model weights", model.get("fingerprint"), expect.fingerprint),
        ("dimension", model.get("dim"), expect.dim),
        ("chunking.sentences", manifest.get("chunking", {}).get("sentences"), expect.chunk_sentences),
        ("chunking.overlap", manifest.get("chunking", {}).get("overlap"), expect.chunk_overlap),
    ]
    for what, built, wanted in sides:
        if built != wanted:
            raise IndexMismatchError(
                f"the index was built with {what} {built!r} but the config asks for {wanted!r}; "
                f"{BUILD_HINT} to re-index with the configured settings"
            )


def _check_counts(s: Snapshot) -> None:
    counts = s.manifest["counts"]
    found = {
        "articles": len(s.articles),
        "sentences": len(s.sentences),
        "sentence hashes": len(s.sentence_hashes),
        "chunks": len(s.chunks),
        "sentence vectors": len(s.sentence_vectors),
        "chunk vectors": len(s.chunk_vectors),
        "chunk FAISS entries": s.chunk_index.ntotal,
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
        "chunk FAISS entries": counts["chunks"],
        "sentence lexical docs": counts["sentences"],
        "chunk lexical docs": counts["chunks"],
    }
    for what, n in found.items():
        if n != expected[what]:
            raise IndexMismatchError(
                f"the index in {s.folder} is inconsistent ({what}: {n}, manifest says {expected[what]}); {BUILD_HINT}"
            )
    dims = {s.chunk_index.d}
    if len(s.sentence_vectors):
        dims.add(s.sentence_vectors.shape[1])
    if dims != {s.dim}:
        raise IndexMismatchError(
            f"the index in {s.folder} mixes dimensions {sorted(dims)} (manifest says {s.dim}); {BUILD_HINT}"
        )
