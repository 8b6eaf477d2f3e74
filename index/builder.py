"""A build: read the corpus, split and chunk new articles, embed only them, reuse the rest of the
last build, and publish the new build folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config
from .corpus import file_stats
from .embed.base import Encoder
from .errors import ArticleError
from .models import Article, BuildReport
from .store.folder import BuildData, StoredArticle, clean_builds, published_articles, write_build
from .store.lexical import LexicalIndex
from .store.manifest import Expectation, Manifest, ModelInfo
from .store.snapshot import Snapshot, sentence_hash
from .text.articles import read_article_file, scan_corpus
from .text.chunking import chunk_sentences
from .text.sentences import fit_sentences, split_sentences
from .text.terms import terms_many, word_counts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkSettings:
    sentences: int
    overlap: int


@dataclass
class _Parts:
    """One article's rows, with article-local sentence numbers."""

    sentences: np.ndarray  # (n, 3) int32: start, end, 1-based number of the sentence a reader counts
    hashes: np.ndarray  # (n,) uint64: sentence_hash of each piece's text as it was split
    chunks: np.ndarray  # (m, 2) int32: first, last (exclusive), local
    sentence_vectors: np.ndarray | None  # (n, dim) or None until embedded
    chunk_vectors: np.ndarray | None


def assemble(
    articles: Sequence[Article],
    *,
    previous: Snapshot | None,
    encoder: Encoder,
    chunking: ChunkSettings,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> tuple[BuildData, int]:
    """Build the in-memory contents of a new build folder.

    Args:
        articles: Every article the new build holds, in the order to store them.
        previous: The last build, when it was made with the same model and chunking: articles whose
            hash it already holds are copied from it instead of being split and embedded again.
        encoder: Embeds what is new.
        chunking: Sentences per chunk and overlap.
        batch_size: Encoder batch size.
        progress: Called with the number of sentences (and chunks) embedded after each batch.
        on_total: Called once with the number of texts that will be embedded.

    Returns:
        The build data and how many sentences were embedded (0 when nothing changed).
    """
    parts: list[_Parts] = []
    pending: list[tuple[int, Article]] = []
    for i, article in enumerate(articles):
        reused = _reuse(previous, article)
        if reused is None:
            pending.append((i, article))
            parts.append(_split(article, encoder, chunking))
        else:
            parts.append(reused)
    embedded = _embed_pending(pending, parts, encoder, batch_size, progress, on_total)
    return _concatenate(articles, parts, encoder.dim), embedded


def _reuse(previous: Snapshot | None, article: Article) -> _Parts | None:
    if previous is None or article.id not in previous.by_id:
        return None
    idx = previous.by_id[article.id]
    old = previous.articles[idx]
    if old.sha256 != article.sha256:
        return None
    lo, hi = old.first_sentence, old.first_sentence + old.sentences
    chunk_rows = np.flatnonzero(previous.chunks[:, 0] == idx)
    return _Parts(
        sentences=np.asarray(previous.sentences[lo:hi, 1:4]),
        hashes=np.asarray(previous.sentence_hashes[lo:hi]),
        chunks=np.asarray(previous.chunks[chunk_rows, 1:3]) - lo,
        sentence_vectors=np.asarray(previous.sentence_vectors[lo:hi]),
        chunk_vectors=np.asarray(previous.chunk_vectors[chunk_rows]),
    )


def _split(article: Article, encoder: Encoder, chunking: ChunkSettings) -> _Parts:
    sentences, numbers = fit_sentences(
        article.text, split_sentences(article.text), encoder.token_counts, encoder.max_tokens
    )
    chunks = chunk_sentences(
        article.text,
        sentences,
        size=chunking.sentences,
        overlap=chunking.overlap,
        count_tokens=encoder.token_counts,
        max_tokens=encoder.max_tokens,
    )
    return _Parts(
        sentences=np.array(
            [(s.start, s.end, n + 1) for s, n in zip(sentences, numbers, strict=True)], dtype=np.int32
        ).reshape(-1, 3),
        hashes=np.array([sentence_hash(s.text) for s in sentences], dtype=np.uint64),
        chunks=np.array([(c.first, c.last) for c in chunks], dtype=np.int32).reshape(-1, 2),
        sentence_vectors=None,
        chunk_vectors=None,
    )


def _embed_pending(
    pending: list[tuple[int, Article]],
    parts: list[_Parts],
    encoder: Encoder,
    batch_size: int,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int], None] | None,
) -> int:
    texts: list[str] = []
    for i, article in pending:
        texts += [article.text[a:b] for a, b, _ in parts[i].sentences]
    # Each distinct text is embedded once: syndicated copies of an article repeat most of its
    # sentences word for word, and a repeated sentence has the same vector wherever it stands.
    distinct: dict[str, int] = {}
    where = np.array([distinct.setdefault(t, len(distinct)) for t in texts], dtype=np.int64)
    if on_total:
        on_total(len(distinct))
    # One encode call for everything new, so the encoder can batch texts of equal length together.
    # Only sentences are embedded: a chunk's vector is pooled from its sentences' (pool_chunks).
    vectors = encoder.encode(list(distinct), batch_size=batch_size, progress=progress)[where] if texts else None
    at = 0
    for i, _ in pending:
        p = parts[i]
        n = len(p.sentences)
        assert vectors is not None
        p.sentence_vectors = vectors[at : at + n]
        p.chunk_vectors = pool_chunks(p.sentence_vectors, p.chunks)
        at += n
    return len(distinct)


