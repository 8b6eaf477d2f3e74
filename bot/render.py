"""Pure rendering: engine results -> Discord message texts within Discord's limits, pinging nobody."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Types only: importing the ``index`` package at run time would pull in the model stack.
    from index.models import Answer, ArticleInfo, BuildReport, Citation, Passage

MESSAGE_LIMIT = 2000  # characters of content per Discord message
THREAD_NAME_LIMIT = 100  # characters of a thread's name
CHOICE_LIMIT = 100  # characters of an autocomplete choice's name, and of its value
MAX_CHOICES = 25  # autocomplete choices Discord shows
ABSTAIN_TEXT = "The indexed articles don't say."
# Over the closest sentence of an abstention, when one clears the engine's floor.
CLOSEST_TEXT = "Closest I found — it may not answer your question:"
CONTINUED = "*(continued)*"
NOTE_CHARS = 300  # the italic line over an answer: the filters that applied, how a follow-up was read
TITLE_CHARS = 150  # a title is a label, not a quote: long ones are shortened so a citation stays one line
URL_CHARS = 500  # longer links are shown as the article id instead, so the citation stays readable
ZWSP = "\u200b"

# Every '@' that could start a ping: @everyone or @here followed by anything at all (a word boundary
# would let "@everyone2025" or "@heretics" through, and a client may read the prefix), and a user or
# role id, inside <@id>, <@!id>, <@&id> or bare, as discord.utils.escape_mentions also treats it (for
# ids of any length, and in any letter case: an extra zero-width space costs nothing). A zero-width
# space after the '@' keeps the text readable but no longer a mention, even if a client ignored
# allowed_mentions (defence in depth).
_MENTION = re.compile(r"@(?=everyone|here|[!&]?[0-9])", re.IGNORECASE)
_MARKDOWN = re.compile(r"([\\*_~|`\[\]])")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def neutralize_mentions(text: str) -> str:
    """``text`` with every ``@everyone``/``@here`` prefix and user or role mention made inert.

    Whatever :func:`discord.utils.escape_mentions` would neutralise is neutralised here too: any
    ``@everyone`` or ``@here`` (even followed by letters or digits), ``<@id>``, ``<@!id>``,
    ``<@&id>`` and the bare ``@id``, ``@!id``, ``@&id``. Applying it twice changes nothing more.

    Args:
        text: Any text that will be shown in Discord.

    Returns:
        The same text with a zero-width space after each such '@'; nothing else changes.
    """
    return _MENTION.sub("@" + ZWSP, text)


def escape(text: str) -> str:
    """Show ``text`` literally in Discord: one line, markdown escaped, mentions inert.

    Whitespace runs (line breaks included) become single spaces: a quoted sentence that spans
    lines in the source file must not turn into a Discord heading or block quote.
    """
    return neutralize_mentions(_MARKDOWN.sub(r"\\\1", " ".join(text.split())))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with '…'."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" \\") + "…"


def usage_text(prefix: str, max_chars: int) -> str:
    """The one-line usage reply for an empty, mention-only or too long question."""
    forms = "`/ask question: who led the protest?`, `@citebot who led the protest?`"
    if prefix:
        forms += f" or `{prefix}ask who led the protest?`"
    # The prefix is configured text like any other: inert here too, not only when it is sent.
    return neutralize_mentions(
        f"Ask me about the indexed news articles, e.g. {forms} (at most {max_chars:,} characters)."
    )


def slow_down_text(retry_after: float) -> str:
    """The friendly reply to a user who asks faster than the cooldown allows."""
    seconds = max(1, math.ceil(retry_after))
    return f"Slow down a little: you can ask again in {seconds} second{'s' if seconds != 1 else ''}."


def thread_name(question: str) -> str:
    """The name of the thread an answer starts: the question on one line, at most 100 characters.

    Mentions are made inert as in any text the bot shows (a thread name pings nobody, but it is
    copied into notifications and quotes); an empty question still gives a valid name.
    """
    name = shorten(neutralize_mentions(" ".join(question.split())), THREAD_NAME_LIMIT)
    return name or "Question"


# --- answers ------------------------------------------------------------------------------------


def render_answer(answer: Answer, *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Turn an answer into message texts: numbered quotes with their citations, or the abstention.

    Quotes are packed into as few messages as fit; a quote that fits in one message is never split
    across two. A single quote longer than a whole message (rare) is split at word boundaries into
    several messages marked as continued, dropping no text.

    Args:
        answer: The engine's answer.
        limit: Characters per message (Discord's content limit by default).

    Returns:
        One or more texts, each at most ``limit`` characters.
    """
    if limit < 200:
        raise ValueError(f"limit must be at least 200 characters, got {limit}")
    note = answer_note(answer)
    if note:
        # The note leads the first message; every part is cut to leave room for it.
        parts = _render_quotes(answer, limit - len(note) - 1)
        return [f"{note}\n{parts[0]}", *parts[1:]]
    return _render_quotes(answer, limit)


