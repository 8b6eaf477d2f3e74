"""The facade the CLI and the bot call: ask, add, remove, articles, rebuild.

Readers never wait for writers: a question uses the snapshot it started with, and a finished build
replaces the engine's snapshot reference in one assignment. Writers are serialized by a thread
lock (one engine) and a file lock (several processes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from . import corpus as corpus_folder
from .answer import Conversation, Filters, Pipeline, Ranked, Weights
from .answer.context import ask_in_context
from .builder import Progress, build_index, expectation
from .config import Config, default_cache_dir
from .embed import Encoder, Notice, OnnxEncoder, ensure_export, export_exists, export_fingerprint, load_encoder
from .embed.onnx import SESSIONS_DIR
from .errors import (
    ArticleError,
    BusyError,
    IndexMismatchError,
    IndexMissingError,
    NotFoundError,
    QuestionError,
    run_hint,
)
from .models import Answer, Article, ArticleInfo, BuildReport, Passage
from .reader import Candidate, Reader
from .store import Expectation, Snapshot, StoredArticle, current_build, load_snapshot, write_lock
from .text.articles import SUFFIXES, check_id, id_for_name, parse_article, read_article_with_bytes

log = logging.getLogger(__name__)
T = TypeVar("T")


def default_encoder(config: Config, *, notice: Notice | None = None) -> Encoder:
    """The ONNX export that embeds questions (``model.question_precision``) on one thread (a second
    core stays free for the bot, a build or another process; a build runs its own encoder, at
    ``model.precision``, on every core)."""
    cfg = config.model
    return load_encoder(cfg.name, cfg.question_precision, models_dir(config), threads=1, notice=notice)


def models_dir(config: Config) -> Path:
    """The shared cache of model exports (``model.cache_dir``)."""
    return config.model.cache_dir or default_cache_dir()


class Engine:
    """Index and answer over the articles of one corpus folder.

    Args:
        config: The loaded configuration.
        encoder: The embedding model; loaded on first need from ``config.model`` when not given.
        reader: The trained reader; loaded on first need when not given (engines may share one).
        notice: Told, in one line each, what a slow step is doing (the one-time model export) and
            that the index is older than the corpus; logged at INFO when not given.
    """

    def __init__(
        self,
        config: Config,
        *,
        encoder: Encoder | None = None,
        reader: Reader | None = None,
        notice: Notice | None = None,
    ) -> None:
        self.config = config
        self.notice: Notice = notice or log.info
        self._encoder = encoder
        self._injected = encoder is not None
        self._encoder_lock = threading.Lock()
        self._reader_lock = threading.Lock()
        self._preloading = False
        self._snapshot: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._weights = Weights.load()
        self._reader: Reader | None = reader  # a loaded one may be shared: its session is thread-safe
        self._stale_checked: str | None = None  # the build whose staleness was last said
        self._index_fingerprint: str | None = None  # of the export at model.precision, once read

    # --- heavy things, loaded once ------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            with self._encoder_lock:
                if self._encoder is None:
                    self._encoder = default_encoder(self.config, notice=self.notice)
        return self._encoder

    def expectation(self) -> Expectation:
        """What the index must have been built with: the model's export at ``model.precision``,
        whichever export embeds the questions (an injected encoder does both)."""
        cfg = self.config.model
        if self._injected or cfg.question_precision == cfg.precision:
            return expectation(self.config, self.encoder)
        if self._index_fingerprint is None:
            self._index_fingerprint = export_fingerprint(cfg.name, cfg.precision, models_dir(self.config))
        return expectation(self.config, self.encoder, fingerprint=self._index_fingerprint)

    def snapshot(self, *, check_model: bool = True) -> Snapshot:
        """The published index, reloaded when another process or task has published a newer one.

        Args:
            check_model: Refuse an index built with another model or chunking (to answer); listing
                and duplicate checks need no model, so they never load it.

        Raises:
            IndexMissingError: Nothing is built yet (said before any model is loaded).
            IndexMismatchError: The index does not fit the config or is damaged.
        """
        published = current_build(self.config.index_dir)
        if published is None:
            raise IndexMissingError(f"no index in {self.config.index_dir} yet; {run_hint()} to index the corpus")
        snap = self._snapshot
        if snap is None or snap.build_id != published:
            if check_model:
                self._preload()
            with self._load_lock:
                snap = self._snapshot
                if snap is None or snap.build_id != current_build(self.config.index_dir):
                    snap = self._snapshot = load_snapshot(self.config.index_dir)
        if check_model:
            snap.check(self.expectation())
        return snap

    def _preload(self) -> None:
        """Start loading the question encoder and the reader beside the index, once. onnxruntime
        builds a session without holding the GIL, so a cold ``ask`` loads the three in little more
        than the time of the slowest. Only a finished export is loaded this way: one that must be
        made first is made in the foreground, with its notice. A load that fails here is tried
        again where it is needed, and fails there with its own error."""
        if self._preloading:
            return
        self._preloading = True
        cfg = self.config.model
        jobs: list[Callable[[], object]] = []
        if self._encoder is None and export_exists(cfg.name, cfg.question_precision, models_dir(self.config)):
            jobs.append(lambda: self.encoder)
        if self._reader is None and self.config.search.read and self._weights.reader is not None:
            jobs.append(lambda: self.reader)
        for job in jobs:
            threading.Thread(target=_quietly, args=(job,), name="citebot-preload", daemon=True).start()

    def warm_up(self) -> None:
        """Load the model and the index and answer one question, so the first user waits for nothing."""
        with contextlib.suppress(IndexMissingError):
            self.ask("warm up")

    # --- reading ------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        filters: Filters | None = None,
        conversation: Conversation | None = None,
    ) -> Answer:
        """Answer one question with up to ``top_k`` cited sentences, or abstain.

        Args:
            question: As the user typed it.
            top_k: Most quotes (default ``search.top_k``).
            filters: Only articles these allow are searched (answer.filters).
            conversation: The conversation the question is part of: it is read as a follow-up
                (answer.conversation) and the turn is recorded there.

        Raises:
            QuestionError: The question is empty or too long, or the filters leave no article.
            IndexMissingError: Nothing is built yet.
        """
        if filters is None and conversation is None:
            return self.ask_many([question], top_k=top_k)[0]
        text = self._check_question(question)
        snap = self.snapshot()
        answer = ask_in_context(
            self.pipeline(snap), text, top_k=self._top_k(top_k), filters=filters, conversation=conversation
        )
        self._say_if_stale(snap)
        return answer

    def ask_many(self, questions: Sequence[str], *, top_k: int | None = None) -> list[Answer]:
        """Answer several questions with one batched encoder call; same results as :meth:`ask`."""
        return [ranked.answer for ranked in self.ask_ranked(questions, top_k=top_k)]

    def ask_ranked(self, questions: Sequence[str], *, top_k: int | None = None) -> list[Ranked]:
        """:meth:`ask_many`, each answer with every candidate (features, score) it was chosen from.

        For evaluation and fitting: the answer is exactly what ``ask`` gives, from the same work.
        """
        texts = [self._check_question(q) for q in questions]
        k = self._top_k(top_k)
        snap = self.snapshot()
        ranked = self.pipeline(snap).run(texts, top_k=k)
        self._say_if_stale(snap)
        return ranked

    def pipeline(self, snap: Snapshot | None = None) -> Pipeline:
        """The answer pipeline over ``snap`` (the published index by default)."""
        reader = _FirstRead(self) if self.config.search.read and self._weights.reader is not None else None
        return Pipeline(snap or self.snapshot(), self.encoder, self._weights, self.config.search, reader)

    @property
    def reader(self) -> Reader:
        """The shipped reader (index/reader/model), loaded on first need, one thread."""
        if self._reader is None:
            with self._reader_lock:
                if self._reader is None:
                    self._reader = Reader.load(
                        threads=1,
                        optimized_dir=models_dir(self.config) / SESSIONS_DIR,
                        parallel=self.config.search.read_threads,
                    )
        return self._reader

    def _top_k(self, top_k: int | None) -> int:
        k = top_k if top_k is not None else self.config.search.top_k
        if k < 1:
            raise QuestionError(f"top_k must be at least 1, got {k}")
        return k

    def _check_question(self, question: str) -> str:
        text = " ".join(str(question).split())
        if not text:
            raise QuestionError("the question is empty; ask something like: who led the protest?")
        limit = self.config.search.max_question_chars
        if len(text) > limit:
            raise QuestionError(f"the question is {len(text):,} characters long; the limit is {limit:,}")
        return text

    def _say_if_stale(self, snap: Snapshot) -> None:
        """Once per build: say when corpus files changed since it was made (the answer still comes)."""
        if self._stale_checked == snap.build_id:
            return
        self._stale_checked = snap.build_id
        changed = self.changed_since_build(snap)
        if changed:
            articles = f"{changed:,} article{'' if changed == 1 else 's'}"
            self.notice(
                f"{articles} changed in {self.config.corpus_dir} since the index was built; {run_hint()} to re-index"
            )

    def changed_since_build(self, snap: Snapshot | None = None) -> int:
        """How many articles the corpus folder has added, changed or removed since the index was built."""
        snap = snap or self.snapshot(check_model=False)
        return corpus_folder.changed_since(
            self.config.corpus_dir, snap.manifest, max_bytes=self.config.articles.max_bytes
        )

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles, by id."""
        snap = self.snapshot(check_model=False)
        return [_info(a) for a in snap.articles]

    def passage(self, article_id: str, first: int, last: int) -> Passage:
        """Sentences ``first`` to ``last`` (1-based, inclusive, clipped to the article) of an article.

        ``passage(id, n - 2, n + 2)`` is quote ``n`` with two neighbours on each side;
        ``passage(id, 1, 3)`` is the article's opening.

        Raises:
            NotFoundError: No indexed article has that id.
        """
        snap = self.snapshot(check_model=False)
        idx = snap.by_id.get(article_id)
        if idx is None:
            raise _no_such_article(article_id)
        body = snap.article_text(idx)
        picked = tuple((n, body[start:end]) for n, start, end in snap.numbered_spans(idx) if first <= n <= last)
        return Passage(_info(snap.articles[idx]), picked)

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
            ArticleError: The file is not a usable article, or a link that leads out of the corpus;
                nothing was written.
            FetchError: The URL cannot be fetched; nothing was written.
        """
        text = str(source)
        if "://" in text:
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
        article, data = read_article_with_bytes(  # reads the target; the source is named as given
            given, max_bytes=self.config.articles.max_bytes, article_id=id_for_name(given.name)
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
        """Fetch an http(s) URL (guarded: no private addresses, size cap, one deadline) and add it."""
        from .text.fetch import fetch_url  # http.client, ssl and email: 90 ms a cold start never needs

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
            corpus = corpus_folder.require_folder(self.config.corpus_dir)
            duplicate = self._indexed(lambda snap: corpus_folder.same_text_elsewhere(snap, article), None)
            if duplicate:
                return BuildReport(skipped=((name, f"has the same text as article '{duplicate}'"),))
            corpus_folder.save_article(corpus, article, raw, name)
            return self._rebuild_locked(progress)

    def remove(self, article_id: str) -> BuildReport:
        """Remove an article: its corpus file moves to ``corpus/.removed/`` and the index drops it.

        Raises:
            NotFoundError: No article has that id.
        """
        check_id(article_id)
        with self._writing():
            corpus = corpus_folder.require_folder(self.config.corpus_dir)
            indexed = self._indexed(lambda snap: article_id in snap.by_id, False)
            if not corpus_folder.remove_article(corpus, article_id) and not indexed:
                raise _no_such_article(article_id)
            return self._rebuild_locked(None)

    def _indexed(self, read: Callable[[Snapshot], T], default: T) -> T:
        """``read(snapshot)`` of the published index, or ``default`` when there is none that loads."""
        try:
            return read(self.snapshot(check_model=False))
        except (IndexMissingError, IndexMismatchError):
            return default

    def _rebuild_locked(self, progress: Progress | None) -> BuildReport:
        corpus_folder.require_folder(self.config.corpus_dir)
        encoder = self._build_encoder()
        try:
            previous: Snapshot | None = self.snapshot(check_model=False)
        except (IndexMissingError, IndexMismatchError) as exc:
            log.info("previous index not reusable: %s", exc)
            previous = None
        reusable = previous is not None
        if previous is not None:
            try:
                previous.check(expectation(self.config, encoder))
            except IndexMismatchError as exc:
                log.info("previous index not reusable: %s", exc)
                reusable = False
        report = build_index(self.config, encoder=encoder, previous=previous, reusable=reusable, progress=progress)
        if previous is None or report.build_id != previous.build_id:
            with self._load_lock:
                self._snapshot = load_snapshot(self.config.index_dir)
        return report

    def _build_encoder(self) -> Encoder:
        """The encoder for a build: the injected one, else the model's export on every core, made
        if missing and made again if its files no longer match their recorded hashes (answering
        only checks sizes, to start fast). The export that embeds questions is made (or repaired)
        here too, so the first question after a build exports nothing."""
        if self._injected:
            return self.encoder
        cfg = self.config.model
        export, remade = ensure_export(
            cfg.name, cfg.precision, models_dir(self.config), repair=True, notice=self.notice
        )
        if cfg.question_precision != cfg.precision:
            _, question_remade = ensure_export(
                cfg.name, cfg.question_precision, models_dir(self.config), repair=True, notice=self.notice
            )
            remade = remade or question_remade
        if remade:
            with self._encoder_lock:
                self._encoder = None  # loaded from the damaged files: load the new export instead
        return OnnxEncoder(export, threads=os.cpu_count() or 1, optimized_dir=models_dir(self.config) / SESSIONS_DIR)


def _info(a: StoredArticle) -> ArticleInfo:
    """An indexed article as ``list`` shows it (sentences as a reader counts them)."""
    return ArticleInfo(a.id, a.title, a.date, a.source, a.reader_sentences)


def _no_such_article(article_id: str) -> NotFoundError:
    return NotFoundError(f"no article with id '{article_id}'; the list of articles shows the ids")


def _quietly(job: Callable[[], object]) -> None:
    """Run a background load; its error is left for the foreground to meet (Engine._preload)."""
    try:
        job()
    except Exception:  # any error of loading: the foreground loads again and raises it there
        log.debug("background load failed; it is retried where it is needed", exc_info=True)


class _FirstRead:
    """The engine's reader, as a question first needs it (loaded beside the index by
    Engine._preload, or here when it was not: a refused question never waits for it)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def logits(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        return self._engine.reader.logits(question, candidates)