def pool_chunks(sentence_vectors: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """Each chunk's vector: the normalized mean of its sentences' vectors.

    Embedding the chunks too cost more than the sentences (each holds three, one shared with each
    neighbour); pooled, they answered as well on every eval set (experiments/pooled_chunks.py:
    hit@1 within one question of the embedded chunks on each set, docs/research.md).

    Args:
        sentence_vectors: (n, dim) unit rows of one article's sentences.
        chunks: (m, 2) local [first, last) row ranges.

    Returns:
        (m, dim) float32 unit rows.
    """
    if not len(chunks):
        return np.zeros((0, sentence_vectors.shape[1]), dtype=np.float32)
    cumulative = np.vstack(
        [np.zeros((1, sentence_vectors.shape[1])), np.cumsum(sentence_vectors, axis=0, dtype=np.float64)]
    )
    sums = cumulative[chunks[:, 1]] - cumulative[chunks[:, 0]]
    norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return (sums / norms).astype(np.float32)


def _concatenate(articles: Sequence[Article], parts: list[_Parts], dim: int) -> BuildData:
    stored: list[StoredArticle] = []
    blobs: list[bytes] = []
    sentence_rows: list[np.ndarray] = []
    chunk_rows: list[np.ndarray] = []
    first = 0
    offset = 0
    for idx, (article, p) in enumerate(zip(articles, parts, strict=True)):
        blob = article.text.encode("utf-8")
        stored.append(
            StoredArticle(
                id=article.id,
                title=article.title,
                date=article.date,
                source=article.source,
                sha256=article.sha256,
                first_sentence=first,
                sentences=len(p.sentences),
                reader_sentences=int(p.sentences[-1, 2]) if len(p.sentences) else 0,
                text_start=offset,
                text_end=offset + len(blob),
            )
        )
        blobs.append(blob)
        offset += len(blob)
        n = len(p.sentences)
        sentence_rows.append(np.column_stack([np.full(n, idx, np.int32), p.sentences]))
        chunk_rows.append(np.column_stack([np.full(len(p.chunks), idx, np.int32), p.chunks + first]))
        first += n
    sentences = np.concatenate(sentence_rows) if sentence_rows else np.zeros((0, 4), np.int32)
    chunks = np.concatenate(chunk_rows) if chunk_rows else np.zeros((0, 3), np.int32)
    sentence_vectors = _stack([p.sentence_vectors for p in parts], dim)
    chunk_vectors = _stack([p.chunk_vectors for p in parts], dim)
    texts = [a.text for a in articles]
    sentence_texts = [texts[a][s:e] for a, s, e, _ in sentences]
    chunk_texts = [texts[a][sentences[f, 1] : sentences[last - 1, 2]] for a, f, last in chunks]
    return BuildData(
        articles=stored,
        texts=b"".join(blobs),
        sentences=sentences.astype(np.int32).reshape(-1, 4),
        sentence_hashes=np.concatenate([p.hashes for p in parts]).astype(np.uint64)
        if parts
        else np.zeros(0, np.uint64),
        chunks=chunks.astype(np.int32).reshape(-1, 3),
        sentence_vectors=sentence_vectors,
        chunk_vectors=chunk_vectors,
        sentence_lexical=LexicalIndex.build(terms_many(sentence_texts)),
        words=word_counts(sentence_texts),
        chunk_lexical=LexicalIndex.build(terms_many(chunk_texts)),
    )


def _stack(arrays: list[np.ndarray | None], dim: int) -> np.ndarray:
    present = [a for a in arrays if a is not None and len(a)]
    if not present:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(present), dtype=np.float32)


