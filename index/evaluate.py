"""Measuring answer quality: citebot and the baselines a user would otherwise pick, on one index, in one run.

A question set is a ``questions.jsonl`` (``{id, article_id, question, answers}``; an empty answer
list marks a question no article answers) beside its articles: either ``articles.jsonl``
(``{id, title, text}``, the xquad-dev format) or a folder ``articles/`` of corpus files.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .embed import Encoder
from .engine import Engine
from .errors import CitebotError
from .store import Snapshot
from .text.articles import check_id
from .text.terms import terms

BASELINES = ("bm25-sentences", "dense-sentences", "rrf-sentences", "tutorial-chunks")
DEPTH = 10  # ranked results kept per method: enough for MRR@10


@dataclass(frozen=True)
class Question:
    id: str
    article_id: str | None
    question: str
    answers: tuple[str, ...]
    kind: str | None = None  # of an unanswerable question, when the set says: "near-miss" or "off-topic"

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: list[Question]
    corpus: Path  # a folder of article files, ready to index


@dataclass
class Result:
    """One method's ranked output for one question: (article id, quoted text) pairs, best first."""

    ranked: list[tuple[str, str]]
    abstained: bool = False
    articles: list[str] = field(default_factory=list)  # article ranking, when it differs from ``ranked``
    chunks: list[tuple[str, str]] = field(default_factory=list)  # tutorial pipeline: its chunks
    shown: int = 3  # how many of ``ranked`` are shown (citebot: its citations; the rest are behind "More")


def load_question_set(path: Path, corpus: Path | None, work_dir: Path) -> QuestionSet:
    """Read a question set and find (or materialize) its corpus folder.

    Raises:
        CitebotError: The file is missing or malformed, or no corpus is found beside it.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        questions = [
            Question(
                str(r["id"]),
                r.get("article_id") or None,
                str(r["question"]),
                tuple(r.get("answers") or ()),
                str(r["kind"]) if r.get("kind") else None,
            )
            for r in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CitebotError(f"{path} is not a question set ({exc})") from exc
    name = path.parent.name
    if corpus is None:
        if (path.parent / "articles").is_dir():
            corpus = path.parent / "articles"
        elif (path.parent / "articles.jsonl").is_file():
            corpus = _materialize(path.parent / "articles.jsonl", work_dir / f"{name}-corpus")
        else:
            raise CitebotError(f"no articles/ folder or articles.jsonl beside {path}; pass --corpus")
    return QuestionSet(name, questions, corpus)


def _materialize(articles_jsonl: Path, folder: Path) -> Path:
    """Write articles.jsonl out as Markdown corpus files (front matter title), once."""
    folder.mkdir(parents=True, exist_ok=True)
    for line in articles_jsonl.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        a = json.loads(line)
        target = folder / f"{check_id(str(a['id']))}.md"
        body = f"---\ntitle: {json.dumps(a.get('title') or a['id'])}\n---\n{a['text']}\n"
        if not target.exists() or target.read_text(encoding="utf-8") != body:
            target.write_text(body, encoding="utf-8")
    return folder


def eval_engine(config: Config, qset: QuestionSet, encoder: Encoder | None = None) -> Engine:
    """An engine over the set's corpus with its own index folder beside the main one (built incrementally)."""
    key = hashlib.sha256(str(qset.corpus.resolve()).encode()).hexdigest()[:8]
    index_dir = config.index_dir.parent / "eval" / f"{qset.name}-{key}"
    engine = Engine(config.replace(corpus_dir=qset.corpus, index_dir=index_dir), encoder=encoder)
    engine.rebuild()
    return engine


# --- methods ----------------------------------------------------------------------------------


def run_citebot(engine: Engine, questions: Sequence[Question]) -> tuple[list[Result], list[float]]:
    """citebot's real answer path (``Engine.ask``), timed per question after one warm-up."""
    engine.warm_up()
    snap = engine.snapshot()
    results: list[Result] = []
    latencies: list[float] = []
    for q in questions:
        started = time.perf_counter()
        [ranked] = engine.ask_ranked([q.question], top_k=3)
        latencies.append((time.perf_counter() - started) * 1000)
        articles = _distinct(snap.article_of(x.sentence).id for x in ranked.scored)
        answer = ranked.answer
        quotes = [(c.article_id, c.text) for c in (*answer.citations, *answer.more)]
        results.append(Result(quotes, answer.abstained, articles[:DEPTH], shown=len(answer.citations)))
    return results, latencies


