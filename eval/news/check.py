#!/usr/bin/env python3
"""Validate the news evaluation set (articles/*.md and questions.jsonl). Standard library only.

Usage: python eval/news/check.py [folder]   (the folder defaults to the one this script is in)

Exits 1 and lists every problem found, or exits 0 and prints the counts. Gold answers that occur more
than once in their article are reported as warnings: the scorer counts any cited sentence that contains
a gold answer, so such an answer could credit a sentence that does not answer the question.

A question may carry an optional "style" list of tags (e.g. ["lowercase", "typo"]) saying what makes it
chat-like. If the folder has a conversations.jsonl, each line is {"id": "conv-001", "turns": [...]}, with
two or more turns; every turn has "question", "article_id" and "answers" (and optionally "kind" and
"style"), and is checked by the same rules as a question.
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
TURN_KEYS = {"question", "article_id", "answers"}  # one turn of a conversation
OPTIONAL_KEYS = {"kind", "style"}
CONVERSATION_KEYS = {"id", "turns"}
# optional "kind" of an unanswerable question: "follow-up" makes no sense without an earlier turn,
# "chatter" is not a question at all ("thanks!", "lol")
KINDS = ("near-miss", "off-topic", "follow-up", "chatter")
STYLE_TAG = re.compile(r"[a-z][a-z0-9-]*")


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


def check_item(
    q: dict,
    where: str,
    articles: dict[str, str],
    errors: list[str],
    warnings: list[str],
) -> tuple[str | None, str | None] | None:
    """Check the fields a question and a conversation turn share.

    Returns (article_id, kind) for counting, or None if the item is too broken to count.
    """
    article_id, question, answers = q["article_id"], q["question"], q["answers"]
    if not isinstance(question, str) or not question.strip():
        errors.append(f"{where}: empty question")
    if AT in str(question):
        errors.append(f"{where}: question contains an {AT!r} character")
    if "style" in q:
        style = q["style"]
        if (
            not isinstance(style, list)
            or not all(isinstance(t, str) and STYLE_TAG.fullmatch(t) for t in style)
            or len(set(style)) != len(style)
        ):
            errors.append(f"{where}: 'style' must be a list of distinct lower-case tags such as 'typo'")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        errors.append(f"{where}: answers must be a list of non-empty strings")
        return None
    if "kind" in q and (article_id is not None or q["kind"] not in KINDS):
        errors.append(f"{where}: 'kind' is only for unanswerable questions, one of {KINDS}")
    if article_id is None:
        if answers:
            errors.append(f"{where}: article_id is null but answers are given")
        return None, q.get("kind", "unlabelled")
    if not answers:
        errors.append(f"{where}: answerable question (article_id {article_id!r}) with no answers")
    if article_id not in articles:
        errors.append(f"{where}: article {article_id!r} does not exist in articles/")
        return None
    body = articles[article_id].lower()
    for answer in answers:
        count = body.count(answer.lower())
        if count == 0:
            errors.append(f"{where}: answer {answer!r} does not occur in {article_id}")
        elif count > 1:
            warnings.append(f"{where}: answer {answer!r} occurs {count} times in {article_id}")
    return article_id, None


def read_jsonl(path: Path, errors: list[str]) -> list[tuple[str, dict]]:
    """Return (where, object) for each non-blank line of ``path``; record unreadable lines in ``errors``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{path.name}: cannot be read ({exc})")
        return []
    out = []
    for number, line in enumerate(lines, 1):
        where = f"{path.name} line {number}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not valid JSON ({exc})")
            continue
        # the raw line and the decoded object, so that an escaped form of the character is caught too
        if AT in line or AT in json.dumps(obj, ensure_ascii=False):
            errors.append(f"{where}: contains an {AT!r} character")
        out.append((where, obj))
    return out


