"""The index folder: self-describing build folders, published atomically, one writer at a time.

Layout of ``index_dir``::

    CURRENT               one line: the id of the published build
    lock                  flock()ed by the one writer; the kernel drops it if the writer dies
    builds/<id>/          one complete build (manifest.json last); a build in progress is <id>.tmp

A build is written aside, every file fsynced, the folder renamed into place, then ``CURRENT`` is
replaced with ``os.replace``: a crash at any instant leaves the old index or the new one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BusyError, CitebotError, IndexMismatchError, IndexWriteError, run_hint
from .lexical import LexicalIndex
from .manifest import FORMAT_VERSION, Manifest
from .vectors import make_vector_index

# Files up to this size are hashed whole at every load. Bigger ones (vectors of a large corpus) are
# checked by size and by a hash of 64 evenly spaced 64 KiB samples: hashing gigabytes would make every
# start slow, and FAISS and numpy refuse a truncated file anyway.
HASH_LIMIT = 32 << 20


SAMPLES, SAMPLE_BYTES = 64, 64 << 10


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
    words: dict[str, int]  # lowercased word -> occurrences in the sentences (the spelling vocabulary)


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


def write_build(index_dir: Path, data: BuildData, manifest: Manifest, *, exact_max: int) -> str:
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
        manifest = dataclasses.replace(
            manifest,
            vector_indexes=described,
            build_id=build_id,
            format=FORMAT_VERSION,
            counts={"articles": len(data.articles), "sentences": len(data.sentences), "chunks": len(data.chunks)},
            articles={a.id: a.sha256 for a in data.articles},
            files={f.name: _file_digest(f) for f in files},
        )
        # The manifest is written last: a folder without one was never finished.
        _write_synced(tmp / "manifest.json", json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode())
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
    (folder / "words.json").write_text(json.dumps(data.words, ensure_ascii=False), encoding="utf-8")
    files.append(folder / "words.json")
    save_npy("sentences.npy", data.sentences.astype(np.int32))
    save_npy("sentence_hashes.npy", data.sentence_hashes.astype(np.uint64))
    save_npy("chunks.npy", data.chunks.astype(np.int32))
    save_npy("sentence_vectors.npy", data.sentence_vectors.astype(np.float32))
    save_npy("chunk_vectors.npy", data.chunk_vectors.astype(np.float32))
    index, info = make_vector_index(data.chunk_vectors, exact_max, data.sentence_vectors)
    index.write(folder / "chunks.faiss")
    files.append(folder / "chunks.faiss")
    files += data.chunk_lexical.save(folder, "chunk_")
    files += data.sentence_lexical.save(folder, "sentence_")
    for path in files:
        _fsync_file(path)
    return files, {"chunks": info}


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


def check_files(folder: Path, manifest: Manifest) -> None:
    """Refuse a build whose files are missing or do not match the checksums its manifest records.

    Raises:
        IndexMismatchError: Naming the damaged file and the fixing command.
    """
    for name, entry in manifest.files.items():
        path = folder / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexMismatchError(f"the index in {folder} is damaged ({name} is missing); {run_hint()}") from None
        if size != entry["bytes"] or _file_digest(path) != entry:
            raise IndexMismatchError(
                f"the index in {folder} is damaged ({name} does not match its checksum); {run_hint()}"
            )
