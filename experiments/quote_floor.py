"""Which quotes stand on their own? The floor and ratio for a 2nd/3rd quote, and the closest-found floor.

``python -m experiments.quote_floor [--fit SET ...] [--measure SET ...]`` from the repository root.

Every question of every set runs through the engine's own pipeline once, and its best three
distinct, verified quotes are kept with their scores (``compose`` with nothing withheld). A later
quote is right when it answers (``evaluate.is_hit``); for an unanswerable question every quote is
wrong. On the ``--fit`` sets, the grid picks the floor and the ratio to the first quote's score that
show the most right later quotes net of wrong ones (a quote is shown when it is likelier right than
wrong), and likewise the floor above which an abstention shows its closest sentence. The table
then gives, on every set, the precision of the shown quotes and how many are shown per answer,
before (every quote shown) and after; the ``--measure`` sets are never fitted on.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.answer.compose import Shown, compose
from index.config import load_config
from index.evaluate import eval_engine, is_hit, load_question_set

ROOT = Path(__file__).resolve().parents[1]
FIT_SETS = ("eval/news/questions.jsonl", "eval/train/questions.jsonl")
MEASURE_SETS = (
    "eval/heldout/questions.jsonl",
    "eval/chat/questions.jsonl",
    "../shared/eval/xquad-dev/questions.jsonl",
)
EVERYTHING = Shown(floor=0.0, ratio=0.0, more=0, closest_floor=0.0)
BEFORE = Shown(floor=0.0, ratio=0.0, more=0, closest_floor=float("inf"))  # every quote, no closest


@dataclass(frozen=True)
class Case:
    answerable: bool
    refused: bool
    quotes: tuple[tuple[float, bool], ...]  # (score, answers) of each distinct quote, best first
    closest: tuple[float, bool] | None  # a refused question's best sentence


def collect(path: Path, work: Path) -> list[Case]:
    config = load_config(ROOT / "config.yaml")
    qset = load_question_set(path, None, work)
    engine = eval_engine(config, qset)
    snap = engine.snapshot()
    cases = []
    for q in qset.questions:
        [ranked] = engine.ask_ranked([q.question], top_k=3)
        refused = ranked.answer.abstained
        full = compose(snap, q.question, ranked.scored, False, 3, EVERYTHING)
        quotes = tuple((c.score, q.answerable and is_hit(q, c.article_id, c.text)) for c in full.citations)
        cases.append(Case(q.answerable, refused, () if refused else quotes, quotes[0] if refused and quotes else None))
    return cases


def shown(case: Case, rule: Shown) -> list[bool]:
    """Whether each shown quote of ``case`` answers, under ``rule``."""
    if case.refused:
        if case.closest is not None and case.closest[0] >= rule.closest_floor:
            return [case.closest[1]]
        return []
    first = case.quotes[0][0]
    later = [ok for score, ok in case.quotes[1:] if score >= rule.floor and score >= rule.ratio * first]
    return [case.quotes[0][1], *later]


def net(cases: Sequence[Case], rule: Shown) -> int:
    """Right later quotes shown minus wrong ones."""
    return sum(1 if ok else -1 for c in cases for ok in shown(c, rule)[1:])


def fit(cases: Sequence[Case]) -> Shown:
    answered = [c for c in cases if not c.refused]
    refused = [c for c in cases if c.refused]
    grid = [
        (net(answered, Shown(floor=f, ratio=r)), -f, -r, f, r)
        for f in np.round(np.arange(0.0, 0.81, 0.02), 2)
        for r in np.round(np.arange(0.0, 1.01, 0.05), 2)
    ]
    _, _, _, floor, ratio = max(grid)
    closest_grid = [
        (sum(1 if c.closest[1] else -1 for c in refused if c.closest and c.closest[0] >= cf), cf)
        for cf in np.round(np.arange(0.0, 1.01, 0.02), 2)
    ]
    best, cf = max(closest_grid, key=lambda t: (t[0], t[1]))
    return Shown(floor=float(floor), ratio=float(ratio), closest_floor=float(cf) if best > 0 else 1.01)


def describe(cases: Sequence[Case], rule: Shown) -> str:
    answered = [c for c in cases if not c.refused]
    quotes = [ok for c in answered for ok in shown(c, rule)]
    later = [ok for c in answered for ok in shown(c, rule)[1:]]
    refused = [c for c in cases if c.refused]
    closest = [ok for c in refused for ok in shown(c, rule)]
    hit3 = np.mean([any(shown(c, rule)) for c in cases if c.answerable]) if any(c.answerable for c in cases) else 0
    return (
        f"shown P {np.mean(quotes):.3f}  later P {np.mean(later) if later else float('nan'):.3f} ({len(later)})  "
        f"quotes/answer {len(quotes) / max(1, len(answered)):.2f}  hit@shown {hit3:.3f}  "
        f"closest {len(closest)}/{len(refused)} right {sum(closest)}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m experiments.quote_floor", description=__doc__.split("\n")[0])
    p.add_argument("--fit", nargs="*", default=list(FIT_SETS))
    p.add_argument("--measure", nargs="*", default=list(MEASURE_SETS))
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = {name: collect(ROOT / name, Path(tmp)) for name in [*args.fit, *args.measure]}
    rule = fit([c for name in args.fit for c in data[name]])
    print(f"fitted on {', '.join(args.fit)}: {rule}")
    for name, cases in data.items():
        role = "fit" if name in args.fit else "measure"
        print(f"{Path(name).parent.name:<10} {role:<8} before: {describe(cases, BEFORE)}")
        print(f"{'':<10} {'':<8} after:  {describe(cases, rule)}")


if __name__ == "__main__":
    main()