def run_baselines(engine: Engine, questions: Sequence[Question], work_dir: Path) -> dict[str, list[Result]]:
    snap = engine.snapshot()
    vectors = engine.encoder.encode([q.question for q in questions], batch_size=64)
    tutorial = TutorialChunks.build(snap, engine.encoder, work_dir)
    out: dict[str, list[Result]] = {name: [] for name in BASELINES}
    for q, vec in zip(questions, vectors, strict=True):
        lex_ids, _ = snap.sentence_lexical.search(terms(q.question), 50)
        sims = snap.sentence_vectors @ vec  # exact search: an eval corpus is small
        dense_ids = [int(i) for i in np.argsort(-sims, kind="stable")[:50]]
        fused = _rrf([list(map(int, lex_ids)), dense_ids])
        for name, ids in (
            ("bm25-sentences", list(map(int, lex_ids))),
            ("dense-sentences", dense_ids),
            ("rrf-sentences", fused),
        ):
            out[name].append(Result([_sentence_item(snap, i) for i in ids[:DEPTH]]))
        ranked, chunks = tutorial.search(vec, DEPTH)
        out["tutorial-chunks"].append(Result(ranked, chunks=chunks))
    return out


def _sentence_item(snap: Snapshot, sid: int) -> tuple[str, str]:
    return snap.article_of(sid).id, snap.sentence_text(sid)


def _rrf(rankings: list[list[int]], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda i: (-scores[i], i))


