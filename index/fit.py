"""Fit the answer models' weights (index/answer/weights.json) with cross-validation by article.

    python -m index fit QUESTIONS.jsonl [...] [--write] [--folds 5] [--l2 1.0]

The weights shipped were fitted on eval/news and ../shared/eval/xquad-dev (see weights.json's
``command``); eval/heldout, eval/train and eval/chat are never fitted on.

Every question of every set goes through the engine's real retrieval; each candidate sentence is
labelled a hit when it is cited to the gold article and contains a gold answer. Three logistic
models are fitted on the training articles of each fold: which sentence answers, whether any does,
and the re-read order of the best ``search.rerank`` (with the residual similarity); they are judged
on the held-out articles (hit@1, hit@3, and for sets with unanswerable questions, abstention
precision/recall at a threshold chosen on the training folds). ``--write`` refits on everything and
stores the weights with the held-out report.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer.features import FEATURES, QUESTION_FEATURES, features, question_features
from .answer.model import (
    RERANK_FEATURES,
    WEIGHTS_FILE,
    ReaderWeights,
    Reading,
    Weights,
    close_call,
    rank,
    rerank,
)
from .answer.query import Query, Scored
from .answer.read import READ_FEATURES, SentenceReader, candidates, read_features, reorder
from .answer.reread import residuals
from .answer.retrieve import retrieve_chunks
from .config import Config
from .embed import Encoder
from .evaluate import eval_engine, is_hit, load_question_set
from .store import Snapshot

Say = Callable[[str], None]


@dataclass
class Sample:
    set: str
    article: str | None  # gold article (None: unanswerable)
    group: str  # the article the question is about, or its own id: what a fold holds out
    x: np.ndarray  # (n, f) features of the candidates
    residual: np.ndarray  # (n, 1) cosine of the residuals of question and candidate (answer.residuals)
    y: np.ndarray  # (n,) 1.0 for candidates that answer
    answerable: bool
    kind: str | None  # of an unanswerable question: near-miss or off-topic, when the set says
    snap: Snapshot
    query: Query
    sids: np.ndarray
    reader: SentenceReader | None = None  # None: fitted without the reader
    read_logits: dict[int, float] = dataclasses.field(default_factory=dict)  # sentence id -> the reader's logit

    def logits(self, head: Sequence[Scored]) -> np.ndarray:
        """The reader's logits of these candidates, as the pipeline reads them (each candidate is
        scored alone, so reading it here or in any fold's top few gives the same number); read once."""
        assert self.reader is not None
        missing = [x.sentence for x in head if x.sentence not in self.read_logits]
        if missing:
            read = self.reader.logits(self.query.text, candidates(self.snap, missing))
            self.read_logits.update(zip(missing, map(float, read), strict=True))
        return np.array([self.read_logits[x.sentence] for x in head], dtype=np.float32)


def collect(
    config: Config,
    paths: Sequence[Path],
    say: Say,
    encoder: Encoder | None = None,
    reader: SentenceReader | None = None,
) -> list[Sample]:
    """Every question of every set through the pipeline's stages up to the features, labelled; with
    a reader, the candidates it reads are read when a fold's models first put them in their best few."""
    samples: list[Sample] = []
    for path in paths:
        qset = load_question_set(path, None, config.index_dir.parent / "eval")
        engine = eval_engine(config, qset, encoder)
        encoder = engine.encoder
        snap = engine.snapshot()
        # The pipeline's own first stage (normalize, embed), on every question of the set at once.
        queries = engine.pipeline(snap).queries([" ".join(q.question.split()) for q in qset.questions])
        pending: list[tuple[int, list[tuple[str, str]]]] = []
        for q, query in zip(qset.questions, queries, strict=True):
            text = query.text
            chunks = retrieve_chunks(snap, query, candidates=config.search.candidates, keep=config.search.chunks)
            sids, x = features(snap, query, chunks)
            y = np.array(
                [is_hit(q, snap.article_of(int(i)).id, snap.sentence_text(int(i))) for i in sids], dtype=np.float32
            )
            pending.append((len(samples), [residuals(text, snap.sentence_text(int(i))) for i in sids]))
            residual = np.zeros((len(sids), 1), dtype=np.float32)
            samples.append(
                Sample(
                    qset.name,
                    q.article_id,
                    q.article_id or q.id,
                    x,
                    residual,
                    y,
                    q.answerable,
                    q.kind,
                    snap,
                    query,
                    sids,
                    reader,
                )
            )
        # Every residual of every candidate, embedded once.
        unique = sorted({t for _, pairs in pending for pair in pairs for t in pair})
        row = {t: i for i, t in enumerate(unique)}
        embedded = engine.encoder.encode(unique, batch_size=64)
        for index, pairs in pending:
            for j, (rest_q, rest_s) in enumerate(pairs):
                samples[index].residual[j, 0] = embedded[row[rest_q]] @ embedded[row[rest_s]]
        say(f"{qset.name}: {len(qset.questions)} questions")
    return samples


