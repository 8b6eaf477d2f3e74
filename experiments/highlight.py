"""How often the bold phrase of a quote (``index.answer.highlight``) is given, and how often it is the answer.

``python -m experiments.highlight [SET ...]`` from the repository root; no model is loaded.

Each answerable question is put to its gold sentence: the sentence of the gold article (read with the
project's own reader and split with its own splitter) that holds the first gold answer found in it,
as the sets promise one does. Then ``answer_span(question, sentence)`` is scored against every gold
answer string in that sentence (case-insensitive, every occurrence):

- coverage: a span was given;
- precision: of the spans given, the share that overlap a gold answer;
- exact-ish: of the spans given, the share that lie within a gold answer or contain one.

Per set and per question type, as the highlighter reads the question (``asked``): who, where, when,
how many, how much (money or a share), how long, other number questions, and the rest (for which no
span should be given). eval/news and eval/train are for developing the rules; eval/heldout and
eval/chat only for the final measure.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.answer.highlight import answer_span, asked, read_question
from index.text.articles import read_article_file
from index.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
DEVELOP = ("eval/news/questions.jsonl", "eval/train/questions.jsonl")
FINAL = ("eval/heldout/questions.jsonl", "eval/chat/questions.jsonl")
TYPES = ("who", "where", "when", "how many", "how much", "how long", "number, other", "other")
MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class Case:
    question: str
    sentence: str
    golds: tuple[tuple[int, int], ...]  # every occurrence of every gold answer in the sentence

    @property
    def type(self) -> str:
        wanted = asked(read_question(self.question))
        if wanted is None:
            return "other"
        if wanted.kind != "number":
            return {"person": "who", "place": "where", "date": "when"}[wanted.kind]
        if wanted.measure == "count":
            return "how many"
        if wanted.measure in ("money", "percent", ""):
            return "how much"
        return "how long" if wanted.measure == "time_or_length" else "number, other"


def cases(path: Path) -> list[Case]:
    """The set's answerable questions, each with its gold sentence."""
    out = []
    articles: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if not row.get("answers"):
            continue
        aid = row["article_id"]
        if aid not in articles:
            article = read_article_file(path.parent / "articles" / f"{aid}.md", max_bytes=MAX_BYTES)
            articles[aid] = [s.text for s in split_sentences(article.text)]
        answers = [a.lower() for a in row["answers"]]
        sentence = next((s for a in answers for s in articles[aid] if a in s.lower()), None)
        if sentence is None:
            print(f"  {row['id']}: no sentence holds a gold answer; left out")
            continue
        low = sentence.lower()
        golds = tuple((i, i + len(a)) for a in answers for i in range(len(low)) if low.startswith(a, i) and a)
        out.append(Case(row["question"], sentence, golds))
    return out


def judge(case: Case, span: tuple[int, int] | None) -> tuple[bool, bool, bool]:
    """(given, overlaps a gold answer, within or containing one)."""
    if span is None:
        return False, False, False
    a, b = span
    overlap = any(a < g_end and g_start < b for g_start, g_end in case.golds)
    exact = any((g_start <= a and b <= g_end) or (a <= g_start and g_end <= b) for g_start, g_end in case.golds)
    return True, overlap, exact


def table(rows: dict[tuple[str, str], list[tuple[bool, bool, bool]]]) -> str:
    lines = ["| set | type | n | coverage | precision | exact-ish |", "|---|---|---|---|---|---|"]
    for (set_name, type_), judged in rows.items():
        n, given = len(judged), sum(g for g, _, _ in judged)
        prec = f"{sum(o for _, o, _ in judged) / given:.2f}" if given else "-"
        exact = f"{sum(e for _, _, e in judged) / given:.2f}" if given else "-"
        lines.append(f"| {set_name} | {type_} | {n} | {given / n:.2f} ({given}) | {prec} | {exact} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("sets", nargs="*", default=[*DEVELOP, *FINAL], help="questions.jsonl files (default: all four)")
    p.add_argument("--show", action="store_true", help="print each question, its sentence and the span")
    args = p.parse_args(argv)
    rows: dict[tuple[str, str], list[tuple[bool, bool, bool]]] = defaultdict(list)
    for s in args.sets:
        path = ROOT / s
        name = path.parent.name
        per_type: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
        for case in cases(path):
            span = answer_span(case.question, case.sentence)
            judged = judge(case, span)
            per_type[case.type].append(judged)
            if args.show:
                mark = "-" if span is None else ("ok" if judged[2] else "~" if judged[1] else "WRONG")
                shown = "" if span is None else case.sentence[span[0] : span[1]]
                golds = sorted({case.sentence[a:b] for a, b in case.golds})
                print(
                    f"[{name} {case.type}] {mark:5} {case.question!r} -> {shown!r} gold {golds}\n      {case.sentence}"
                )
        for type_ in TYPES:
            if per_type[type_]:
                rows[(name, type_)] = per_type[type_]
        rows[(name, "all answerable")] = [j for t in TYPES for j in per_type[t]]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
