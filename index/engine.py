"""The facade the CLI and the bot call: ask, add, remove, articles, rebuild.

Readers never wait for writers: a question uses the snapshot it started with, and a finished build
replaces the engine's snapshot reference in one assignment. Writers are serialized by a thread
lock (one engine) and a file lock (several processes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from . import answer as answering
from .articles import (
    HTML_SUFFIXES,
    SUFFIXES,
    CorpusFile,
    article_to_markdown,
    check_id,
    id_for_name,
    parse_article,
    read_article_file,
    scan_corpus,
)
from .builder import ChunkSettings, assemble
from .config import Config, default_cache_dir
from .encoder import Encoder, Notice, ensure_export, load_encoder
from .errors import (
    ArticleError,
    BusyError,
    CitebotError,
    IndexMismatchError,
    IndexMissingError,
    NotFoundError,
    QuestionError,
)
from .fetch import fetch_url
from .models import Answer, Article, ArticleInfo, BuildReport
from .onnx_encoder import OnnxEncoder
from .store import (
    BUILD_HINT,
    Expectation,
    Snapshot,
    check_manifest,
    clean_builds,
    current_build,
    load_snapshot,
    published_articles,
    write_build,
    write_lock,
)

log = logging.getLogger(__name__)

Progress = Callable[[int], Callable[[int], None] | None]  # total -> per-batch update callback
REMOVED_DIR = ".removed"  # removed articles are moved here, never deleted (hidden: not scanned)


def default_encoder(config: Config, *, threads: int = 1, repair: bool = False, notice: Notice | None = None) -> Encoder:
    """The ONNX export of the configured model: one thread to answer (a second core stays free for
    the bot, a build or another process), every core to build."""
    return load_encoder(
        config.model.name, config.model.precision, models_dir(config), threads=threads, repair=repair, notice=notice
    )


def models_dir(config: Config) -> Path:
    """The shared cache of model exports (``model.cache_dir``)."""
    return config.model.cache_dir or default_cache_dir()


class Engine:
    """Index and answer over the articles of one corpus folder.

    Args:
        config: The loaded configuration.
        encoder: The embedding model; loaded on first need from ``config.model`` when not given.
        notice: Told, in one line each, what a slow step is doing (the one-time model export) and
            that the index is older than the corpus; logged at INFO when not given.
    """

    def __init__(self, config: Config, *, encoder: Encoder | None = None, notice: Notice | None = None) -> None:
        self.config = config
        self.notice: Notice = notice or log.info
        self._encoder = encoder
        self._injected = encoder is not None
        self._encoder_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._unchecked: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._weights = answering.Weights.load()
        self._stale_checked: str | None = None  # the build whose staleness was last said

    # --- heavy things, loaded once ------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            with self._encoder_lock:
                if self._encoder is None:
                    self._encoder = default_encoder(self.config, notice=self.notice)
        return self._encoder

    def _repair_export(self) -> Path | None:
        """Before a build: make the model's export if it is missing, and again if its files no longer
        match their recorded hashes (answering only checks sizes, to start fast). Returns the export
        folder, or None for an injected encoder."""
        if self._injected:
            return None
        cfg = self.config.model
        target, remade = ensure_export(
            cfg.name, cfg.precision, models_dir(self.config), repair=True, notice=self.notice
        )
        if remade:
            with self._encoder_lock:
                self._encoder = None  # loaded from the damaged files: load the new export instead
        return target

    def _build_encoder(self, export: Path | None) -> Encoder:
        """The encoder for a build: the injected one, else the export run on every core."""
        if export is None:
            return self.encoder
        return OnnxEncoder(export, threads=os.cpu_count() or 1)

    def expectation(self) -> Expectation:
        enc = self.encoder
        return Expectation(
            model=self.config.model.name,
            fingerprint=enc.fingerprint,
            dim=enc.dim,
            chunk_sentences=self.config.chunking.sentences,
            chunk_overlap=self.config.chunking.overlap,
        )

    def snapshot(self, *, check_model: bool = True) -> Snapshot:
        """The published index, reloaded when another process or task has published a newer one.

        Raises:
            IndexMissingError: Nothing is built yet.
            IndexMismatchError: The index does not fit the config or is damaged.
        """
        published = current_build(self.config.index_dir)
        if published is None:  # before the model is loaded: nothing to answer from, nothing to export
            raise IndexMissingError(f"no index in {self.config.index_dir} yet; {BUILD_HINT} to index the corpus")
        snap = self._snapshot
        if snap is not None and snap.build_id == published:
            return snap
        if not check_model and self._unchecked is not None and self._unchecked.build_id == published:
            return self._unchecked
        with self._load_lock:
            snap = self._snapshot
            loose = self._unchecked
            if (
                check_model
                and loose is not None
                and loose.build_id == published
                and (snap is None or snap.build_id != published)
            ):
                # Already loaded for listing or a duplicate check: check the model, don't read it again.
                check_manifest(loose.manifest, self.expectation(), loose.folder)
                self._snapshot = snap = loose
            if snap is None or snap.build_id != current_build(self.config.index_dir):
                snap = load_snapshot(self.config.index_dir, self.expectation() if check_model else None)
                if check_model:
                    self._snapshot = snap
                else:
                    # Kept apart: it has not been checked against the model, so questions never use it;
                    # listing, duplicate checks and the next build reuse it instead of loading again.
                    self._unchecked = snap
            return snap

    def warm_up(self) -> None:
        """Load the model and the index and answer one question, so the first user waits for nothing."""
        with contextlib.suppress(IndexMissingError):
            self.ask("warm up")

    # --- reading ------------------------------------------------------------------------------

    def ask(self, question: str, *, top_k: int | None = None) -> Answer:
        """Answer one question with up to ``top_k`` cited sentences, or abstain.

        Raises:
            QuestionError: The question is empty or too long.
            IndexMissingError: Nothing is built yet.
        """
        return self.ask_many([question], top_k=top_k)[0]

    def ask_many(self, questions: Sequence[str], *, top_k: int | None = None) -> list[Answer]:
        """Answer several questions with one batched encoder call; same results as :meth:`ask`."""
        return [answer for answer, _, _ in self.ask_ranked(questions, top_k=top_k)]

    def ask_ranked(
        self, questions: Sequence[str], *, top_k: int | None = None
    ) -> list[tuple[Answer, Snapshot, list[answering.Scored]]]:
        """:meth:`ask_many`, each answer with every candidate sentence (features, score), best first.

        For evaluation and tuning: the answer is exactly what ``ask`` gives, from the same work.
        """
        texts = [self._check_question(q) for q in questions]
        k = top_k if top_k is not None else self.config.search.top_k
        if k < 1:
            raise QuestionError(f"top_k must be at least 1, got {k}")
        snap = self.snapshot()
        vectors = self.encoder.encode(texts, batch_size=max(1, len(texts)))
        threshold = self.config.search.abstain_below
        if threshold is None:
            threshold = self._weights.abstain_below
        ranked = []
        for text, vector in zip(texts, vectors, strict=True):
            query = answering.prepare(text, vector)
            scored = self._rank(snap, query)
            confidence = self._weights.answerable(answering.question_features(snap, query, scored))
            ranked.append((text, scored, not scored or confidence < threshold))
        if self.config.search.rerank:
            ranked = self._reread(snap, ranked)
        answers = [(self._compose(snap, text, scored, refuse, k), snap, scored) for text, scored, refuse in ranked]
        if self._stale_checked != snap.build_id:
            self._stale_checked = snap.build_id
            changed = self.changed_since_build(snap)
            if changed:
                self.notice(
                    f"{_count(changed, 'article')} changed in {self.config.corpus_dir} since the index was built; "
                    f"{BUILD_HINT} to re-index"
                )
        return answers

    def changed_since_build(self, snap: Snapshot | None = None) -> int:
        """How many articles the corpus folder has added, changed or removed since the index was built.

        Files are compared by size and modification time with what the build recorded; only a file
        whose stat differs is read, and it counts when its content hash differs too.
        """
        snap = snap or self.snapshot(check_model=False)
        recorded = snap.manifest.get("corpus_files")
        if not isinstance(recorded, dict) or not self.config.corpus_dir.is_dir():
            return 0
        files, _ = scan_corpus(self.config.corpus_dir)
        stats = _corpus_stats(self.config.corpus_dir, files)
        hashes = snap.manifest.get("articles", {})
        changed = sum(1 for name in recorded if name not in stats)
        for f in files:
            name = str(f.path.relative_to(self.config.corpus_dir.resolve()))
            if recorded.get(name) == stats[name]:
                continue
            try:
                digest = read_article_file(f.path, max_bytes=self.config.articles.max_bytes, article_id=f.id).sha256
            except ArticleError:
                digest = None
            changed += digest is None or hashes.get(f.id) != digest
        return changed

    def _reread(
        self, snap: Snapshot, ranked: list[tuple[str, list[answering.Scored], bool]]
    ) -> list[tuple[str, list[answering.Scored], bool]]:
        """Re-order each answered question's best ``search.rerank`` sentences by how well the rest of
        each sentence answers the rest of the question, where the best two are close
        (:func:`answering.worth_rereading`); every residual goes through the model in one call."""
        depth = self.config.search.rerank
        pairs = [
            [answering.residuals(text, snap.sentence_text(x.sentence)) for x in scored[:depth]]
            if not refuse and answering.worth_rereading(scored)
            else []
            for text, scored, refuse in ranked
        ]
        residual_texts = sorted({t for question in pairs for pair in question for t in pair})
        if not residual_texts:
            return ranked
        vectors = self.encoder.encode(residual_texts, batch_size=len(residual_texts))
        row = {t: i for i, t in enumerate(residual_texts)}
        out = []
        for (text, scored, refuse), question in zip(ranked, pairs, strict=True):
            if question:
                cosines = np.array([vectors[row[q]] @ vectors[row[s]] for q, s in question], dtype=np.float32)
                scored = answering.rerank(scored, cosines, self._weights)
            out.append((text, scored, refuse))
        return out

    def _check_question(self, question: str) -> str:
        text = " ".join(str(question).split())
        if not text:
            raise QuestionError("the question is empty; ask something like: who led the protest?")
        limit = self.config.search.max_question_chars
        if len(text) > limit:
            raise QuestionError(f"the question is {len(text):,} characters long; the limit is {limit:,}")
        return text

    def _rank(self, snap: Snapshot, query: answering.Query) -> list[answering.Scored]:
        search = self.config.search
        chunks = answering.retrieve_chunks(snap, query, candidates=search.candidates, keep=search.chunks)
        return answering.score_sentences(snap, query, chunks, self._weights)

    def _compose(self, snap: Snapshot, text: str, scored: list[answering.Scored], refuse: bool, k: int) -> Answer:
        if refuse:
            return Answer(question=text, abstained=True, reason="no sentence is relevant enough")
        picked = answering.dedupe(snap, scored, limit=k)
        citations = tuple(c for c in (answering.cite(snap, x) for x in picked) if c is not None)
        if not citations:
            return Answer(question=text, abstained=True, reason="no quote could be verified")
        return Answer(question=text, abstained=False, citations=citations)

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles, by id."""
        snap = self.snapshot(check_model=False)
        return [ArticleInfo(a.id, a.title, a.date, a.source, a.reader_sentences) for a in snap.articles]

    # --- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        if not self._write_lock.acquire(blocking=False):
            raise BusyError("a re-index is already running; try again when it has finished")
        try:
            with write_lock(self.config.index_dir):
                yield
        finally:
            self._write_lock.release()

    @property
    def busy(self) -> bool:
        """True while this engine is writing the index."""
        return self._write_lock.locked()

    def rebuild(self, *, progress: Progress | None = None) -> BuildReport:
        """Re-scan the corpus folder: embed new and changed articles, drop removed ones.

        Unreadable files are reported in ``skipped``; one that was indexed before keeps its indexed
        version, so a file damaged on disk never silently loses its article.
        """
        with self._writing():
            return self._rebuild_locked(progress)

    def add(self, source: str | os.PathLike[str], *, progress: Progress | None = None) -> BuildReport:
        """Add or update one article from a file path or an http(s) URL, then re-index.

        The article is validated before anything is written, then saved into the corpus folder
        (HTML and URLs as Markdown with front matter), so a later ``build`` keeps it.

        Raises:
            ArticleError: The file is not a usable article; nothing was written.
            FetchError: The URL cannot be fetched; nothing was written.
        """
        text = str(source)
        if text.startswith(("http://", "https://")) or "://" in text:
            return self.add_url(text, progress=progress)
        given = Path(source)
        # Judged by what it resolves to: a link's target is what would be read and copied.
        path = given.resolve()
        corpus = self.config.corpus_dir.resolve()
        if Path(os.path.normpath(given.absolute())).is_relative_to(corpus) and not path.is_relative_to(corpus):
            raise ArticleError(f"{given} is a link that points outside the corpus (to {path}); it is not added")
        if not path.is_file():
            raise ArticleError(f"{given} does not exist or is not a file")
        if path.suffix.lower() not in SUFFIXES:
            raise ArticleError(f"{given.name}: unsupported file type '{path.suffix}' (use .txt, .md or .html)")
        data = _read_capped(path, self.config.articles.max_bytes)
        article = parse_article(
            data,
            name=path.name,
            article_id=id_for_name(given.name),
            source=given.name,
            max_bytes=self.config.articles.max_bytes,
        )
        return self._add_article(article, data, given.name, progress)

    def add_bytes(self, name: str, data: bytes, *, progress: Progress | None = None) -> BuildReport:
        """Add or update an article from the bytes of an uploaded file named ``name``."""
        article = parse_article(
            data,
            name=name,
            article_id=id_for_name(name),
            source=Path(name).name,
            max_bytes=self.config.articles.max_bytes,
        )
        return self._add_article(article, data, name, progress)

    def add_url(self, url: str, *, progress: Progress | None = None) -> BuildReport:
        """Fetch an http(s) URL (guarded: no private addresses, size cap, timeout) and add it."""
        cfg = self.config.articles
        page = fetch_url(
            url, timeout=cfg.fetch_timeout, max_bytes=cfg.max_bytes, allowed_hosts=cfg.allowed_private_hosts
        )
        article = parse_article(
            page.body,
            name=page.name,
            article_id=page.article_id,
            source=page.url,
            max_bytes=cfg.max_bytes,
            html=page.is_html,
        )
        return self._add_article(article, None, page.name, progress)

    def _add_article(self, article: Article, raw: bytes | None, name: str, progress: Progress | None) -> BuildReport:
        with self._writing():
            corpus = self._corpus_dir()
            keep_raw = raw is not None and Path(name).suffix.lower() not in HTML_SUFFIXES
            file_name = article.id + (Path(name).suffix.lower() if keep_raw else ".md")
            target = corpus / file_name
            data = raw if keep_raw and raw is not None else article_to_markdown(article).encode("utf-8")
            files, _ = scan_corpus(corpus)
            same_id = [f.path for f in files if f.id == article.id and f.path.resolve() != target.resolve()]
            duplicate = self._same_text_elsewhere(article)
            if duplicate:
                return BuildReport(
                    unchanged=len(files), skipped=((name, f"has the same text as article '{duplicate}'"),)
                )
            if not (target.is_file() and target.read_bytes() == data):
                _write_atomic(target, data)
            for other in same_id:  # a new foo.md replaces foo.txt: one id, one file
                _move_to_removed(corpus, other)
            return self._rebuild_locked(progress)

    def _same_text_elsewhere(self, article: Article) -> str | None:
        try:
            snap = self.snapshot(check_model=False)
        except CitebotError:
            return None
        size = len(article.text.encode("utf-8"))
        for idx, other in enumerate(snap.articles):
            # Compare the text, not the hash: the hash also covers the source (a file name), and the
            # same story uploaded under two names is still one article.
            same_size = other.text_end - other.text_start == size
            if other.id != article.id and same_size and snap.article_text(idx) == article.text:
                return other.id
        return None

    def remove(self, article_id: str) -> BuildReport:
        """Remove an article: its corpus file moves to ``corpus/.removed/`` and the index drops it.

        Raises:
            NotFoundError: No article has that id.
        """
        check_id(article_id)
        with self._writing():
            corpus = self._corpus_dir()
            files, _ = scan_corpus(corpus)
            matches = [f.path for f in files if f.id == article_id]
            indexed = self._indexed_ids()
            if not matches and article_id not in indexed:
                raise NotFoundError(f"no article with id '{article_id}'; the list of articles shows the ids")
            for path in matches:
                _move_to_removed(corpus, path)
            return self._rebuild_locked(None)

    def _indexed_ids(self) -> set[str]:
        try:
            return {a.id for a in self.snapshot(check_model=False).articles}
        except CitebotError:
            return set()

    def _corpus_dir(self) -> Path:
        corpus = self.config.corpus_dir
        if not corpus.is_dir():
            raise ArticleError(
                f"the corpus folder {corpus} does not exist; create it or set corpus_dir in the config (or --corpus)"
            )
        return corpus

    def _previous(self) -> tuple[Snapshot | None, bool]:
        """The published build and whether its vectors can be reused with the current config."""
        try:
            return self.snapshot(), True
        except IndexMissingError:
            return None, False
        except IndexMismatchError as exc:
            log.info("previous index not reusable: %s", exc)
            try:
                return self.snapshot(check_model=False), False
            except CitebotError:
                return None, False

    def _rebuild_locked(self, progress: Progress | None) -> BuildReport:
        started = time.perf_counter()
        corpus = self._corpus_dir()
        export = self._repair_export()
        clean_builds(self.config.index_dir)  # what a killed writer left behind
        files, skipped = scan_corpus(corpus)
        previous, reusable = self._previous()
        articles: list[Article] = []
        for f in files:
            try:
                articles.append(read_article_file(f.path, max_bytes=self.config.articles.max_bytes, article_id=f.id))
            except ArticleError as exc:
                kept = previous is not None and f.id in previous.by_id
                if kept:
                    assert previous is not None
                    articles.append(_stored_article(previous, f.id))
                skipped.append(
                    (str(f.path.relative_to(corpus)), str(exc) + ("; its indexed version is kept" if kept else ""))
                )
        old = dict(previous.manifest.get("articles", {})) if previous else published_articles(self.config.index_dir)
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
        encoder = self._build_encoder(export)
        update = None

        def on_total(total: int) -> None:
            nonlocal update
            update = progress(total) if progress else None

        assembling = time.perf_counter()
        data, embedded = assemble(
            articles,
            previous=previous if reusable else None,
            encoder=encoder,
            chunking=ChunkSettings(self.config.chunking.sentences, self.config.chunking.overlap),
            batch_size=self.config.model.batch_size,
            progress=lambda n: update(n) if update else None,
            on_total=on_total,
        )
        assemble_seconds = time.perf_counter() - assembling
        expect = self.expectation()
        manifest = {
            "model": {
                "name": expect.model,
                "precision": self.config.model.precision,
                "export": str(getattr(encoder, "export_dir", "")),
                "fingerprint": expect.fingerprint,
                "dim": expect.dim,
                "max_tokens": encoder.max_tokens,
                "normalized": True,
                "metric": "inner_product",
            },
            "chunking": {"sentences": expect.chunk_sentences, "overlap": expect.chunk_overlap},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            # What the corpus folder looked like: `ask` says when articles changed after the build.
            "corpus_files": _corpus_stats(corpus, files),
        }
        build_id = write_build(self.config.index_dir, data, manifest, exact_max=self.config.search.exact_search_max)
        self._snapshot = load_snapshot(self.config.index_dir, expect)
        clean_builds(self.config.index_dir)
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


def _corpus_stats(corpus: Path, files: Sequence[CorpusFile]) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of each corpus file."""
    root = corpus.resolve()
    out = {}
    for f in files:
        with contextlib.suppress(OSError):
            st = f.path.stat()
            out[str(f.path.relative_to(root))] = [st.st_size, st.st_mtime_ns]
    return out


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _stored_article(snap: Snapshot, article_id: str) -> Article:
    idx = snap.by_id[article_id]
    a = snap.articles[idx]
    return Article(id=a.id, title=a.title, date=a.date, source=a.source, text=snap.article_text(idx), sha256=a.sha256)


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of a file, refused before reading when it is over the size limit."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{path.name} is {size:,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)")
        return path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc


def _write_atomic(target: Path, data: bytes) -> None:
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


def _move_to_removed(corpus: Path, path: Path) -> None:
    trash = corpus / REMOVED_DIR
    trash.mkdir(exist_ok=True)
    shutil.move(str(path), str(trash / path.name))
