"""Reading articles: decode, refuse what is not text, take metadata out of the body, hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ArticleError
from ..models import Article

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
_LONGEST_SUFFIX_FIRST = sorted(SUFFIXES, key=len, reverse=True)  # ".markdown" before ".md"

# The seed article starts "date 2024-11-27 Pakistani security forces ...": metadata on the text's line.
_DATE_LINE = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An id becomes a file name in the corpus and a word in Discord commands: keep it plain.
_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TITLE_CHARS = 90
# Front matter is metadata, not a document format: a few short plain values. The caps keep a hostile
# file from costing memory or flooding every place a title or source is shown.
FRONT_MATTER_BYTES = 16 * 1024
_VALUE_CHARS = {"title": 300, "source": 2000, "url": 2000}
# What yaml.safe_load makes of a plain scalar (datetime is a subclass of date); None is an empty value.
_SCALAR_TYPES = (str, int, float, bool, dt.date)
_TYPES_TEXT = ".txt, .md or .html"


@dataclass(frozen=True)
class CorpusFile:
    """An article file found in the corpus folder."""

    id: str
    path: Path
    name: str  # its path relative to the corpus folder, as a build's manifest records it


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
    stem = os.path.basename(name)
    for suffix in _LONGEST_SUFFIX_FIRST:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:128]
    return check_id(slug)


def scan_corpus(corpus_dir: Path) -> tuple[list[CorpusFile], list[tuple[str, str]]]:
    """Find the article files of a corpus folder (recursively, hidden entries skipped).

    A link is judged by what it resolves to, never by its own name: it is read only if its target
    is an article file inside the corpus. Links to folders are not followed (a folder inside the
    corpus is walked as itself; one outside is no part of the corpus).

    Returns:
        The files sorted by id, and (name, reason) for files that were passed over: a link that
        leads outside the corpus, into a hidden folder, to nothing or to a file that is not an
        article, or a second file with an id already taken.
    """
    root = corpus_dir.resolve()
    found: dict[str, CorpusFile] = {}
    skipped: list[tuple[str, str]] = []
    for name, path, problem, _ in sorted(walk_corpus(root), key=lambda item: item[0].split(os.sep)):
        if problem:
            skipped.append((name, problem))
            continue
        try:
            article_id = id_for_name(path.name)
        except ArticleError as exc:
            skipped.append((name, str(exc)))
            continue
        if article_id in found:
            skipped.append((name, f"has the same id '{article_id}' as {found[article_id].name}"))
            continue
        found[article_id] = CorpusFile(article_id, path, name)
    return sorted(found.values(), key=lambda f: f.id), skipped


def walk_corpus(root: Path) -> Iterator[tuple[str, Path, str | None, os.DirEntry[str] | None]]:
    """Every article file and link under the resolved corpus folder ``root``, unsorted: (name,
    path, problem, entry), ``name`` relative to ``root``; ``problem`` is None for a file to read
    and the reason for a refused link; ``entry`` is the listing's entry of a plain file (its stat
    at hand), None for a link."""
    return _walk(root, root, "")


def _walk(folder: Path, root: Path, prefix: str) -> Iterator[tuple[str, Path, str | None, os.DirEntry[str] | None]]:
    """:func:`walk_corpus` of ``folder``, whose path relative to ``root`` is ``prefix``.

    ``os.scandir`` gives each entry's type from the directory listing itself, so a corpus of
    thousands of files is listed without a stat per file (a cold ``ask`` lists it to say whether
    the index is stale).
    """
    with os.scandir(folder) as entries:
        listed = list(entries)
    for entry in listed:
        if entry.name.startswith("."):
            continue
        name = prefix + entry.name
        if entry.is_symlink():
            path = Path(entry.path)
            problem = _link_problem(path, root)
            if problem != "":
                yield name, path, problem, None
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), root, name + os.sep)
        elif entry.is_file(follow_symlinks=False) and os.path.splitext(entry.name)[1].lower() in SUFFIXES:
            yield name, Path(entry.path), None, entry


def _link_problem(link: Path, root: Path) -> str | None:
    """Why the link ``link`` is not read: None to read it, "" to pass it over silently, else a reason.

    The link is resolved fully (through any chain of links) first, so that both the place and the
    type are those of the file that would really be opened.
    """
    named_article = link.suffix.lower() in SUFFIXES
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return "is a broken link (its target does not exist)" if named_article else ""
    is_dir = target.is_dir()
    # Links that look like neither an article nor a folder are ignored, as such files are.
    relevant = named_article or is_dir or target.suffix.lower() in SUFFIXES
    if not target.is_relative_to(root):
        return "is a link that points outside the corpus" if relevant else ""
    inside = target.relative_to(root)
    if any(part.startswith(".") for part in inside.parts):
        return f"is a link into {inside}, which is hidden and not part of the corpus" if relevant else ""
    if is_dir:
        return ""  # not followed: that folder is walked as itself, and no link loop can form
    if not named_article:
        return ""  # its target is found under its own name
    if not target.is_file():
        return f"is a link to {inside}, which is not a regular file"
    if target.suffix.lower() not in SUFFIXES:
        return f"is a link to {inside}, which is not a {_TYPES_TEXT} file"
    return None


def read_article_file(path: Path, *, max_bytes: int, article_id: str | None = None) -> Article:
    """Read one article file.

    A link is read as what it resolves to: its target's type decides how it is parsed, and a
    target of another type is refused, whatever the link is called.

    Args:
        path: A .txt, .md or .html file (or a link to one).
        max_bytes: Larger files are refused before they are read.
        article_id: Defaults to the file's stem.

    Raises:
        ArticleError: The file cannot be read, is too large, binary, not UTF-8, empty, or of an
            unsupported type.
    """
    return read_article_with_bytes(path, max_bytes=max_bytes, article_id=article_id)[0]


def read_article_with_bytes(path: Path, *, max_bytes: int, article_id: str | None = None) -> tuple[Article, bytes]:
    """:func:`read_article_file`, and the bytes it was parsed from (read once: what is saved is what was checked)."""
    name = path.name
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a loop of links"
        raise ArticleError(f"{name} cannot be read ({reason})") from exc
    suffix = real.suffix.lower()
    if suffix not in SUFFIXES:
        link = f"it is a link to {real.name}; " if real.name != name else ""
        raise ArticleError(f"{name}: unsupported file type '{real.suffix}' ({link}use {_TYPES_TEXT})")
    data = _read_regular_file(real, name, max_bytes)
    article = parse_article(
        data,
        name=name,
        article_id=article_id or id_for_name(name),
        source=name,
        max_bytes=max_bytes,
        html=suffix in HTML_SUFFIXES,
    )
    return article, data


def _read_regular_file(real: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``real`` (already resolved), at most ``max_bytes`` of them.

    The last component is opened without following links and checked to be a regular file after it
    is open, so a link or a pipe swapped in after the scan is refused rather than read or waited on.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise ArticleError(f"{name} cannot be read ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as f:
        try:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ArticleError(f"{name} is not a regular file")
            if info.st_size > max_bytes:
                raise ArticleError(
                    f"{name} is {info.st_size:,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)"
                )
            # One byte more than allowed: a file that grew since fstat is still caught, not read whole.
            return f.read(max_bytes + 1)
        except OSError as exc:
            raise ArticleError(f"{name} cannot be read ({exc.strerror or exc})") from exc


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
        meta = _front_matter(match.group(1), name)
        text = text[match.end() :]
    date = _date_value(meta.get("date"), name)
    dated = _DATE_LINE.match(text)
    if dated:
        date = date or dated.group(1)
        text = text[dated.end() :]
    source = str(meta.get("source") or meta.get("url") or "").strip()
    title = " ".join(str(meta.get("title") or "").split())
    return title, date, source, text


def _front_matter(block: str, name: str) -> dict[str, Any]:
    """The metadata of a front matter block: one mapping of plain names to short single values.

    The block is checked as a stream of YAML events before any Python object is built: an alias can
    make a few hundred bytes stand for gigabytes (a "billion laughs"), and only construction expands
    it. Without aliases, what is built is no larger than the at most 16 KiB of text.

    Raises:
        ArticleError: The block is too large, not YAML, uses anchors or aliases, is not one mapping,
            or has a value that is a list or mapping, of another type, too long, or not one line.
    """
    size = len(block.encode("utf-8"))
    if size > FRONT_MATTER_BYTES:
        raise ArticleError(f"{name}: the front matter is {size:,} bytes; the limit is {FRONT_MATTER_BYTES:,}")
    try:
        _check_front_matter_events(block, name)
        loaded = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        raise ArticleError(f"{name}: the front matter is not valid YAML") from exc
    except (ValueError, OverflowError) as exc:
        # YAML-valid text Python cannot build: an impossible date (2024-13-45), or an integer longer
        # than int() accepts. Left alone it would end a whole build, not skip this one file.
        raise ArticleError(
            f"{name}: the front matter has a value that cannot be read ({_shown(str(exc), 80)})"
        ) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):  # the events were one mapping; kept as a guard for the types
        raise ArticleError(f"{name}: the front matter must be 'key: value' lines")
    for key, value in loaded.items():
        label = _shown(str(key))
        if value is not None and not isinstance(value, _SCALAR_TYPES):
            raise ArticleError(f"{name}: front matter '{label}' must be text, a number or a date")
        # "1:59:59:..." is one YAML (base 60) integer: one so large that str() refuses it would fail
        # wherever the value is shown. No metadata number needs more than 64 bits.
        if isinstance(value, int) and value.bit_length() > 64:
            raise ArticleError(f"{name}: front matter '{label}' is a number too large to be metadata")
        limit = _VALUE_CHARS.get(str(key))
        if limit is None or not isinstance(value, str):
            continue
        value = value.strip()
        # splitlines knows every line break YAML's escapes can produce (\r, \x85, \u2028, ...).
        if len(value.splitlines()) > 1:
            raise ArticleError(f"{name}: front matter '{label}' must be one line")
        if len(value) > limit:
            raise ArticleError(
                f"{name}: front matter '{label}' is {len(value):,} characters long; the limit is {limit:,}"
            )
    return loaded


def _check_front_matter_events(block: str, name: str) -> None:
    """Refuse anchors, aliases and nested collections, reading only YAML events (no objects).

    Raises:
        ArticleError: As for :func:`_front_matter`.
        yaml.YAMLError: The block is not YAML.
    """
    documents = 0
    in_mapping = False
    at_key = True  # inside the mapping, events alternate: key, value, key, value ...
    key = ""
    for event in yaml.parse(block, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ArticleError(f"{name}: the front matter uses YAML anchors or aliases (& or *), which are not allowed")
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ArticleError(f"{name}: the front matter must be one set of 'key: value' lines")
        elif isinstance(event, yaml.CollectionStartEvent):
            if not in_mapping and isinstance(event, yaml.MappingStartEvent):
                in_mapping = True
            elif not in_mapping:
                raise ArticleError(f"{name}: the front matter must be 'key: value' lines")
            elif at_key:
                raise ArticleError(f"{name}: front matter keys must be plain names, not lists or mappings")
            else:
                raise ArticleError(
                    f"{name}: front matter '{_shown(key)}' must be a single value, not a list or mapping"
                )
        elif isinstance(event, yaml.ScalarEvent):
            if not in_mapping:
                raise ArticleError(f"{name}: the front matter must be 'key: value' lines")
            if at_key:
                key = event.value
            at_key = not at_key
        elif isinstance(event, yaml.MappingEndEvent):
            in_mapping = False


def _shown(text: str, limit: int = 40) -> str:
    """``text`` on one line and short, to quote in a one-line message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _date_value(value: Any, name: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not _ISO_DATE.fullmatch(text):
        raise ArticleError(f"{name}: date must be YYYY-MM-DD, got '{_shown(text)}'")
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
    lines = [line.strip() for line in (meta.get("text") or "").splitlines() if line.strip()]
    date = str(meta.get("date") or "")[:10]
    date = date if _ISO_DATE.fullmatch(date) else ""
    title = " ".join((meta.get("title") or "").split())
    # The page's headline is the title; repeated as the body's first block it is no sentence of the
    # story (and would be quoted for every question the headline matches).
    if lines and title and _same_heading(lines[0], title):
        lines = lines[1:]
    return title, date, str(meta.get("url") or ""), "\n\n".join(lines)


def _same_heading(line: str, title: str) -> bool:
    def key(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.casefold()))

    return key(line) == key(title)


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
