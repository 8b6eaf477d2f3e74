"""When is the reader worth its time? Depth and a close-call gate, simulated on the eval sets.

``python -m experiments.reader_gate [--max-length N] [--parallel N] [SET ...]`` from the repository root
(``--max-length``: the word pieces each pair keeps, less of the neighbours; default the trained 128;
``--parallel``: rows read at once, as ``search.read_threads``, for the milliseconds column;
``--settle B ...``: the shipped rule read in rounds of ``--parallel``, stopping once no unread
candidate could take the first place with a reader logit of B).

For every question, the pipeline's own stages up to the sentence model's ranking run once; the
reader then reads each of the best 5 candidates in its own call (one row: no padding, and a score
that does not depend on the other rows of the batch). From those, every variant is replayed with the
shipped weights (``index/answer/weights.json``): read the best ``d`` (1..5) of every question the
sentence model's abstention lets through, or only when its runner-up is within ``m`` of its best
(else the sentence model's order stands). (Its first run also judged
read questions with the reader's abstention model; that model was dropped, docs/research.md.) The table gives hit@1 (an abstention on an answerable question is a miss),
near misses refused, abstention precision, the share of questions read and the reader milliseconds
per question (measured per row, summed over the rows a variant reads).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments import EVAL_SETS
from index.answer.features import features, question_features
from index.answer.model import rank
from index.answer.normalize import normalize
from index.answer.query import Query, Scored, prepare
from index.answer.read import candidates, logit, reorder
from index.answer.retrieve import retrieve_chunks
from index.config import load_config
from index.evaluate import Question, eval_engine, is_hit, load_question_set
from index.reader import Reader
from index.store import Snapshot

ROOT = Path(__file__).resolve().parents[1]
DEPTH = 5


@dataclass
class Case:
    question: Question
    snap: Snapshot
    query: Query
    scored: list[Scored]
    logits: np.ndarray  # (<= DEPTH,) the reader's logit of each of the best candidates, one row per call
    ms: np.ndarray  # milliseconds of each of those calls


def collect(path: Path, work: Path, max_length: int | None = None) -> list[Case]:
    config = load_config(ROOT / "config.yaml")
    qset = load_question_set(path, None, work)
    engine = eval_engine(config, qset)
    pipe = engine.pipeline()
    snap = pipe.snapshot
    reader = Reader.load(threads=1, max_length=max_length)
    english = engine.encoder.known_words()
    cases = []
    for q in qset.questions:
        text = normalize(" ".join(q.question.split()), snap, english)
        query = prepare(text, engine.encoder.encode([text], batch_size=1)[0])
        chunks = retrieve_chunks(snap, query, candidates=config.search.candidates, keep=config.search.chunks)
        scored = rank(*features(snap, query, chunks), pipe.weights)
        logits, ms = [], []
        for cand in candidates(snap, [x.sentence for x in scored[:DEPTH]]):
            t = time.perf_counter()
            logits.append(float(reader.logits(text, [cand])[0]))
            ms.append((time.perf_counter() - t) * 1000)
        cases.append(Case(q, snap, query, scored, np.array(logits, np.float32), np.array(ms)))
    return cases


def replay(  # type: ignore[no-untyped-def]
    cases: Sequence[Case],
    depth: int,
    margin: float | None,
    weights,
    parallel: int = 1,
    span: float | None = None,
    far: int = 0,
    settle: float | None = None,
) -> dict[str, float]:
    """One variant over one set's cases. ``margin`` None: always read; else read only close calls
    (and the best ``far`` of the others).
    ``span``: of the best ``depth``, read only those within ``span`` of the best (at least two).
    ``settle``: read in rounds of ``parallel`` and stop once no unread candidate could pass the best
    read one even with a reader logit of ``settle`` (:func:`settled`).
    ``ms`` is the wall time with ``parallel`` rows read at once: each round costs its slowest row."""
    r = weights.reader
    hits = answerable = refused_near = near = refused = refused_right = read_n = 0
    ms = 0.0
    for c in cases:
        scored = c.scored
        p = weights.answerable(question_features(c.snap, c.query, scored))
        refuse = not scored or p < weights.abstain_below
        close = len(scored) > 1 and (margin is None or scored[0].score - scored[1].score < margin)
        if depth and (close or far > 1) and len(scored) > 1 and not refuse:
            d = depth if close else far
            if span is not None:
                d = max(2, sum(1 for x in scored[:depth] if scored[0].score - x.score < span))
            if settle is not None:
                d = settled_depth(scored, c.logits, d, parallel, settle, r.order_coef, r.order_bias)
            scored = reorder(scored, c.logits[:d], r.order_coef, r.order_bias)
            read_n += 1
            ms += sum(float(c.ms[i : i + parallel].max()) for i in range(0, min(d, len(c.ms)), parallel))
        q = c.question
        if q.answerable:
            answerable += 1
            if not refuse and scored:
                top_sid = scored[0].sentence
                hits += is_hit(q, c.snap.article_of(top_sid).id, c.snap.sentence_text(top_sid))
        else:
            refused_right += refuse
            if q.kind == "near-miss":
                near += 1
                refused_near += refuse
        refused += refuse
    return {
        "hit@1": hits / max(1, answerable),
        "near_refused": refused_near / near if near else float("nan"),
        "abstain_P": refused_right / refused if refused else float("nan"),
        "read": read_n / max(1, len(cases)),
        "ms": ms / max(1, len(cases)),
    }


def settled(
    scored: list[Scored], logits: np.ndarray, depth: int, bound: float, coef: Sequence[float], bias: float
) -> bool:
    """Whether reading more of the best ``depth`` cannot change the first quote: the best of the
    ``len(logits)`` read so far beats every unread one of them even if the reader gave that one
    ``bound``, the highest logit it is taken to give (the order model is increasing in the logit)."""
    k = len(logits)
    if k >= min(depth, len(scored)):
        return True
    head = logit(np.array([x.score for x in scored[:depth]], dtype=np.float32))
    c_sentence, c_reader = float(coef[0]), float(coef[1])
    best = float(np.max(c_sentence * head[:k] + c_reader * np.asarray(logits, dtype=np.float32))) + bias
    rival = float(np.max(c_sentence * head[k:])) + c_reader * bound + bias
    return best >= rival


def settled_depth(
    scored: list[Scored],
    logits: np.ndarray,
    depth: int,
    parallel: int,
    bound: float,
    coef: Sequence[float],
    bias: float,
) -> int:
    """Rows read when reading stops at the first round after which the order is settled."""
    read = min(parallel, depth)
    while read < depth:
        if settled(scored, logits[:read], depth, bound, coef, bias):
            break
        read += parallel
    return min(read, depth)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sets", nargs="*", default=list(EVAL_SETS))
    p.add_argument("--max-length", type=int, default=None, help="word pieces per pair read (default: as trained)")
    p.add_argument("--parallel", type=int, default=1, help="rows read at once when timing (search.read_threads)")
    p.add_argument("--settle", type=float, nargs="*", default=[], help="reader-logit bounds to stop reading early at")
    args = p.parse_args(argv)
    from index.answer.model import Weights

    weights = Weights.load()
    with tempfile.TemporaryDirectory() as tmp:
        per_set = {Path(s).parent.name: collect(ROOT / s, Path(tmp), args.max_length) for s in args.sets}
    row_ms = [m for cases in per_set.values() for c in cases for m in c.ms]
    print(f"reader per row: p50 {statistics.median(row_ms):.1f} ms, p95 {np.percentile(row_ms, 95):.1f} ms")
    variants: list[tuple[int, float | None, float | None, int]] = [(0, None, None, 0)]
    variants += [(d, None, None, 0) for d in range(1, DEPTH + 1)]
    variants += [(d, m, None, 0) for d in (2, 3, 4, 5) for m in (0.1, 0.2, 0.25, 0.3, 0.5)]  # 0.25: close_call
    variants += [(d, 0.25, g, 0) for d in (3, 4) for g in (0.1, 0.2, 0.3, 0.5)]
    variants += [(d, m, None, 2) for d in (3, 4) for m in (0.1, 0.25, 0.5)]
    settles = [None, *args.settle]
    print(f"{'variant':34s}" + "".join(f"{name:>36s}" for name in per_set))
    print(f"{'':34s}" + "".join(f"{'hit@1 near  P    read ms':>36s}" for _ in per_set))
    if args.settle:
        every = np.concatenate([c.logits for cases in per_set.values() for c in cases])
        print("reader logits: " + ", ".join(f"q{q} {np.percentile(every, q):.2f}" for q in (50, 90, 99, 99.9, 100)))
        variants = [(0, None, None, 0), (4, 0.25, None, 2)]
    for (depth, margin, span, far), bound in ((v, b) for v in variants for b in settles if b is None or v[0]):
        label = "no reader" if not depth else f"read {depth}" + ("" if margin is None else f" if gap<{margin}")
        label += ("" if span is None else f" within {span}") + (f", else {far}" if far else "")
        label += "" if bound is None else f", settled at {bound:g}"
        cells = []
        for cases in per_set.values():
            m = replay(cases, depth, margin, weights, args.parallel, span, far, bound)
            cells.append(
                f"{m['hit@1']:.3f} {m['near_refused']:.2f} {m['abstain_P']:.2f} {m['read']:.2f} {m['ms']:5.1f}"
            )
        print(f"{label:34s}" + "".join(f"{c:>36s}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