def logistic(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 60) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression by Newton's method; the bias is not shrunk."""
    x1 = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    reg = np.full(x1.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x1 @ w)))
        grad = x1.T @ (p - y) + reg * w
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def weights(
    coef: Iterable[float],
    bias: float,
    abstain_coef: Iterable[float] = (),
    abstain_bias: float = 0.0,
    abstain_below: float = 0.5,
    rerank_coef: Iterable[float] = (),
    rerank_bias: float = 0.0,
    reader: ReaderWeights | None = None,
) -> Weights:
    """Fitted coefficients as the engine's Weights (models not fitted yet left empty)."""
    return Weights(
        tuple(map(float, coef)),
        float(bias),
        tuple(map(float, abstain_coef)),
        float(abstain_bias),
        float(abstain_below),
        tuple(map(float, rerank_coef)),
        float(rerank_bias),
        reader,
    )


@dataclass
class Model:
    coef: np.ndarray
    bias: float
    abstain_coef: np.ndarray
    abstain_bias: float
    tau: float
    rerank_coef: np.ndarray
    rerank_bias: float
    reader: ReaderWeights | None = None
    reading: Reading | None = None  # how many best candidates the reader reads; None: the model without it

    @property
    def weights(self) -> Weights:
        return weights(
            self.coef,
            self.bias,
            abstain_coef=self.abstain_coef,
            abstain_bias=self.abstain_bias,
            abstain_below=self.tau,
            rerank_coef=self.rerank_coef,
            rerank_bias=self.rerank_bias,
            reader=self.reader,
        )

    def order(self, s: Sample, depth: int) -> np.ndarray:
        """Candidate positions best first, as the engine ranks them, with the engine's own functions:
        answer.rank, then the reader's order of the best few of the questions it reads
        (answer.model.Reading), or without it the re-read of a close call's best ``depth``."""
        w = self.weights
        scored = self._read(s)
        position = {int(sid): i for i, sid in enumerate(s.sids)}
        if self.reading is None and depth and close_call(scored):
            residual = np.array([s.residual[position[x.sentence], 0] for x in scored[:depth]], dtype=np.float32)
            scored = rerank(scored, residual, w)
        return np.array([position[x.sentence] for x in scored], dtype=np.int64)

    def refuses(self, s: Sample) -> bool:
        """Whether the engine says the articles don't say."""
        return self.answerable(s) < self.tau

    def answerable(self, s: Sample) -> float:
        """The chance that some candidate answers: the sentence model's, before the reader reads."""
        w = self.weights
        return w.answerable(question_features(s.snap, s.query, rank(s.sids, s.x, w)))

    def _read(self, s: Sample) -> list[Scored]:
        """The ranking after the reader stage (of the questions the pipeline reads)."""
        scored = rank(s.sids, s.x, self.weights)
        depth = self.reading.depth(scored) if self.reading is not None else 0
        if not depth or self.reader is None or s.reader is None:
            return scored
        return reorder(scored, s.logits(scored[:depth]), self.reader.order_coef, self.reader.order_bias)


def question_x(s: Sample, w: Weights) -> np.ndarray:
    """The abstention model's features of a question, from the sentence model's ranking."""
    return question_features(s.snap, s.query, rank(s.sids, s.x, w))