def _distinct(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


class TutorialChunks:
    """The usual tutorial pipeline: fixed 1,000-character chunks with 200 overlap, dense MiniLM search.

    It retrieves chunks, not sentences; to be scored on sentences like everyone else, each retrieved
    chunk (in rank order) gives its sentences ranked by similarity to the question. ``chunk_hit@1``
    (the top chunk contains an answer) is reported beside it: generous, since a chunk is ~6 sentences.
    """

    SIZE, OVERLAP = 1000, 200

    def __init__(
        self, items: list[tuple[str, str]], vectors: np.ndarray, sentences: list[list[tuple[str, np.ndarray]]]
    ):
        self.items = items
        self.vectors = vectors
        self.sentences = sentences  # per chunk: (sentence text, unit vector)

    @classmethod
    def build(cls, snap: Snapshot, encoder: Encoder, work_dir: Path) -> TutorialChunks:
        items = [(a.id, piece) for i, a in enumerate(snap.articles) for piece in split_fixed(snap.article_text(i))]
        key = hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]
        cache = work_dir / f"tutorial-{key}.npy"
        if cache.is_file():
            vectors = np.load(cache, allow_pickle=False)
        else:
            vectors = encoder.encode([t for _, t in items], batch_size=32)
            work_dir.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
        # The chunk's sentences are the index's sentences that lie inside it (same splitter for all).
        by_article: dict[str, list[int]] = {}
        for sid in range(len(snap.sentences)):
            by_article.setdefault(snap.article_of(sid).id, []).append(sid)
        sentences = []
        for article_id, text in items:
            inside = [sid for sid in by_article.get(article_id, []) if snap.sentence_text(sid) in text]
            sentences.append([(snap.sentence_text(sid), np.asarray(snap.sentence_vectors[sid])) for sid in inside])
        return cls(items, vectors, sentences)

    def search(self, vector: np.ndarray, k: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Returns: (ranked sentences, ranked chunks), each as (article id, text), best first."""
        order = np.argsort(-(self.vectors @ vector), kind="stable")[:k]
        chunks = [self.items[i] for i in order]
        ranked: list[tuple[str, str]] = []
        for i in order:
            inside = sorted(self.sentences[i], key=lambda s: -float(s[1] @ vector))
            ranked += [(self.items[i][0], text) for text, _ in inside if (self.items[i][0], text) not in ranked]
        return ranked[:k], chunks


def split_fixed(text: str, size: int = 1000, overlap: int = 200) -> list[str]:
    """Split like a recursive character splitter: paragraphs packed up to ``size``, long ones by words."""
    pieces: list[str] = []
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        if len(para) <= size:
            pieces.append(para)
            continue
        words = para.split()
        start = 0
        while start < len(words):
            end, length = start, 0
            while end < len(words) and length + len(words[end]) + 1 <= size:
                length += len(words[end]) + 1
                end += 1
            end = max(end, start + 1)
            pieces.append(" ".join(words[start:end]))
            if end >= len(words):
                break
            back, kept = end, 0  # step back ~overlap characters
            while back > start + 1 and kept + len(words[back - 1]) + 1 <= overlap:
                back -= 1
                kept += len(words[back]) + 1
            start = back
    chunks: list[str] = []
    for piece in pieces:  # pack small paragraphs together, as the splitter does
        if chunks and len(chunks[-1]) + 2 + len(piece) <= size:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


# --- metrics ----------------------------------------------------------------------------------


def is_hit(q: Question, article_id: str, text: str) -> bool:
    """A quote answers when it is cited to the gold article and contains a gold answer (any case)."""
    low = text.lower()
    return article_id == q.article_id and any(a.lower() in low for a in q.answers)


def score(questions: Sequence[Question], results: Sequence[Result]) -> dict[str, float | None]:
    """Sentence hit@1/hit@3, article recall@5 and MRR@10 on answerable questions; abstention P/R,
    and the recall per kind of unanswerable question (``abstain_recall[near-miss]``...) where the set
    labels them."""
    answerable = [(q, r) for q, r in zip(questions, results, strict=True) if q.answerable]
    unanswerable = [(q, r) for q, r in zip(questions, results, strict=True) if not q.answerable]

    def hit_at(k: int) -> float:
        return _mean([any(is_hit(q, a, t) for a, t in r.ranked[:k]) for q, r in answerable])

    def article_rank(q: Question, r: Result) -> int | None:
        order = r.articles or _distinct(a for a, _ in r.ranked)
        return order.index(q.article_id) + 1 if q.article_id in order else None

    ranks = [article_rank(q, r) for q, r in answerable]
    # Of the quotes shown to people for answerable questions, the share that answer.
    shown = [is_hit(q, a, t) for q, r in answerable for a, t in r.ranked[: r.shown]]
    answered = [r for _, r in answerable if not r.abstained]
    abstained_right = sum(1 for _, r in unanswerable if r.abstained)
    abstained_all = sum(1 for _, r in list(answerable) + list(unanswerable) if r.abstained)
    chunk_hits = [any(is_hit(q, a, t) for a, t in r.chunks[:1]) for q, r in answerable if r.chunks]
    by_kind = {
        f"abstain_recall[{kind}]": _mean([r.abstained for q, r in unanswerable if q.kind == kind])
        for kind in sorted({q.kind for q, _ in unanswerable if q.kind})
    }
    return {
        **by_kind,
        "chunk_hit@1": _mean(chunk_hits) if chunk_hits else None,
        "questions": len(questions),
        "answerable": len(answerable),
        "hit@1": hit_at(1),
        "hit@3": hit_at(3),
        "recall@5": _mean([rank is not None and rank <= 5 for rank in ranks]),
        "mrr@10": _mean([1.0 / rank if rank is not None and rank <= 10 else 0.0 for rank in ranks]),
        "shown_precision": _mean(shown) if shown else None,
        "quotes_shown": _mean([len(r.ranked[: r.shown]) for r in answered]) if answered else None,
        "abstain_precision": abstained_right / abstained_all if abstained_all else None,
        "abstain_recall": abstained_right / len(unanswerable) if unanswerable else None,
    }


def _mean(values: Sequence[float | bool]) -> float:
    return float(sum(values)) / len(values) if values else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values), p))


def twin_questions(question: str) -> list[str]:
    """The same question as chat users also type it: in lower case, without its "?" (or with one
    added), and with a typo (two neighbouring letters of its longest word swapped)."""
    text = " ".join(question.split())
    bare = text.rstrip("?!. ")
    twins = [text.lower(), bare if bare != text else f"{text}?"]
    words = [w for w in re.findall(r"[^\W\d_]+", text) if len(w) >= 5]
    if words:
        longest = max(words, key=len)
        mid = len(longest) // 2
        typo = longest[: mid - 1] + longest[mid] + longest[mid - 1] + longest[mid + 1 :]
        twins.append(text.replace(longest, typo, 1))
    return [t for t in twins if t != text]


def twin_agreement(engine: Engine, questions: Sequence[Question], results: Sequence[Result]) -> float:
    """Share of the twins of answerable questions whose first quote (or refusal) is the question's own."""
    same = total = 0
    for q, r in zip(questions, results, strict=True):
        if not q.answerable:
            continue
        first = None if r.abstained or not r.ranked else r.ranked[0]
        for twin in twin_questions(q.question):
            answer = engine.ask(twin)
            got = None if answer.abstained else (answer.citations[0].article_id, answer.citations[0].text)
            same += got == first
            total += 1
    return same / total if total else 0.0


@dataclass
class SetReport:
    name: str
    methods: dict[str, dict[str, float | None]]
    latency_ms: dict[str, float]
    details: list[dict[str, Any]]


def evaluate(
    config: Config,
    path: Path,
    *,
    corpus: Path | None = None,
    encoder: Encoder | None = None,
    baselines: bool = True,
    twins: bool = False,
    log: Callable[[str], None] | None = None,
) -> SetReport:
    """Index a question set's corpus and measure citebot (and the baselines) on it; with ``twins``,
    also how often each answerable question's twins (:func:`twin_questions`) get its first quote."""
    work_dir = config.index_dir.parent / "eval"
    qset = load_question_set(path, corpus, work_dir)
    if log:
        log(f"{qset.name}: indexing {qset.corpus}")
    engine = eval_engine(config, qset, encoder)
    if log:
        log(f"{qset.name}: asking {len(qset.questions)} questions")
    results, latencies = run_citebot(engine, qset.questions)
    methods = {"citebot": score(qset.questions, results)}
    if twins:
        methods["citebot"]["twins_same_first"] = twin_agreement(engine, qset.questions, results)
    per_method: dict[str, list[Result]] = {"citebot": results}
    if baselines:
        for name, rs in run_baselines(engine, qset.questions, work_dir).items():
            methods[name] = score(qset.questions, rs)
            per_method[name] = rs
    details = []
    for i, q in enumerate(qset.questions):
        row: dict[str, Any] = {
            "set": qset.name,
            "id": q.id,
            "question": q.question,
            "article_id": q.article_id,
            "answers": list(q.answers),
        }
        for name, rs in per_method.items():
            r = rs[i]
            row[name] = {
                "abstained": r.abstained,
                "hits": [is_hit(q, a, t) for a, t in r.ranked[:3]],
                "top": [{"article_id": a, "text": t} for a, t in r.ranked[:3]],
            }
        details.append(row)
    latency = {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "mean": statistics.fmean(latencies)}
    return SetReport(qset.name, methods, latency, details)


# --- conversations ----------------------------------------------------------------------------


def evaluate_conversations(
    config: Config, path: Path, *, encoder: Encoder | None = None, log: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Ask each conversation's turns in order in one :class:`~index.answer.Conversation`, and each
    turn alone as well: how often the first quote answers (hit@1, an abstention a miss) on first
    turns and on follow-ups, and how often an unanswerable turn is refused, with memory and without.

    ``path`` is a ``conversations.jsonl`` (``{id, turns: [{question, article_id, answers}]}``, an
    empty ``answers`` for a turn no article answers) beside the ``articles/`` its turns are about.
    """
    from .answer import Conversation

    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        talks = [
            [
                Question(f"{r['id']}-{i}", t.get("article_id"), str(t["question"]), tuple(t.get("answers") or ()))
                for i, t in enumerate(r["turns"])
            ]
            for r in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CitebotError(f"{path} is not a conversations file ({exc})") from exc
    qset = QuestionSet(path.parent.name, [q for talk in talks for q in talk], path.parent / "articles")
    engine = eval_engine(config, qset, encoder)
    if log:
        log(f"{qset.name}: {len(talks)} conversations, {len(qset.questions)} turns")
    tally: dict[str, list[bool]] = {}

    def count(key: str, value: bool) -> None:
        tally.setdefault(key, []).append(value)

    for talk in talks:
        memory = Conversation()
        for position, q in enumerate(talk):
            kind = "first" if position == 0 else "follow-up"
            for mode, answer in (
                ("memory", engine.ask(q.question, conversation=memory)),
                ("alone", engine.ask(q.question)),
            ):
                if q.answerable:
                    top = answer.citations[0] if answer.citations and not answer.abstained else None
                    count(f"{kind} hit@1 {mode}", top is not None and is_hit(q, top.article_id, top.text))
                else:
                    count(f"unanswerable refused {mode}", answer.abstained)
    return {key: _mean(values) for key, values in sorted(tally.items())} | {
        f"{key} n": float(len(values)) for key, values in sorted(tally.items())
    }