def check_id(qid: object, where: str, seen_ids: set[str], errors: list[str]) -> str:
    """Check an item's id is well formed and unique; return ``where`` with the id appended when usable."""
    if not isinstance(qid, str) or not QUESTION_ID.fullmatch(qid):
        errors.append(f"{where}: id {qid!r} is not of the form prefix-NNN (e.g. news-001)")
    elif qid in seen_ids:
        errors.append(f"{where}: duplicate id {qid}")
    else:
        seen_ids.add(qid)
        where = f"{where} ({qid})"
    return where


def format_kinds(kinds: dict[str, int]) -> str:
    return f": {', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}" if kinds else ""


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

    seen_ids: set[str] = set()
    answerable = unanswerable = 0
    kinds: dict[str, int] = {}
    styles: dict[str, int] = {}
    per_article: dict[str, int] = {slug: 0 for slug in articles}
    for where, q in read_jsonl(folder / "questions.jsonl", errors):
        if not isinstance(q, dict) or not QUESTION_KEYS <= set(q) <= QUESTION_KEYS | OPTIONAL_KEYS:
            errors.append(
                f"{where}: must be an object with the keys {sorted(QUESTION_KEYS)}"
                f" (and optionally {sorted(OPTIONAL_KEYS)})"
            )
            continue
        where = check_id(q["id"], where, seen_ids, errors)
        result = check_item(q, where, articles, errors, warnings)
        if isinstance(q.get("style"), list):
            for tag in q["style"]:
                if isinstance(tag, str):
                    styles[tag] = styles.get(tag, 0) + 1
        if result is None:
            continue
        article_id, kind = result
        if article_id is None:
            unanswerable += 1
            kinds[kind] = kinds.get(kind, 0) + 1
        else:
            answerable += 1
            per_article[article_id] += 1

    conversations_path = folder / "conversations.jsonl"
    conversations = turns_total = turns_answerable = 0
    turn_kinds: dict[str, int] = {}
    if conversations_path.exists():
        for where, conv in read_jsonl(conversations_path, errors):
            if not isinstance(conv, dict) or set(conv) != CONVERSATION_KEYS:
                errors.append(f"{where}: must be an object with the keys {sorted(CONVERSATION_KEYS)}")
                continue
            where = check_id(conv["id"], where, seen_ids, errors)
            turns = conv["turns"]
            if not isinstance(turns, list) or len(turns) < 2:
                errors.append(f"{where}: 'turns' must be a list of at least two turns")
                continue
            conversations += 1
            for number, turn in enumerate(turns, 1):
                turn_where = f"{where} turn {number}"
                if not isinstance(turn, dict) or not TURN_KEYS <= set(turn) <= TURN_KEYS | OPTIONAL_KEYS:
                    errors.append(
                        f"{turn_where}: must be an object with the keys {sorted(TURN_KEYS)}"
                        f" (and optionally {sorted(OPTIONAL_KEYS)})"
                    )
                    continue
                result = check_item(turn, turn_where, articles, errors, warnings)
                if result is None:
                    continue
                turns_total += 1
                if result[0] is None:
                    turn_kinds[result[1]] = turn_kinds.get(result[1], 0) + 1
                else:
                    turns_answerable += 1

    for slug, count in sorted(per_article.items()):
        if count == 0:
            warnings.append(f"article {slug} has no questions")

    total = answerable + unanswerable
    print(f"articles:     {len(articles)}")
    print(f"questions:    {total}")
    print(f"answerable:   {answerable}")
    share = f" ({unanswerable / total:.0%})" if total else ""
    print(f"unanswerable: {unanswerable}{share}" + format_kinds(kinds))
    if styles:
        print(
            f"styles:       {', '.join(f'{n} {k}' for k, n in sorted(styles.items(), key=lambda kv: (-kv[1], kv[0])))}"
        )
    if conversations_path.exists():
        print(
            f"conversations: {conversations} ({turns_total} turns: {turns_answerable} answerable, "
            f"{turns_total - turns_answerable} unanswerable{format_kinds(turn_kinds)})"
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