def answer_note(answer: Answer) -> str:
    """One italic line saying what narrowed the answer, or '' when nothing did.

    "*Within: since 2025-01-01, source dawn.com. Read as: when did Maria Lindqvist speak*": the
    filters that applied, and how a follow-up was read against its thread (the inherited topic, the
    name a pronoun stood for, or which sentence "next" was). At most 300 characters.
    """
    bits = []
    if answer.filters:
        bits.append(f"Within: {answer.filters_text}.")
    if answer.read_as:
        bits.append(f"Read as: {' '.join(answer.read_as.split())}")
    if not bits:
        return ""
    # Escaped, then shortened: shorten never leaves a lone backslash at a cut, before the closing '*'.
    text = shorten(escape(" ".join(bits)), NOTE_CHARS - 2)
    return f"*{text}*"


def _render_quotes(answer: Answer, limit: int) -> list[str]:
    if answer.abstained or not answer.citations:
        if answer.closest is None:
            return [ABSTAIN_TEXT]
        return render_quotes([answer.closest], limit=limit, lead=CLOSEST_TEXT)
    return render_quotes(answer.citations, limit=limit)


def render_quotes(
    citations: Sequence[Citation], *, first: int = 1, limit: int = MESSAGE_LIMIT, lead: str = ""
) -> list[str]:
    """Numbered quotes (from ``first``) with their citations, packed into as few messages as fit.

    With ``lead`` (the closest sentence of an abstention), that line stands before the one quote,
    which is then not numbered.
    """
    parts: list[str] = []
    current = ""
    for number, citation in enumerate(citations, start=first):
        block = f"{lead}\n{_quote_block(0, citation)}" if lead else _quote_block(number, citation)
        if len(block) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.extend(_split_block(0 if lead else number, citation, limit, lead))
            continue
        joined = f"{current}\n\n{block}" if current else block
        if len(joined) <= limit:
            current = joined
        else:
            parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def _quote_block(number: int, citation: Citation) -> str:
    return f"{_lead(number)}“{quote_text(citation)}”\n{citation_line(citation)}"


def _lead(number: int) -> str:
    return f"**[{number}]** " if number else ""


def quote_text(citation: Citation) -> str:
    """The quote as shown: escaped (see :func:`escape`), "…" where it was cut, and the phrase that
    answers (``citation.highlight``) in bold when there is one; the words themselves never change."""
    text = citation.text
    start, end = citation.highlight or (0, 0)
    if not 0 <= start < end <= len(text):
        return escape(citation.shown_text)
    # Bold must hug the words: Discord shows "** name**" literally.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return escape(citation.shown_text)
    pieces = (_escape_inline(text[:start]), _escape_inline(text[start:end]), _escape_inline(text[end:]))
    shown = f"{pieces[0]}**{pieces[1]}**{pieces[2]}".strip()
    return ("…" if citation.cut_start else "") + shown + ("…" if citation.cut_end else "")


def _escape_inline(piece: str) -> str:
    """:func:`escape` for a piece of a line: whitespace runs become one space, but kept at the ends."""
    return neutralize_mentions(_MARKDOWN.sub(r"\\\1", re.sub(r"\s+", " ", piece)))


def citation_line(citation: Citation) -> str:
    """Where a quote comes from: title, date, sentence number and the source link (no preview).

    The link is wrapped in ``<...>`` so Discord shows no preview; a source that is not an http(s)
    URL (an uploaded or local file) is replaced by the article id, which ``/remove`` takes.
    """
    bits = [f"*{escape(shorten(' '.join(citation.title.split()), TITLE_CHARS)) or citation.article_id}*"]
    if citation.date:
        bits.append(escape(citation.date))  # a date from the engine is YYYY-MM-DD; escaped all the same
    bits.append(f"sentence {citation.sentence}")
    line = "— " + ", ".join(bits)
    link = source_link(citation.source)
    return f"{line} {link}" if link else f"{line} (article `{citation.article_id}`)"


