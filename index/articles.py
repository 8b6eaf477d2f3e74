"""Reading articles: decode, refuse what is not text, take metadata out of the body, hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ArticleError
from .models import Article

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES

# The seed article starts "date 2024-11-27 Pakistani security forces ...": metadata on the text's line.
_DATE_LINE = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An id becomes a file name in the corpus and a word in Discord commands: keep it plain.
_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TITLE_CHARS = 90


@dataclass(frozen=True)
class CorpusFile:
    """An article file found in the corpus folder."""

    id: str
    path: Path


def check_id(article_id: str) -> str:
    """Return ``article_id`` if it is a plain name, else raise.

    Raises:
        ArticleError: The id is empty, has a path separator, starts with a dot, or is too long, so it
            could name a file outside the corpus.
    """
    if not _ID_OK.fullmatch(article_id or ""):
        raise ArticleError(
            f"'{article_id}' is not a valid article id: use letters, digits, '.', '_' or '-' "
            "(at most 128, not starting with a dot); it must not point outside the corpus"
        )
    return article_id


def id_for_name(name: str) -> str:
    """The article id for a file name: its stem, with characters outside ``[A-Za-z0-9._-]`` as ``-``."""
    stem = Path(name).name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:128]
    return check_id(slug)


def scan_corpus(corpus_dir: Path) -> tuple[list[CorpusFile], list[tuple[str, str]]]:
    """Find the article files of a corpus folder (recursively, hidden entries skipped).

    Returns:
        The files sorted by id, and (name, reason) for files that were passed over: a link that
        leads outside the corpus, or a second file with an id already taken.
    """
    root = corpus_dir.resolve()
    found: dict[str, CorpusFile] = {}
    skipped: list[tuple[str, str]] = []
    for path in sorted(_walk(root)):
        name = str(path.relative_to(root))
        if not path.resolve().is_relative_to(root):
            skipped.append((name, "is a link that points outside the corpus"))
            continue
        try:
            article_id = id_for_name(path.name)
        except ArticleError as exc:
            skipped.append((name, str(exc)))
            continue
        if article_id in found:
            other = found[article_id].path.relative_to(root)
            skipped.append((name, f"has the same id '{article_id}' as {other}"))
            continue
        found[article_id] = CorpusFile(article_id, path)
    return sorted(found.values(), key=lambda f: f.id), skipped


def _walk(folder: Path) -> Iterator[Path]:
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry)
        elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
            yield entry


def read_article_file(path: Path, *, max_bytes: int, article_id: str | None = None) -> Article:
    """Read one article file.

    Args:
        path: A .txt, .md or .html file.
        max_bytes: Larger files are refused before they are read.
        article_id: Defaults to the file's stem.

    Raises:
        ArticleError: The file cannot be read, is too large, binary, not UTF-8, empty, or of an
            unsupported type.
    """
    name = path.name
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{name} is {size:,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{name} cannot be read ({exc.strerror or exc})") from exc
    return parse_article(
        data,
        name=name,
        article_id=article_id or id_for_name(name),
        source=name,
        max_bytes=max_bytes,
    )


def parse_article(
    data: bytes,
    *,
    name: str,
    article_id: str,
    source: str,
    max_bytes: int,
    html: bool | None = None,
) -> Article:
    """Turn the bytes of an article into an :class:`Article`.

    Args:
        data: The raw file or download.
        name: The file name, for messages and to tell HTML from text.
        article_id: The id to give the article.
        source: Where it came from, unless its own metadata says (front matter ``source``/``url``).
        max_bytes: The size limit.
        html: Force HTML (True) or text (False); by default decided by the name's suffix.

    Raises:
        ArticleError: As for :func:`read_article_file`.
    """
    check_id(article_id)
    suffix = Path(name).suffix.lower()
    if html is None:
        if suffix and suffix not in SUFFIXES:
            raise ArticleError(f"{name}: unsupported file type '{suffix}' (use .txt, .md or .html)")
        html = suffix in HTML_SUFFIXES
    if len(data) > max_bytes:
        raise ArticleError(f"{name} is {len(data):,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)")
    text = _decode(data, name)
    if html:
        title, date, meta_source, body = _from_html(text, name)
    else:
        title, date, meta_source, body = _from_text(text, name)
    body = body.strip()
    if not body:
        raise ArticleError(f"{name} has no article text (it is empty or only metadata)")
    title = title or _title_from(body)
    source = meta_source or source
    digest = hashlib.sha256(json.dumps([title, date, source, body], ensure_ascii=False).encode()).hexdigest()
    return Article(id=article_id, title=title, date=date, source=source, text=body, sha256=digest)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{name} looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{name} is not valid UTF-8 text (bad byte at position {exc.start})") from exc
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f")
    if sample and controls / len(sample) > 0.01:
        raise ArticleError(f"{name} looks like a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _from_text(text: str, name: str) -> tuple[str, str, str, str]:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise ArticleError(f"{name}: the front matter is not valid YAML") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ArticleError(f"{name}: the front matter must be 'key: value' lines")
        meta = loaded or {}
        text = text[match.end() :]
    date = _date_value(meta.get("date"), name)
    dated = _DATE_LINE.match(text)
    if dated:
        date = date or dated.group(1)
        text = text[dated.end() :]
    source = str(meta.get("source") or meta.get("url") or "").strip()
    title = " ".join(str(meta.get("title") or "").split())
    return title, date, source, text


def _date_value(value: Any, name: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not _ISO_DATE.fullmatch(text):
        raise ArticleError(f"{name}: date must be YYYY-MM-DD, got '{text}'")
    return text


def _from_html(text: str, name: str) -> tuple[str, str, str, str]:
    # trafilatura is only needed for HTML; importing it costs start-up time for everyone else.
    import trafilatura

    document = trafilatura.bare_extraction(
        text, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    if document is None:
        raise ArticleError(f"{name}: no article text could be found in the HTML")
    meta = document if isinstance(document, dict) else document.as_dict()
    # trafilatura puts each block (heading, paragraph) on one line: make them paragraphs, so a
    # headline never runs into the first sentence.
    body = "\n\n".join(line.strip() for line in (meta.get("text") or "").splitlines() if line.strip())
    date = str(meta.get("date") or "")[:10]
    date = date if _ISO_DATE.fullmatch(date) else ""
    title = " ".join((meta.get("title") or "").split())
    return title, date, str(meta.get("url") or ""), body


def _title_from(body: str) -> str:
    first = " ".join(body.split("\n", 1)[0].split())
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[:_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def article_to_markdown(article: Article) -> str:
    """The corpus file for an article that came from a URL or an HTML upload: front matter + body."""
    meta = {"title": article.title, "date": article.date or None, "source": article.source or None}
    head = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False)
    return f"---\n{head}---\n{article.text}\n"
