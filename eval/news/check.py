#!/usr/bin/env python3
"""Validate the news evaluation set (articles/*.md and questions.jsonl). Standard library only.

Usage: python eval/news/check.py [folder]   (the folder defaults to the one this script is in)

Exits 1 and lists every problem found, or exits 0 and prints the counts. Gold answers that occur more
than once in their article are reported as warnings: the scorer counts any cited sentence that contains
a gold answer, so such an answer could credit a sentence that does not answer the question.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
QUESTION_ID = re.compile(r"[a-z]+-\d{3,}")
REQUIRED_META = ("title", "date", "source")
AT = "\u0040"  # the set must not contain this character (written as an escape so this file has none)
QUESTION_KEYS = {"id", "article_id", "question", "answers"}
KINDS = ("near-miss", "off-topic")  # optional "kind" of an unanswerable question


def parse_article(path: Path, errors: list[str]) -> str | None:
    """Return the body of an article file (front matter removed), recording any problem in ``errors``."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{name}: cannot be read as UTF-8 ({exc})")
        return None
    match = FRONT_MATTER.match(text)
    if not match:
        errors.append(f"{name}: no front matter (the file must start with a '---' block)")
        return None
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            errors.append(f"{name}: front matter line is not 'key: value': {line!r}")
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        meta[key.strip()] = value
    for key in REQUIRED_META:
        if not meta.get(key):
            errors.append(f"{name}: front matter has no '{key}'")
    date = meta.get("date", "")
    if date:
        try:
            if not ISO_DATE.fullmatch(date):
                raise ValueError
            dt.date.fromisoformat(date)
        except ValueError:
            errors.append(f"{name}: date must be a real YYYY-MM-DD date, got {date!r}")
    source = meta.get("source", "")
    if source and not source.startswith(("http://", "https://")):
        errors.append(f"{name}: source should be a URL, got {source!r}")
    body = text[match.end() :].strip()
    if not body:
        errors.append(f"{name}: has no body")
        return None
    if AT in text:
        errors.append(f"{name}: contains an {AT!r} character")
    return body


def main(folder: Path) -> int:
    errors: list[str] = []
    warnings: list[str] = []

    articles: dict[str, str] = {}
    article_dir = folder / "articles"
    paths = sorted(article_dir.glob("*.md")) if article_dir.is_dir() else []
    if not paths:
        errors.append(f"no articles found in {article_dir}")
    for path in paths:
        slug = path.stem
        if not SLUG.fullmatch(slug):
            errors.append(f"{path.name}: the file name is not a plain slug ([A-Za-z0-9._-])")
        body = parse_article(path, errors)
        if body is not None:
            articles[slug] = body

    questions_path = folder / "questions.jsonl"
    seen_ids: set[str] = set()
    answerable = unanswerable = 0
    kinds: dict[str, int] = {}
    per_article: dict[str, int] = {slug: 0 for slug in articles}
    try:
        lines = questions_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{questions_path.name}: cannot be read ({exc})")
        lines = []
    for number, line in enumerate(lines, 1):
        where = f"{questions_path.name} line {number}"
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not valid JSON ({exc})")
            continue
        if not isinstance(q, dict) or set(q) - {"kind"} != QUESTION_KEYS:
            errors.append(f"{where}: must be an object with the keys {sorted(QUESTION_KEYS)} (and optionally 'kind')")
            continue
        qid, article_id, question, answers = q["id"], q["article_id"], q["question"], q["answers"]
        if not isinstance(qid, str) or not QUESTION_ID.fullmatch(qid):
            errors.append(f"{where}: id {qid!r} is not of the form prefix-NNN (e.g. news-001)")
        elif qid in seen_ids:
            errors.append(f"{where}: duplicate id {qid}")
        else:
            seen_ids.add(qid)
            where = f"{where} ({qid})"
        if not isinstance(question, str) or not question.strip():
            errors.append(f"{where}: empty question")
        if AT in str(question):
            errors.append(f"{where}: question contains an {AT!r} character")
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            errors.append(f"{where}: answers must be a list of non-empty strings")
            continue
        if "kind" in q and (article_id is not None or q["kind"] not in KINDS):
            errors.append(f"{where}: 'kind' is only for unanswerable questions, one of {KINDS}")
        if article_id is None:
            unanswerable += 1
            kinds[q.get("kind", "unlabelled")] = kinds.get(q.get("kind", "unlabelled"), 0) + 1
            if answers:
                errors.append(f"{where}: article_id is null but answers are given")
            continue
        answerable += 1
        if not answers:
            errors.append(f"{where}: answerable question (article_id {article_id!r}) with no answers")
        if article_id not in articles:
            errors.append(f"{where}: article {article_id!r} does not exist in articles/")
            continue
        per_article[article_id] += 1
        body = articles[article_id].lower()
        for answer in answers:
            count = body.count(answer.lower())
            if count == 0:
                errors.append(f"{where}: answer {answer!r} does not occur in {article_id}")
            elif count > 1:
                warnings.append(f"{where}: answer {answer!r} occurs {count} times in {article_id}")

    for slug, count in sorted(per_article.items()):
        if count == 0:
            warnings.append(f"article {slug} has no questions")

    total = answerable + unanswerable
    print(f"articles:     {len(articles)}")
    print(f"questions:    {total}")
    print(f"answerable:   {answerable}")
    share = f" ({unanswerable / total:.0%})" if total else ""
    print(
        f"unanswerable: {unanswerable}{share}"
        + (f": {', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}" if kinds else "")
    )
    for warning in warnings:
        print(f"warning: {warning}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(f"FAILED: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent))