Progress = Callable[[int], Callable[[int], None] | None]  # total -> per-batch update callback


def expectation(config: Config, encoder: Encoder, *, fingerprint: str | None = None) -> Expectation:
    """What an index must have been built with to be queried with ``encoder`` under ``config``
    (``fingerprint``: the export that built it, when another export of the model embeds questions)."""
    return Expectation(
        model=config.model.name,
        fingerprint=fingerprint or encoder.fingerprint,
        dim=encoder.dim,
        chunk_sentences=config.chunking.sentences,
        chunk_overlap=config.chunking.overlap,
    )


def build_index(
    config: Config,
    *,
    encoder: Encoder,
    previous: Snapshot | None,
    reusable: bool,
    progress: Progress | None = None,
) -> BuildReport:
    """Re-scan the corpus folder and publish a new build when anything changed; the caller holds
    the write lock.

    Args:
        config: Corpus, index and chunking settings.
        encoder: The encoder to embed with (the build runs it on every core).
        previous: The published build, if one loads: its vectors are reused for unchanged articles
            when ``reusable``, and an article whose file has become unreadable keeps its indexed version.
        reusable: Whether ``previous`` was built with this model and chunking.
        progress: Told the number of texts to embed, and returns a per-batch callback.

    Returns:
        What changed; ``build_id`` is the previous build's when nothing did.
    """
    started = time.perf_counter()
    corpus = config.corpus_dir
    clean_builds(config.index_dir)  # what a killed writer left behind
    files, skipped = scan_corpus(corpus)
    articles: list[Article] = []
    for f in files:
        try:
            articles.append(read_article_file(f.path, max_bytes=config.articles.max_bytes, article_id=f.id))
        except ArticleError as exc:
            kept = previous is not None and f.id in previous.by_id
            if previous is not None and kept:
                articles.append(_stored_article(previous, f.id))
            reason = str(exc) + ("; its indexed version is kept" if kept else "")
            skipped.append((f.name, reason))
    old = dict(previous.manifest.articles) if previous else published_articles(config.index_dir)
    new = {a.id: a.sha256 for a in articles}
    added = tuple(sorted(i for i in new if i not in old))
    updated = tuple(sorted(i for i in new if i in old and old[i] != new[i]))
    removed = tuple(sorted(i for i in old if i not in new))
    unchanged = len(new) - len(added) - len(updated)
    if previous is not None and reusable and not (added or updated or removed):
        return BuildReport(
            unchanged=unchanged,
            skipped=tuple(skipped),
            articles=len(previous.articles),
            sentences=len(previous.sentences),
            seconds=time.perf_counter() - started,
            build_id=previous.build_id,
        )
    update = None

    def on_total(total: int) -> None:
        nonlocal update
        update = progress(total) if progress else None

    assembling = time.perf_counter()
    data, embedded = assemble(
        articles,
        previous=previous if reusable else None,
        encoder=encoder,
        chunking=ChunkSettings(config.chunking.sentences, config.chunking.overlap),
        batch_size=config.model.batch_size,
        progress=lambda n: update(n) if update else None,
        on_total=on_total,
    )
    assemble_seconds = time.perf_counter() - assembling
    expect = expectation(config, encoder)
    manifest = Manifest(
        model=ModelInfo(
            name=expect.model,
            precision=config.model.precision,
            export=encoder.source,
            fingerprint=expect.fingerprint,
            dim=expect.dim,
            max_tokens=encoder.max_tokens,
        ),
        chunk_sentences=expect.chunk_sentences,
        chunk_overlap=expect.chunk_overlap,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # What the corpus folder looked like: `ask` says when articles changed after the build.
        corpus_files=file_stats(files),
    )
    build_id = write_build(config.index_dir, data, manifest, exact_max=config.search.exact_search_max)
    clean_builds(config.index_dir)
    return BuildReport(
        added=added,
        updated=updated,
        unchanged=unchanged,
        removed=removed,
        skipped=tuple(skipped),
        articles=len(data.articles),
        sentences=len(data.sentences),
        embedded_sentences=embedded,
        seconds=time.perf_counter() - started,
        embed_seconds=assemble_seconds,
        build_id=build_id,
    )


def _stored_article(snap: Snapshot, article_id: str) -> Article:
    idx = snap.by_id[article_id]
    a = snap.articles[idx]
    return Article(id=a.id, title=a.title, date=a.date, source=a.source, text=snap.article_text(idx), sha256=a.sha256)