def fit_reader(samples: list[Sample], model: Model, l2: float, reading: Reading) -> Model:
    """With the reader: which of the best few it reads answers (the sentence model's logit and the
    reader's), fitted on the close calls of answerable questions, ``reading.close`` deep, where the
    order is in doubt, and used on every question it reads. Held out (news and xquad-dev), fitted on
    every question it reads it lost 5 first quotes (docs/research.md). Abstention stays ``model``'s."""
    stage1 = model.weights
    close_calls = dataclasses.replace(reading, clear=0)  # where the order is in doubt
    rows, ys = [], []
    for s in samples:
        scored = rank(s.sids, s.x, stage1)
        depth = close_calls.depth(scored)
        if s.answerable and s.reader is not None and depth:
            head = scored[:depth]
            position = {int(sid): i for i, sid in enumerate(s.sids)}
            rows.append(read_features(head, s.logits(head)))
            ys.append(np.array([s.y[position[x.sentence]] for x in head], dtype=np.float32))
    o_coef, o_bias = logistic(np.concatenate(rows), np.concatenate(ys), l2)
    reader = ReaderWeights(tuple(map(float, o_coef)), float(o_bias))
    return dataclasses.replace(model, reader=reader, reading=reading)


def fit(samples: list[Sample], l2: float) -> Model:
    """Stage 1: which sentence answers (candidates of answerable questions). Stage 2: whether any
    does (all questions), on the question features that stage 1's ranking yields."""
    train = [s for s in samples if s.answerable and len(s.x)]
    y = np.concatenate([s.y for s in train])
    coef, bias = logistic(np.concatenate([s.x for s in train]), y, l2)
    r_coef, r_bias = logistic(np.concatenate([np.hstack([s.x, s.residual]) for s in train]), y, l2)
    # Stage 2 learns from the sets that have unanswerable questions: a set without any would only
    # teach it that every question is answerable.
    mixed = {s.set for s in samples if not s.answerable}
    graded = [s for s in samples if s.set in mixed] or samples
    stage1 = weights(coef, bias)
    qx = np.array([question_x(s, stage1) for s in graded])
    qy = np.array([1.0 if s.answerable else 0.0 for s in graded])
    # The same shrinkage as stage 1: at 0.1 the abstention model leaned on words the corpus never
    # uses and refused 5 % of xquad's answerable questions (held-out xquad hit@1 0.742 vs 0.766).
    a_coef, a_bias = logistic(qx, qy, l2)
    model = Model(coef, bias, a_coef, a_bias, 0.5, r_coef, r_bias)
    model.tau = choose_threshold(
        [s for s in samples if any(not t.answerable for t in samples if t.set == s.set)], model
    )
    return model


MIN_ABSTAIN_PRECISION = 0.9


def choose_threshold(samples: list[Sample], model: Model) -> float:
    """The threshold on P(answerable) with the best abstention recall whose precision stays at or
    above ``MIN_ABSTAIN_PRECISION``, on sets with unanswerable questions.

    Precision first: refusing a question the articles do answer costs the user an answer, while a
    quote given for a question they don't answer is still a cited, checkable sentence.
    """
    scores = [(model.answerable(s), s.answerable) for s in samples]
    unans = sum(1 for _, ans in scores if not ans)
    best_recall, best_tau = -1.0, 0.0
    for tau in np.linspace(0.02, 0.98, 97):
        right = sum(1 for p, ans in scores if p < tau and not ans)
        total = sum(1 for p, _ in scores if p < tau)
        if not unans or not total or right / total < MIN_ABSTAIN_PRECISION:
            continue
        if right / unans > best_recall:
            best_recall, best_tau = right / unans, float(tau)
    return best_tau


