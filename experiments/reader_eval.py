"""How the reader does on citebot's own news sets, which it never saw in training.

``python -m experiments.reader_eval [--sets PATH ...] [--model DIR]`` from the repository root.

For every question of each set, citebot's own ranked candidates (``Engine.ask_ranked`` over a
temporary index of that set's articles) are scored by the reader, and the table compares:

- hit@1 of citebot's first quote (an abstention on an answerable question is a miss, as in
  ``python -m index eval``), of its best candidate when never abstaining, and of the reader's
  best among citebot's best 5 and 10 candidates; "either" (a blend: the sum of the two ranks
  among the best 5) and "oracle" (any of the best k answers: the ceiling of re-ordering them);
- ROC AUC of the reader's best score over the 10 candidates, answerable questions against
  ``near-miss`` and against ``off-topic`` ones, next to the same AUC for citebot's own best score;
- the reader's milliseconds per question for 5 and 10 candidates on one thread (one session call each).

A quote answers when it is cited to the gold article and contains a gold answer (any case),
``index.evaluate.is_hit``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.config import load_config
from index.engine import Engine
from index.evaluate import is_hit, load_question_set
from index.reader import Candidate, Reader
from index.reader.export import roc_auc
from index.store import Snapshot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = ("eval/heldout/questions.jsonl", "eval/news/questions.jsonl", "eval/chat/questions.jsonl")
DEPTH = 10


@dataclass
class SetFigures:
    """Per-question outcomes of one set."""

    name: str
    questions: int = 0
    first_quote: list[bool] = field(default_factory=list)
    top_candidate: list[bool] = field(default_factory=list)
    reader5: list[bool] = field(default_factory=list)
    reader10: list[bool] = field(default_factory=list)
    blend5: list[bool] = field(default_factory=list)
    oracle5: list[bool] = field(default_factory=list)
    oracle10: list[bool] = field(default_factory=list)
    reader_max: dict[str, list[float]] = field(
        default_factory=lambda: {"answerable": [], "near-miss": [], "off-topic": []}
    )
    citebot_top: dict[str, list[float]] = field(
        default_factory=lambda: {"answerable": [], "near-miss": [], "off-topic": []}
    )
    citebot_confidence: dict[str, list[float]] = field(
        default_factory=lambda: {"answerable": [], "near-miss": [], "off-topic": []}
    )
    ms5: list[float] = field(default_factory=list)
    ms10: list[float] = field(default_factory=list)


def candidates_of(snap: Snapshot, sids: Sequence[int]) -> list[Candidate]:
    """(sentence, previous, next) of each sentence row, neighbours within the same article only."""
    out = []
    for sid in sids:
        rows = snap.article_rows(sid)
        lo, hi = rows.start, rows.stop
        prev = snap.sentence_text(sid - 1) if sid - 1 >= lo else ""
        nxt = snap.sentence_text(sid + 1) if sid + 1 < hi else ""
        out.append((snap.sentence_text(sid), prev, nxt))
    return out


def measure_set(path: Path, reader: Reader, work: Path) -> SetFigures:
    """Index the set's articles in ``work``, ask every question, and score citebot's candidates."""
    qset = load_question_set(path, None, work)
    config = load_config(ROOT / "config.yaml", corpus_dir=qset.corpus, index_dir=work / f"{qset.name}-index")
    if hasattr(config.search, "read"):
        # citebot on its own: the engine's reader stage (this reader, once fitted in) stays off, so
        # the candidates and the first quote are those of the retrieval + sentence model alone.
        config = config.replace(search=dataclasses.replace(config.search, read=0))
    engine = Engine(config)
    engine.rebuild()
    ranked = engine.ask_ranked([q.question for q in qset.questions])
    figures = SetFigures(qset.name, len(qset.questions))
    reader.score("warm up", [("One sentence.", "", "")])  # the first session call allocates
    snap = engine.snapshot()
    for q, r in zip(qset.questions, ranked, strict=True):
        answer, scored = r.answer, r.scored
        sids = [x.sentence for x in scored[:DEPTH]]
        cands = candidates_of(snap, sids)
        started = time.perf_counter()
        s10 = reader.score(q.question, cands)
        figures.ms10.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        s5 = reader.score(q.question, cands[:5])
        figures.ms5.append((time.perf_counter() - started) * 1000)
        kind = "answerable" if q.answerable else (q.kind or "near-miss")
        if kind in figures.reader_max:
            figures.reader_max[kind].append(float(s10.max()) if len(s10) else 0.0)
            figures.citebot_top[kind].append(float(scored[0].score) if scored else float("-inf"))
            figures.citebot_confidence[kind].append(float(r.confidence))
        if not q.answerable:
            continue
        hits = [
            is_hit(q, snap.articles[int(snap.sentences[sid, 0])].id, c[0]) for sid, c in zip(sids, cands, strict=True)
        ]
        first = answer.citations[0] if answer.citations and not answer.abstained else None
        figures.first_quote.append(first is not None and is_hit(q, first.article_id, first.text))
        figures.top_candidate.append(bool(hits[:1]) and hits[0])
        figures.reader5.append(bool(hits) and hits[int(np.argmax(s5))])
        figures.reader10.append(bool(hits) and hits[int(np.argmax(s10))])
        figures.blend5.append(bool(hits) and hits[_blend(s5)])
        figures.oracle5.append(any(hits[:5]))
        figures.oracle10.append(any(hits))
    return figures


def _blend(reader_scores: np.ndarray) -> int:
    """Best of citebot's order and the reader's: the smallest sum of the two ranks (ties: citebot's)."""
    reader_rank = np.empty(len(reader_scores), dtype=np.int64)
    reader_rank[np.argsort(-reader_scores, kind="stable")] = np.arange(len(reader_scores))
    total = reader_rank + np.arange(len(reader_scores))
    return int(np.argmin(total))


def _mean(values: Sequence[bool | float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def report(all_figures: Sequence[SetFigures]) -> str:
    """The Markdown tables."""
    lines = [
        "| set | answerable | citebot first quote | citebot best candidate | reader, best 5 | reader, best 10 | rank blend, best 5 | oracle@5 | oracle@10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in all_figures:
        lines.append(
            f"| {f.name} | {len(f.first_quote)} | {_mean(f.first_quote):.3f} | {_mean(f.top_candidate):.3f} | "
            f"{_mean(f.reader5):.3f} | {_mean(f.reader10):.3f} | {_mean(f.blend5):.3f} | {_mean(f.oracle5):.3f} | {_mean(f.oracle10):.3f} |"
        )
    lines += [
        "",
        "| set | near misses | AUC vs near-miss: reader max / citebot top / citebot abstention model | off-topic | AUC vs off-topic: reader max / citebot top / abstention model | reader ms/question, 5 cand. (p50 / mean) | 10 cand. (p50 / mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in all_figures:
        cells = []
        for kind in ("near-miss", "off-topic"):
            r = roc_auc(f.reader_max["answerable"], f.reader_max[kind])
            c = roc_auc(f.citebot_top["answerable"], f.citebot_top[kind])
            a = roc_auc(f.citebot_confidence["answerable"], f.citebot_confidence[kind])
            cells += [str(len(f.reader_max[kind])), f"{r:.3f} / {c:.3f} / {a:.3f}"]
        lines.append(
            f"| {f.name} | {' | '.join(cells)} | {np.median(f.ms5):.1f} / {_mean(f.ms5):.1f} | {np.median(f.ms10):.1f} / {_mean(f.ms10):.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: measure each set that exists and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m experiments.reader_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="*", type=Path, default=[ROOT / s for s in DEFAULT_SETS])
    parser.add_argument("--model", type=Path, default=None, help="reader folder (default: the shipped one)")
    args = parser.parse_args(argv)
    reader = Reader.load(args.model, threads=1)
    q = reader.meta.get("quantize")
    print(f"reader: {reader.model_dir} ({q}, {reader.meta.get('onnx_bytes', 0) / 1e6:.1f} MB), one thread")
    results = []
    with tempfile.TemporaryDirectory(prefix="citebot-reader-eval-") as tmp:
        for path in args.sets:
            if not Path(path).is_file():
                print(f"(skipped {path}: not there)")
                continue
            started = time.perf_counter()
            results.append(measure_set(Path(path), reader, Path(tmp)))
            print(
                f"{results[-1].name}: {results[-1].questions} questions in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
