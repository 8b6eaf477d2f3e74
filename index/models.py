"""The engine's results: frozen dataclasses that the CLI prints and the bot renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article and its character span ``text[start:end]`` in the article text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    """An article as read from a file or a URL, before it is indexed.

    ``text`` is the body only (front matter and a leading ``date`` line removed); every offset the
    engine reports points into it. ``sha256`` covers the text and the metadata, so a changed title
    counts as an update.
    """

    id: str
    title: str
    date: str
    source: str
    text: str
    sha256: str


@dataclass(frozen=True)
class ArticleInfo:
    """One indexed article, as ``list`` shows it."""

    id: str
    title: str
    date: str
    source: str
    sentences: int


@dataclass(frozen=True)
class Citation:
    """A quoted sentence and where it comes from.

    ``text`` equals ``article_text[start:end]`` of the stored article; ``sentence`` is 1-based, as a
    reader counts. ``text`` is the whole sentence, unless the sentence is too long to quote whole:
    then it is a piece of it, and ``cut_start``/``cut_end`` say on which side it was cut (show "…").
    """

    text: str
    article_id: str
    title: str
    date: str
    source: str
    sentence: int
    start: int
    end: int
    score: float
    cut_start: bool = False
    cut_end: bool = False
    # The phrase that answers (the name for "who", the date for "when" ...) as (start, end) in
    # ``text``, for showing in bold; None when it could not be found (the quote is shown plain).
    highlight: tuple[int, int] | None = None

    @property
    def shown_text(self) -> str:
        """The quote as people are shown it: ``text``, with "…" where a sentence too long to quote was cut."""
        return ("…" if self.cut_start else "") + self.text + ("…" if self.cut_end else "")


def describe_filters(values: dict[str, str]) -> str:
    """Filters as strings by name, for people: ``since 2024-11-01, source dawn.com``."""
    return ", ".join(f"{k} {v}" for k, v in values.items())


@dataclass(frozen=True)
class Answer:
    """The engine's reply to one question: ranked citations, best first, or an abstention."""

    question: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    reason: str = ""
    filters: dict[str, str] = field(default_factory=dict)  # the filters that applied (answer.filters)
    read_as: str = ""  # how a follow-up was read against its conversation; "" when as asked
    # The next best quotes, not shown: each stands less well on its own than the shown ones (for "More").
    more: tuple[Citation, ...] = ()
    # On an abstention, the best sentence found when it clears a floor: shown marked as "may not answer".
    closest: Citation | None = None
    build_id: str = ""  # the index build that answered (feedback records it)

    @property
    def filters_text(self) -> str:
        """The filters that applied, for people: ``since 2024-11-01, source dawn.com``."""
        return describe_filters(self.filters)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """Sentences of one article in order, e.g. a quote with its neighbours, or an article's opening.

    ``sentences`` holds (number, text) pairs, numbered from 1 as a reader counts.
    """

    article: ArticleInfo
    sentences: tuple[tuple[int, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BuildReport:
    """What a build, an add or a remove changed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (file or id, one-line reason)
    articles: int = 0
    sentences: int = 0
    embedded_sentences: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # splitting and embedding what changed (no model export, no writing)
    build_id: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [{"item": item, "reason": reason} for item, reason in self.skipped]
        return data