def metrics(samples: list[Sample], model: Model, depth: int, abstain: bool = True) -> dict[str, float]:
    """Held-out figures; ``depth``: how many best sentences are re-read (search.rerank)."""
    hit1 = hit3 = n = 0
    right = abst = unans = 0
    kinds: dict[str, int] = {}
    for s in samples:
        refuse = abstain and model.refuses(s)
        if s.answerable:
            n += 1
            order = model.order(s, depth)
            if not refuse and len(order):
                hit1 += bool(s.y[order[0]] > 0)
                hit3 += bool(s.y[order[:3]].max() > 0)
        else:
            unans += 1
            right += refuse
            if s.kind:
                kinds[f"refused[{s.kind}]"] = kinds.get(f"refused[{s.kind}]", 0) + refuse
                kinds[f"of[{s.kind}]"] = kinds.get(f"of[{s.kind}]", 0) + 1
        abst += refuse
    out = {"hit@1": hit1 / n if n else 0.0, "hit@3": hit3 / n if n else 0.0, "questions": n, **kinds}
    if unans:
        out["abstain_precision"] = right / abst if abst else 0.0
        out["abstain_recall"] = right / unans
    return out


def folds_of(samples: list[Sample], k: int) -> list[int]:
    """Fold number per sample: each set's articles dealt round-robin into k folds (unanswerable
    questions dealt by their own id), so no article is in training and test at once."""
    fold: dict[tuple[str, str], int] = {}
    counters: dict[str, int] = {}
    for s in samples:
        key = (s.set, s.group)
        if key not in fold:
            fold[key] = counters.get(s.set, 0) % k
            counters[s.set] = counters.get(s.set, 0) + 1
    return [fold[(s.set, s.group)] for s in samples]


def run(
    config: Config,
    sets: Sequence[Path],
    *,
    folds: int = 5,
    l2: float = 1.0,
    write: bool = False,
    say: Say = print,
    encoder: Encoder | None = None,
    reader: SentenceReader | None = None,
) -> dict[str, dict[str, float]]:
    """Fit with ``folds``-fold cross-validation by article, print the held-out figures and weights,
    and with ``write`` refit on everything and store the weights (with the held-out report).

    With a reader, everything is fitted and judged twice: without it (the re-read of close calls
    orders the best few) and with it reading as many as ``search.read``/``read_clear`` say.

    Returns:
        The held-out figures per set (with the reader, when there is one).
    """
    depth, reading = config.search.rerank, Reading.of(config.search)
    read = reading.close if reader is not None else 0
    samples = collect(config, sets, say, encoder, reader)
    fold_ids = folds_of(samples, folds)
    modes: list[tuple[str, Callable[[list[Sample]], Model]]] = [("without the reader", lambda train: fit(train, l2))]
    if read:
        modes.append(
            (
                f"with the reader (best {reading.close} of a close call, {reading.clear} of the others)",
                lambda train: fit_reader(train, fit(train, l2), l2, reading),
            )
        )
    report: dict[str, dict[str, float]] = {}
    for label, fitter in modes:
        say(f"--- {label} ---")
        report = _held_out(samples, fold_ids, folds, fitter, depth, say)
    model = modes[-1][1](samples)
    say(
        "weights: "
        + ", ".join(f"{n}={c:+.2f}" for n, c in zip(FEATURES, model.coef, strict=True))
        + f" bias={model.bias:+.2f}"
    )
    say(
        "re-read: "
        + ", ".join(f"{n}={c:+.2f}" for n, c in zip(RERANK_FEATURES, model.rerank_coef, strict=True))
        + f" bias={model.rerank_bias:+.2f}"
    )
    say(
        "abstention: "
        + ", ".join(f"{n}={c:+.2f}" for n, c in zip(QUESTION_FEATURES, model.abstain_coef, strict=True))
        + f" bias={model.abstain_bias:+.2f} threshold={model.tau:.2f}"
    )
    if model.reader is not None:
        r = model.reader
        say(
            "reader order: "
            + ", ".join(f"{n}={c:+.2f}" for n, c in zip(READ_FEATURES, r.order_coef, strict=True))
            + f" bias={r.order_bias:+.2f}"
        )
    if write:
        out: dict[str, object] = {
            "features": list(FEATURES),
            "coef": [round(float(c), 4) for c in model.coef],
            "bias": round(model.bias, 4),
            "question_features": list(QUESTION_FEATURES),
            "abstain_coef": [round(float(c), 4) for c in model.abstain_coef],
            "abstain_bias": round(model.abstain_bias, 4),
            "abstain_below": round(model.tau, 2),
            "rerank_features": list(RERANK_FEATURES),
            "rerank_coef": [round(float(c), 4) for c in model.rerank_coef],
            "rerank_bias": round(model.rerank_bias, 4),
        }
        if model.reader is not None:
            out["reader"] = {
                "features": list(READ_FEATURES),
                "order_coef": [round(c, 4) for c in model.reader.order_coef],
                "order_bias": round(model.reader.order_bias, 4),
                "read": reading.close,  # the reading rule it was fitted for: search.read, read_clear, read_within
                "read_clear": reading.clear,
                "read_within": reading.within,
            }
        out["fitted_on"] = [_shown_path(p) for p in sets]
        out["held_out"] = report
        out["command"] = "python -m index fit --write " + " ".join(_shown_path(p) for p in sets)
        WEIGHTS_FILE.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        say(f"wrote {WEIGHTS_FILE}")
    return report