def source_link(source: str) -> str:
    """``<url>`` for an http(s) source (no preview), or '' when the source is not a usable link.

    A link that holds a mention (``https://example.org/@everyone``) is not usable: made inert, as
    every message is, it would be a different, broken link, so the article id is shown instead.
    """
    source = source.strip()
    if len(source) <= URL_CHARS and _URL.fullmatch(source) and neutralize_mentions(source) == source:
        return f"<{source}>"
    return ""


def _split_block(number: int, citation: Citation, limit: int, lead: str = "") -> list[str]:
    """A quote too long for one message, in several messages at word boundaries, the citation last.

    Shown plain: a bold phrase could be cut across two messages.
    """
    words = escape(citation.shown_text).split(" ")
    head = f"{lead}\n“" if lead else f"{_lead(number)}“"
    tail = f"”\n{citation_line(citation)}"
    more = f" … {CONTINUED}"
    resumed = f"{CONTINUED} … "
    if len(tail) > limit // 2:  # cannot happen with the title and link caps; keeps the loop finite
        tail = f"”\n— article `{citation.article_id}`, sentence {citation.sentence}"
    pieces: list[str] = []
    prefix = head
    line: list[str] = []
    for word in words:
        while True:
            candidate = " ".join([*line, word])
            if len(prefix) + len(candidate) + len(more) <= limit:
                line.append(word)
                break
            if line:
                pieces.append(prefix + " ".join(line) + more)
                prefix, line = resumed, []
                continue
            # One "word" longer than a message: cut it by characters, never after a lone backslash.
            room = limit - len(prefix) - len(more)
            cut = room - 1 if word[room - 1] == "\\" else room
            pieces.append(prefix + word[:cut] + more)
            prefix, word = resumed, word[cut:]
    last = prefix + " ".join(line)
    if len(last) + len(tail) <= limit:
        pieces.append(last + tail)
    else:
        pieces.append(last + more)
        pieces.append(f"{CONTINUED} …{tail}")
    return pieces


# --- index reports ------------------------------------------------------------------------------


def render_report(report: BuildReport, *, title: str = "Re-index", limit: int = MESSAGE_LIMIT) -> str:
    """Summarize what a re-index, an add or a remove changed, within one message.

    Args:
        report: The engine's build report.
        title: What was done, e.g. "Re-index" or "Add tram.md".
        limit: Characters of the message.

    Returns:
        Counts first, then the ids that changed and the files that were skipped, as many as fit.
    """
    title = escape(title)
    counts = (
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged, {len(report.removed)} removed"
    )
    if not report.changed and not report.articles:
        summary = f"**{title}**: nothing was indexed ({counts})."
    elif not report.changed:
        summary = (
            f"**{title}**: nothing changed; the index holds {report.articles} articles "
            f"({report.sentences} sentences), all up to date."
        )
    else:
        summary = (
            f"**{title}** in {report.seconds:.1f} s: {counts}. "
            f"The index holds {report.articles} articles ({report.sentences} sentences)."
        )
    details: list[str] = []
    for label, ids in (("Added", report.added), ("Updated", report.updated), ("Removed", report.removed)):
        if ids:
            details.append(f"{label}: " + ", ".join(f"`{i}`" for i in ids))
    details.extend(f"Skipped {escape(item)}: {escape(reason)}" for item, reason in report.skipped)
    return _fit_lines(summary, details, limit)


