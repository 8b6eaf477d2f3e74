"""Filters on which articles a question is answered from: a date range, a source, one article.

Filtering happens before ranking (:func:`scope_of` gives the chunks retrieval may return), so the
best quote within the filter is found, not the best overall that happens to pass.

    since:2024-11-01 until:2w source:dawn.com article:khan-arrest who led the protest?

Dates are ``YYYY-MM-DD`` or a span back from today: ``7d`` (days), ``2w`` (weeks). ``source``
matches an article's ``source`` field, or the host of a source that is a link (``dawn.com`` also
matches ``www.dawn.com``), case-insensitively.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from ..errors import QuestionError
from ..models import describe_filters
from ..store.snapshot import Snapshot

KEYS = ("since", "until", "source", "article")
_SPAN = re.compile(r"(\d{1,4})([dw])")
_INLINE = re.compile(r"(?<!\S)(since|until|source|article):(\S+)", re.IGNORECASE)


class Described(Protocol):
    """What a filter reads of an article (a stored article, or the ArticleInfo that ``list`` shows)."""

    @property
    def id(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class Filters:
    since: dt.date | None = None
    until: dt.date | None = None
    source: str | None = None  # lower case
    article: str | None = None

    def is_empty(self) -> bool:
        return self == Filters()

    def to_dict(self) -> dict[str, str]:
        """The filters that are set, as strings: ``{"since": "2024-11-01", "source": "dawn.com"}``."""
        return {k: str(v) for k in KEYS if (v := getattr(self, k)) is not None}

    def describe(self) -> str:
        """``since 2024-11-01, source dawn.com``."""
        return describe_filters(self.to_dict())

    def overridden_by(self, other: Filters) -> Filters:
        """These filters with each one ``other`` sets taking its place (options over inline ones).

        Raises:
            QuestionError: The merged ``since`` is after the merged ``until``.
        """
        merged = Filters(**{k: getattr(other, k) if getattr(other, k) is not None else getattr(self, k) for k in KEYS})
        return _checked(merged)

    def allows(self, article: Described) -> bool:
        if self.article is not None and article.id != self.article:
            return False
        if self.source is not None and not _source_matches(self.source, article.source):
            return False
        if self.since is not None or self.until is not None:
            day = _date_or_none(article.date)
            if day is None:
                return False  # an undated article is in no date range
            if (self.since is not None and day < self.since) or (self.until is not None and day > self.until):
                return False
        return True


def parse_when(text: str, today: dt.date | None = None) -> dt.date:
    """``YYYY-MM-DD``, or ``Nd`` / ``Nw``: that many days or weeks before today.

    Raises:
        QuestionError: Anything else, in one line.
    """
    value = text.strip().lower()
    span = _SPAN.fullmatch(value)
    if span:
        n, unit = int(span.group(1)), span.group(2)
        return (today or dt.date.today()) - dt.timedelta(days=n * (7 if unit == "w" else 1))
    try:
        return dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else _bad(text)
    except ValueError:
        return _bad(text)


def _bad(text: str) -> dt.date:
    raise QuestionError(f"{text!r} is not a date: use YYYY-MM-DD, or 7d / 2w for days or weeks back")


def make_filters(
    *,
    since: str | None = None,
    until: str | None = None,
    source: str | None = None,
    article: str | None = None,
    today: dt.date | None = None,
) -> Filters:
    """Filters from option values (None or blank: not set).

    Raises:
        QuestionError: A date that does not parse, or ``since`` after ``until``.
    """
    return _checked(
        Filters(
            since=parse_when(since, today) if since and since.strip() else None,
            until=parse_when(until, today) if until and until.strip() else None,
            source=source.strip().lower() if source and source.strip() else None,
            article=article.strip() if article and article.strip() else None,
        )
    )


def _checked(filters: Filters) -> Filters:
    if filters.since is not None and filters.until is not None and filters.since > filters.until:
        raise QuestionError(f"since {filters.since} is after until {filters.until}: no article can match")
    return filters


def split_inline(text: str, today: dt.date | None = None) -> tuple[Filters, str]:
    """The filters written into a message (``since:2024-11-01 source:dawn.com who led?``) and the
    question without them. A key given twice: the last one counts.

    Raises:
        QuestionError: A filter value that does not parse.
    """
    found: dict[str, str] = {}
    for match in _INLINE.finditer(text):
        found[match.group(1).lower()] = match.group(2)
    rest = " ".join(_INLINE.sub(" ", text).split())
    return make_filters(**found, today=today), rest


def scope_of(s: Snapshot, filters: Filters | None) -> np.ndarray | None:
    """The chunk ids of the articles the filters allow, ascending (None: no filter, every chunk).

    Raises:
        QuestionError: No indexed article passes ("no indexed article matches since 2025-01-01").
    """
    if filters is None or filters.is_empty():
        return None
    return chunks_of(s, allowed_articles(filters, s.articles))


def allowed_articles(filters: Filters, articles: Sequence[Described]) -> np.ndarray:
    """Which of ``articles`` the filters allow, as a boolean array.

    Raises:
        QuestionError: None of them passes ("no indexed article matches since 2025-01-01").
    """
    allowed = np.array([filters.allows(a) for a in articles], dtype=bool)
    if not allowed.any():
        raise QuestionError(f"no indexed article matches {filters.describe()}")
    return allowed


def chunks_of(s: Snapshot, allowed: np.ndarray) -> np.ndarray:
    """The chunk ids, ascending, of the articles whose entry in the boolean ``allowed`` is set."""
    return np.flatnonzero(allowed[s.chunks[:, 0]]).astype(np.int64)


def _source_matches(wanted: str, source: str) -> bool:
    source = source.strip().lower()
    if not source:
        return False
    if source == wanted:
        return True
    host = (urlsplit(source).hostname or "") if "://" in source else source.split("/")[0]
    return host == wanted or host.endswith("." + wanted)


def _date_or_none(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
