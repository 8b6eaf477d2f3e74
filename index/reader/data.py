"""Training pairs for the reader from the public QA sets in /work/shared/training-data.

Every context is split with citebot's own splitter, so the model learns on sentences cut the way
citebot cuts them when it serves. One question gives one *group*: the sentence that answers it and
hard negatives (its neighbours first, the commonest real mistake, then other sentences of the same
context, then a sentence of another context of the same title: on topic, not answering).
Questions without an answer, and some answerable questions paired with another paragraph of the same
title, give groups of negatives only: the "near miss" citebot's abstention cannot see.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.text.sentences import split_sentences

DATA_DIR = Path("/work/shared/training-data")
FILES = ("squadshifts", "qed", "squad2_first10", "selqa", "clapnq")
# Pre-tokenised text ("firm 's customers .") that is lightly detokenised.
_PRETOKENISED = ("qed", "clapnq")
# Drawing weights per source. Reddit comments and Amazon reviews are furthest from news and the
# biggest parts of SQuAD-shifts: halved so that Wikipedia-like prose is most of what is seen. SelQA
# is answer-*sentence* selection, this exact task: weighted up.
SOURCE_WEIGHTS = {
    "squadshifts-new_wiki": 1.0,
    "squadshifts-reddit": 0.5,
    "squadshifts-amazon": 0.5,
    "qed": 1.0,
    "squad2": 1.0,
    "selqa": 1.5,
    "clapnq": 1.0,
}
HOLDOUT_SHARE = 0.05
GROUP_SIZE = 6  # candidates per question in training: 1 positive + 5 negatives
NEAR_MISS_SHARE = 0.15  # answerable questions that also get an other-paragraph, no-answer group
AUGMENT_SHARE = 0.30
# Sources with fewer titles than this are held out by context (see load).
_MIN_TITLES = 5


@dataclass
class Context:
    """A split passage: sentence texts and their character spans in the original context."""

    title: str
    source: str
    sentences: list[str]
    spans: list[tuple[int, int]]


@dataclass
class Example:
    """One question over one context. ``positive`` is -1 for no answer; ``skip`` are other gold sentences."""

    question: str
    context: int
    source: str
    title: str
    positive: int
    skip: set[int] = field(default_factory=set)


@dataclass
class Group:
    """One question and its candidates, each (context index, sentence index, label)."""

    question: str
    source: str
    items: list[tuple[int, int, float]]
    augment: bool = False


@dataclass
class Dataset:
    """Everything the trainer and the validation need."""

    contexts: list[Context]
    train: list[Example]
    val: list[Example]
    val_titles: dict[str, int]
    counts: dict[str, dict[str, int]]


def source_key(source: str) -> str:
    """The weighting/report key of a record's ``source`` field."""
    if source.startswith("squadshifts-"):
        return source
    return source.split("-", 1)[0]