def _held_out(
    samples: list[Sample],
    fold_ids: list[int],
    folds: int,
    fitter: Callable[[list[Sample]], Model],
    depth: int,
    say: Say,
) -> dict[str, dict[str, float]]:
    """Each fold judged by a model fitted without its articles; prints and returns the figures per set."""
    names = sorted({s.set for s in samples})
    held: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for f in range(folds):
        train = [s for s, i in zip(samples, fold_ids, strict=True) if i != f]
        test = [s for s, i in zip(samples, fold_ids, strict=True) if i == f]
        model = fitter(train)
        for name in names:
            part = [s for s in test if s.set == name]
            if part:
                m = metrics(part, model, depth)
                ranking = metrics(part, model, depth, abstain=False)
                m["rank_hit@1"], m["rank_hit@3"] = ranking["hit@1"], ranking["hit@3"]
                plain = metrics(part, model, 0)
                m["no_reread_hit@1"], m["no_reread_hit@3"] = plain["hit@1"], plain["hit@3"]
                held[name].append(m)
    report: dict[str, dict[str, float]] = {}
    for name in names:
        rows = held[name]
        total = sum(r["questions"] for r in rows)
        agg = {
            key: sum(r[key] * r["questions"] for r in rows) / total
            for key in ("hit@1", "hit@3", "rank_hit@1", "rank_hit@3", "no_reread_hit@1", "no_reread_hit@3")
        }
        for key in ("abstain_precision", "abstain_recall"):
            if key in rows[0]:
                agg[key] = float(np.mean([r[key] for r in rows]))
        report[name] = agg
        hits = ", ".join(f"{r['hit@1']:.3f}" for r in rows)
        extra = (
            f"  abstain P {agg['abstain_precision']:.3f} R {agg['abstain_recall']:.3f}"
            if "abstain_precision" in agg
            else ""
        )
        say(
            f"{name:<10} held-out hit@1 {agg['hit@1']:.3f} hit@3 {agg['hit@3']:.3f}{extra}   (folds: {hits})"
            f"\n{'':<10} never abstaining: hit@1 {agg['rank_hit@1']:.3f} hit@3 {agg['rank_hit@3']:.3f}"
            f"\n{'':<10} without the re-read (search.rerank 0): hit@1 {agg['no_reread_hit@1']:.3f}"
            f" hit@3 {agg['no_reread_hit@3']:.3f}"
        )
        kinds = sorted({k[len("of[") : -1] for r in rows for k in r if k.startswith("of[")})
        for kind in kinds:
            refused = sum(r.get(f"refused[{kind}]", 0) for r in rows)
            of = sum(r.get(f"of[{kind}]", 0) for r in rows)
            agg[f"refused[{kind}]"], agg[f"of[{kind}]"] = refused, of
        if kinds:
            say(
                f"{'':<10} refused: "
                + ", ".join(f"{agg[f'refused[{k}]']:.0f} of {agg[f'of[{k}]']:.0f} {k}" for k in kinds)
            )
    return report


def _shown_path(path: Path) -> str:
    """A set's path as the weights file records it: relative to the repository, else its parent and name."""
    root = Path(__file__).resolve().parents[1]
    resolved = path.resolve()
    return (
        str(resolved.relative_to(root)) if resolved.is_relative_to(root) else f"{resolved.parent.name}/{resolved.name}"
    )
