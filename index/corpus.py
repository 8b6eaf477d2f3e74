"""Writes into the corpus folder: save an article (one id, one file), move one to .removed/, and
tell what changed there since the last build."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from .errors import ArticleError, CitebotError, CorpusMissingError
from .models import Article
from .store.manifest import Manifest
from .store.snapshot import Snapshot
from .text.articles import (
    HTML_SUFFIXES,
    CorpusFile,
    article_to_markdown,
    read_article_file,
    scan_corpus,
    walk_corpus,
)

REMOVED_DIR = ".removed"  # removed articles are moved here, never deleted (hidden: not scanned)


def require_folder(corpus: Path) -> Path:
    """``corpus``, or a one-line error saying how to create or point at it."""
    if not corpus.is_dir():
        raise CorpusMissingError(
            f"the corpus folder {corpus} does not exist; create it or set corpus_dir in the config (or --corpus)"
        )
    return corpus


def save_article(corpus: Path, article: Article, raw: bytes | None, name: str) -> None:
    """Write an article into the corpus folder, replacing another file of the same id.

    Text and Markdown uploads are kept as they came; HTML and URLs are saved as Markdown with front
    matter (their text as read), so a later build reads exactly what was indexed.
    """
    keep_raw = raw is not None and Path(name).suffix.lower() not in HTML_SUFFIXES
    target = corpus / (article.id + (Path(name).suffix.lower() if keep_raw else ".md"))
    data = raw if keep_raw and raw is not None else article_to_markdown(article).encode("utf-8")
    files, _ = scan_corpus(corpus)
    same_id = [f.path for f in files if f.id == article.id and f.path.resolve() != target.resolve()]
    if not (target.is_file() and target.read_bytes() == data):
        write_atomic(target, data)
    for other in same_id:  # a new foo.md replaces foo.txt: one id, one file
        move_to_removed(corpus, other)


def remove_article(corpus: Path, article_id: str) -> int:
    """Move every file of ``article_id`` to ``.removed/``; returns how many were moved."""
    files, _ = scan_corpus(corpus)
    matches = [f.path for f in files if f.id == article_id]
    for path in matches:
        move_to_removed(corpus, path)
    return len(matches)


def same_text_elsewhere(snap: Snapshot, article: Article) -> str | None:
    """The id of another indexed article with exactly this text, if any."""
    size = len(article.text.encode("utf-8"))
    for idx, other in enumerate(snap.articles):
        # Compare the text, not the hash: the hash also covers the source (a file name), and the
        # same story uploaded under two names is still one article.
        same_size = other.text_end - other.text_start == size
        if other.id != article.id and same_size and snap.article_text(idx) == article.text:
            return other.id
    return None


def file_stats(files: Sequence[CorpusFile]) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of each corpus file, as a build records them."""
    out = {}
    for f in files:
        with contextlib.suppress(OSError):
            st = f.path.stat()
            out[f.name] = [st.st_size, st.st_mtime_ns]
    return out


def _plain_stats(corpus: Path) -> dict[str, list[int]] | None:
    """:func:`file_stats` of every article file the corpus folder lists, from the listing itself,
    when it holds no link, else None (a link is judged as :func:`scan_corpus` judges it, by the
    slow path)."""
    out: dict[str, list[int]] = {}
    try:
        for name, _, _, entry in walk_corpus(corpus.resolve()):
            if entry is None:
                return None
            st = entry.stat(follow_symlinks=False)
            out[name] = [st.st_size, st.st_mtime_ns]
    except OSError:
        return None
    return out


def changed_since(corpus: Path, manifest: Manifest, *, max_bytes: int) -> int:
    """How many articles the corpus folder has added, changed or removed since the build.

    Files are compared by size and modification time with what the build recorded; only a file
    whose stat differs is read, and it counts when its content hash differs too.
    """
    if not manifest.corpus_files or not corpus.is_dir():
        return 0
    if _plain_stats(corpus) == manifest.corpus_files:
        return 0  # the common case, told by one listing and a stat per file
    files, _ = scan_corpus(corpus)
    stats = file_stats(files)
    changed = sum(1 for name in manifest.corpus_files if name not in stats)
    for f in files:
        if manifest.corpus_files.get(f.name) == stats.get(f.name):
            continue
        try:
            digest: str | None = read_article_file(f.path, max_bytes=max_bytes, article_id=f.id).sha256
        except ArticleError:
            digest = None
        changed += digest is None or manifest.articles.get(f.id) != digest
    return changed


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``target`` whole or not at all, with ordinary permissions (0666 less the umask: 0644
    usually), as any other file the user saves there (mkstemp would make it 0600)."""
    tmp = target.with_name(f".tmp-{secrets.token_hex(6)}{target.suffix}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CitebotError(f"cannot write {target} ({exc.strerror or exc})") from exc


def move_to_removed(corpus: Path, path: Path) -> None:
    trash = corpus / REMOVED_DIR
    trash.mkdir(exist_ok=True)
    shutil.move(str(path), str(trash / path.name))