_DETOK = [
    (re.compile(r"``\s*|\s*''"), '"'),
    (re.compile(r"\s+([.,;:!?%)\]])"), r"\1"),
    (re.compile(r"([(\[$])\s+"), r"\1"),
    (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b"), r"\1"),
    (re.compile(r"\s+--\s+"), " – "),
    (re.compile(r"(\d)\s+-\s+(\d)"), r"\1-\2"),
    (re.compile(r"(\w)\s+-\s+(\w)"), r"\1-\2"),
]


def detokenise(text: str) -> str:
    """Undo the commonest Penn-style tokenisation ("firm 's customers ." -> "firm's customers.")."""
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def _sentence_at(spans: Sequence[tuple[int, int]], offset: int) -> int:
    for i, (start, end) in enumerate(spans):
        if start <= offset < end:
            return i
    # Answer starting in the space between two sentences: it belongs to the next one.
    for i, (start, _end) in enumerate(spans):
        if start >= offset:
            return i
    return -1


def _overlapping(spans: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Sentences whose span lies mostly (more than half) inside [start, end)."""
    out = []
    for i, (s, e) in enumerate(spans):
        if min(e, end) - max(s, start) > (e - s) / 2:
            out.append(i)
    return out


def load(data_dir: Path = DATA_DIR, *, seed: int = 13) -> Dataset:
    """Read the five files, split every context, and hold out ~5% of each source's titles.

    Returns:
        Contexts, training and validation examples, and the counts the model card reports.
    """
    contexts: list[Context] = []
    by_text: dict[tuple[str, str], int] = {}
    examples: list[Example] = []
    dropped: dict[str, int] = defaultdict(int)
    for name in FILES:
        with gzip.open(data_dir / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        for r in records:
            src = source_key(r["source"])
            key = (src, r["context"])
            if key not in by_text:
                parts = split_sentences(r["context"])
                texts = [p.text for p in parts]
                if name in _PRETOKENISED:
                    texts = [detokenise(t) for t in texts]
                by_text[key] = len(contexts)
                contexts.append(Context(r["title"], src, texts, [(p.start, p.end) for p in parts]))
            ci = by_text[key]
            spans = contexts[ci].spans
            if len(spans) < 2:
                dropped[src] += 1  # a one-sentence context has no negatives to learn from
                continue
            question = r["question"].strip()
            if name in _PRETOKENISED:
                question = detokenise(question)
            if not r["answers"]:
                examples.append(Example(question, ci, src, r["title"], -1))
                continue
            if "sentences" in r:  # SelQA / CLAP NQ: whole gold sentences
                gold: list[int] = []
                for a, s in zip(r["answers"], r["answer_starts"], strict=True):
                    gold.extend(i for i in _overlapping(spans, s, s + len(a)) if i not in gold)
            else:
                gold = [_sentence_at(spans, s) for s in r["answer_starts"]]
                gold = [g for i, g in enumerate(gold) if g >= 0 and g not in gold[:i]]
            if not gold:
                dropped[src] += 1
                continue
            examples.append(Example(question, ci, src, r["title"], gold[0], set(gold[1:])))

    rng = random.Random(seed)
    titles_by_source: dict[str, list[str]] = defaultdict(list)
    for e in examples:
        if e.title not in titles_by_source[e.source]:
            titles_by_source[e.source].append(e.title)
    held_titles: set[str] = set()
    held_contexts: set[int] = set()
    val_titles: dict[str, int] = {}
    for src, titles in sorted(titles_by_source.items()):
        if len(titles) >= _MIN_TITLES:
            titles = sorted(titles)
            rng.shuffle(titles)
            k = max(1, round(HOLDOUT_SHARE * len(titles)))
            held_titles.update(titles[:k])
            val_titles[src] = k
        else:
            # SQuAD-shifts' Reddit part is one "title" for 9,803 comments: held out by comment thread
            # (context) instead, the finest unit that is still not a random line.
            ids = sorted({e.context for e in examples if e.source == src})
            rng.shuffle(ids)
            k = max(1, round(HOLDOUT_SHARE * len(ids)))
            held_contexts.update(ids[:k])
            val_titles[src + " (contexts)"] = k

    # A held-out title is held out everywhere (the same Wikipedia article can be in two sets).
    def is_val(e: Example) -> bool:
        return e.title in held_titles or e.context in held_contexts

    train = [e for e in examples if not is_val(e)]
    val = [e for e in examples if is_val(e)]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in train:
        counts[e.source]["train_questions"] += 1
        counts[e.source]["train_unanswerable"] += e.positive < 0
    for e in val:
        counts[e.source]["val_questions"] += 1
    for src, n in dropped.items():
        counts[src]["dropped"] = n
    return Dataset(contexts, train, val, val_titles, {k: dict(v) for k, v in counts.items()})


def title_index(contexts: Sequence[Context]) -> dict[tuple[str, str], list[int]]:
    """Contexts of each (source, title)."""
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(contexts):
        out[(c.source, c.title)].append(i)
    return out


def other_context(
    contexts: Sequence[Context],
    by_title: dict[tuple[str, str], list[int]],
    by_source: dict[str, list[int]],
    ex: Example,
    rng: random.Random,
) -> tuple[int, bool]:
    """Another context of the same title (near miss), else of the same source; and whether on topic."""
    same = [c for c in by_title[(ex.source, ex.title)] if c != ex.context]
    if same:
        return rng.choice(same), True
    pool = by_source[ex.source]
    while True:
        c = rng.choice(pool)
        if c != ex.context:
            return c, False


def make_groups(data: Dataset, *, seed: int = 13) -> list[Group]:
    """One shuffled list of training groups, drawn by source weight; the same for the same seed.

    Weighted shuffling without replacement (key u ** (1 / w)): a heavier source's questions come
    earlier on average, so a run cut short by its time budget has still seen the intended mix.
    """
    rng = random.Random(seed)
    contexts = data.contexts
    by_title = title_index(contexts)
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(contexts):
        by_source[c.source].append(i)
    groups: list[tuple[float, Group]] = []
    for ex in data.train:
        n = len(contexts[ex.context].sentences)
        items: list[tuple[int, int, float]] = []
        if ex.positive >= 0:
            items.append((ex.context, ex.positive, 1.0))
            near = [ex.positive - 1, ex.positive + 1]
        else:
            near = []
        rest = [i for i in range(n) if i != ex.positive and i not in ex.skip and i not in near]
        rng.shuffle(rest)
        order = [i for i in near if 0 <= i < n and i not in ex.skip] + rest
        wanted = GROUP_SIZE - 1 - len(items) + 1  # leaves one slot for the other-context negative
        items.extend((ex.context, i, 0.0) for i in order[: wanted - 1])
        oc, _ = other_context(contexts, by_title, by_source, ex, rng)
        items.append((oc, rng.randrange(len(contexts[oc].sentences)), 0.0))
        augment = rng.random() < AUGMENT_SHARE
        key = rng.random() ** (1.0 / SOURCE_WEIGHTS[ex.source])
        groups.append((key, Group(ex.question, ex.source, items, augment)))
        if ex.positive >= 0 and rng.random() < NEAR_MISS_SHARE:
            oc, on_topic = other_context(contexts, by_title, by_source, ex, rng)
            if on_topic:
                idx = list(range(len(contexts[oc].sentences)))
                rng.shuffle(idx)
                items = [(oc, i, 0.0) for i in idx[: GROUP_SIZE - 1]]
                groups.append(
                    (rng.random() ** (1.0 / SOURCE_WEIGHTS[ex.source]), Group(ex.question, ex.source, items, augment))
                )
    groups.sort(key=lambda kg: -kg[0])
    return [g for _, g in groups]


def augment_question(question: str, rng: random.Random) -> str:
    """Type the question the way chat users do: lower case, no "?", or one typo (at least one of these)."""
    for _ in range(4):
        out = question
        if rng.random() < 0.5:
            out = out.lower()
        if rng.random() < 0.6:
            out = out.rstrip().rstrip("?").rstrip()
        if rng.random() < 0.5:
            out = _typo(out, rng)
        if out != question:
            return out
    return question


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)  # never the first letter: people rarely mistype it
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
    return " ".join(words)


def candidate(contexts: Sequence[Context], ci: int, si: int) -> tuple[str, str, str]:
    """(sentence, previous, next) of sentence ``si`` of context ``ci``."""
    s = contexts[ci].sentences
    return s[si], s[si - 1] if si > 0 else "", s[si + 1] if si + 1 < len(s) else ""


def bucket_by_length(
    groups: Sequence[Group], contexts: Sequence[Context], per_step: int, window: int = 40
) -> list[Group]:
    """Reorder groups so each step's groups are of similar length, with steps in random order.

    A step is padded to its longest pair; among 100 consecutive groups, sorting by length before
    cutting them into steps cuts the padding (measured on the first 2,000 steps: mean padded width
    vs. mean true length) without changing which groups are seen early. Deterministic.
    """
    rng = random.Random(len(groups))
    out: list[Group] = []
    size = per_step * window
    for start in range(0, len(groups), size):
        chunk = list(groups[start : start + size])
        chunk.sort(key=lambda g: _group_chars(g, contexts))
        steps = [chunk[i : i + per_step] for i in range(0, len(chunk), per_step)]
        rng.shuffle(steps)
        out.extend(g for step in steps for g in step)
    return out


def _group_chars(g: Group, contexts: Sequence[Context]) -> int:
    # ~4.3 characters a word piece; a pair is cut at ~128 pieces, so longer counts the same.
    return len(g.question) + max(min(550, sum(len(t) for t in candidate(contexts, c, s))) for c, s, _ in g.items)