def _fit_lines(first: str, lines: Sequence[str], limit: int) -> str:
    """``first`` and as many of ``lines`` as fit, then how many were left out."""
    text = shorten(first, limit)
    for shown, line in enumerate(lines):
        line = shorten(line, limit // 2)
        left = len(lines) - shown - 1
        note = f"\n… and {left} more" if left else ""
        if len(text) + 1 + len(line) + len(note) > limit:
            rest = f"\n… and {len(lines) - shown} more"
            return text + rest if len(text) + len(rest) <= limit else text
        text += "\n" + line
    return text


# --- the article list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticlePage:
    """One page of the indexed articles, as ``/articles`` shows it."""

    articles: tuple[ArticleInfo, ...]
    number: int  # 1-based
    pages: int
    total: int
    first: int  # 1-based position of the first article on this page


def page_of(articles: Sequence[ArticleInfo], number: int, size: int) -> ArticlePage:
    """Cut ``articles`` into pages of ``size`` and return page ``number`` (clamped to what exists)."""
    pages = max(1, math.ceil(len(articles) / size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return ArticlePage(tuple(articles[start : start + size]), number, pages, len(articles), start + 1)


def render_articles(page: ArticlePage, *, prefix: str = "!", limit: int = MESSAGE_LIMIT) -> str:
    """The text of one page of the article list: position, id, title, date and size of each article.

    Ids are shown whole (``/remove`` takes them); titles are shortened, or left out, so the page
    fits in one message. Only very long ids on a large page can still overflow: the lines that do
    not fit are then counted instead of shown.
    """
    if not page.total:
        return "No articles are indexed yet; an admin can add some with `/add` or `/reindex`."
    header = f"**Indexed articles** ({page.total}), page {page.number} of {page.pages}:"
    footer = ""
    if page.number < page.pages:
        nxt = page.number + 1
        footer = f"Next page: `/articles page:{nxt}`" + (f" or `{prefix}articles {nxt}`" if prefix else "")
    reserve = len(header) + len(footer) + 40  # newlines and a possible "… and N more" line
    bare = [_article_line(page.first + i, a, "") for i, a in enumerate(page.articles)]
    room = limit - reserve - sum(len(line) + 1 for line in bare)
    per_title = room // max(1, len(page.articles)) - 1
    lines = [
        _article_line(page.first + i, a, shorten(escape(a.title), per_title) if per_title >= 12 else "")
        for i, a in enumerate(page.articles)
    ]
    return _fit_lines(header, [*lines, *([footer] if footer else [])], limit)


def _article_line(position: int, article: ArticleInfo, title: str) -> str:
    line = f"{position}. `{article.id}`" + (f" {title}" if title else "")
    line += f", {escape(article.date)}" if article.date else ""
    count = article.sentences
    return f"{line} ({count} sentence{'s' if count != 1 else ''})"


# --- one article --------------------------------------------------------------------------------


def render_source(passage: Passage, *, limit: int = MESSAGE_LIMIT) -> str:
    """What ``/source`` shows of an article: title, id, date, link, sentence count, its opening.

    The sentences are quoted as answers quote them (escaped, one line each, mentions inert) and
    shortened evenly so the whole fits in ``limit``; the link is shown without a preview, or the
    article id stands in for a source that is no web address.
    """
    article = passage.article
    title = escape(shorten(" ".join(article.title.split()), TITLE_CHARS)) or article.id
    count = article.sentences
    facts = [escape(article.date)] if article.date else []
    facts.append(f"{count} sentence{'s' if count != 1 else ''}")
    link = source_link(passage.article.source)
    if link:
        facts.append(link)
    head = f"**{title}** (`{article.id}`)\n" + ", ".join(facts)
    if not passage.sentences:
        return shorten(head, limit)
    leads = [f"{_lead(number)}“" for number, _ in passage.sentences]
    room = (limit - len(head) - len("\nOpening:") - sum(len(lead) + 2 for lead in leads)) // len(leads)
    quotes = [
        f"{lead}{shorten(escape(text), max(room, 1))}”"
        for lead, (_, text) in zip(leads, passage.sentences, strict=True)
    ]
    return shorten("\n".join([head, "Opening:", *quotes]), limit)


# --- autocomplete -------------------------------------------------------------------------------


def article_choices(articles: Sequence[ArticleInfo], typed: str) -> list[tuple[str, str]]:
    """The autocomplete choices for an article option: ``(name, id)`` pairs, at most 25.

    An article matches when every word typed is in its id or title (any case). Matches whose id or
    title starts with what was typed come first, then the newest. Names are "title (id)" on one
    line within 100 characters; an id longer than 100 characters cannot be a choice's value and is
    left out (``/articles`` still shows it).
    """
    wanted = typed.casefold().split()
    start = " ".join(wanted)
    matches: list[tuple[bool, ArticleInfo]] = []
    for article in articles:
        if not article.id or len(article.id) > CHOICE_LIMIT:
            continue
        title = " ".join(article.title.split()).casefold()
        if not all(word in f"{article.id.casefold()} {title}" for word in wanted):
            continue
        prefix = bool(start) and (article.id.casefold().startswith(start) or title.startswith(start))
        matches.append((prefix, article))
    # Stable sorts, last key first: prefix matches first, then the newest (ISO dates sort as text;
    # undated ones last), then by id.
    matches.sort(key=lambda m: m[1].id)
    matches.sort(key=lambda m: m[1].date, reverse=True)
    matches.sort(key=lambda m: not m[0])
    return [(_choice_name(a), a.id) for _, a in matches[:MAX_CHOICES]]


def _choice_name(article: ArticleInfo) -> str:
    title = neutralize_mentions(" ".join(article.title.split()))
    suffix = f" ({article.id})"
    room = CHOICE_LIMIT - len(suffix)
    if not title or room < 12:
        return article.id
    return shorten(title, room) + suffix
