"""Pure rendering: Discord's limits, quotes never cut in half, links without previews, no pings."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import (
    ABSTAIN_TEXT,
    CONTINUED,
    MESSAGE_LIMIT,
    escape,
    neutralize_mentions,
    page_of,
    render_answer,
    render_articles,
    render_report,
    slow_down_text,
    usage_text,
)
from index.models import Answer, ArticleInfo, BuildReport, Citation


def cite(text: str, *, source: str = "https://example.org/news/a", title: str = "A title", n: int = 4) -> Citation:
    return Citation(
        text=text,
        article_id="port-kellan",
        title=title,
        date="2025-06-12",
        source=source,
        sentence=n,
        start=0,
        end=len(text),
        score=0.8,
    )


def answer(*citations: Citation) -> Answer:
    return Answer(question="q?", abstained=False, citations=citations)


def quote_pieces(parts: list[str]) -> str:
    """The quoted text of a split quote, markers, numbering and citation removed."""
    text = " ".join(parts)  # the splits happened at spaces
    text = text.replace(f" … {CONTINUED}", "").replace(f"{CONTINUED} … ", "").replace(f"{CONTINUED} …", "")
    text = re.sub(r"^\*\*\[\d+\]\*\* “", "", text)
    return text.split("”\n— ", 1)[0]


def test_abstention_is_one_plain_line() -> None:
    assert render_answer(Answer(question="q?", abstained=True, reason="no sentence is relevant enough")) == [
        ABSTAIN_TEXT
    ]
    assert ABSTAIN_TEXT == "The indexed articles don't say."


def test_a_quote_with_its_citation() -> None:
    (text,) = render_answer(answer(cite("The port closed at noon.", title="Port *closes*", n=2)))
    assert text == (
        "**[1]** “The port closed at noon.”\n— *Port \\*closes\\**, 2025-06-12, sentence 2 <https://example.org/news/a>"
    )


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("https://example.org/a?b=1", "<https://example.org/a?b=1>"),
        ("http://example.org/a", "<http://example.org/a>"),
        ("harbour-walkout.md", "(article `port-kellan`)"),
        ("javascript:alert(1)", "(article `port-kellan`)"),
        ("ftp://example.org/a", "(article `port-kellan`)"),
        ("https://example.org/" + "x" * 600, "(article `port-kellan`)"),
        ("", "(article `port-kellan`)"),
    ],
)
def test_only_http_sources_become_links_without_preview(source: str, shown: str) -> None:
    (text,) = render_answer(answer(cite("A sentence.", source=source)))
    assert text.endswith(" " + shown)


def test_mentions_and_markdown_are_inert() -> None:
    raw = "Call @everyone and @here, <@123456789012345678>, <@!123456789012345678> and <@&123456789012345678>."
    text = neutralize_mentions(raw)
    assert "@everyone" not in text and "@here" not in text
    assert not re.search(r"<@[!&]?\d+>", text)
    assert text.replace("\u200b", "") == raw  # readable: only zero-width spaces were added
    assert escape("a_b *c*\n> d `e` [f](g)") == "a\\_b \\*c\\* > d \\`e\\` \\[f\\](g)"


def test_short_quotes_share_a_message_and_are_never_split() -> None:
    quotes = [f"Sentence {i} " + "word " * 170 for i in range(6)]  # ~860 characters each
    parts = render_answer(answer(*(cite(q.strip(), n=i) for i, q in enumerate(quotes))))
    assert len(parts) == 3
    for part in parts:
        assert len(part) <= MESSAGE_LIMIT
    for q in quotes:
        assert sum(escape(q) in part for part in parts) == 1  # whole, in exactly one message
    assert [p.count("**[") for p in parts] == [2, 2, 2]


def test_a_quote_longer_than_a_message_is_split_at_words_without_loss() -> None:
    words = [f"w{i}" for i in range(1500)]  # ~7,300 characters
    quote = " ".join(words)
    parts = render_answer(answer(cite("Short one.", n=1), cite(quote, n=2), cite("Another short one.", n=3)))
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert parts[0].startswith("**[1]** “Short one.”")
    long_parts = parts[1:-1]
    assert len(long_parts) >= 4
    assert long_parts[0].startswith("**[2]** “w0 w1 ") and long_parts[0].endswith(f" … {CONTINUED}")
    assert all(p.startswith(f"{CONTINUED} … ") for p in long_parts[1:])
    assert "sentence 2" in long_parts[-1] and all("sentence 2" not in p for p in long_parts[:-1])
    assert quote_pieces(long_parts).split(" ") == words  # every word, in order, none cut
    assert parts[-1].startswith("**[3]** “Another short one.”")


def test_one_enormous_word_is_cut_by_characters_without_loss() -> None:
    word = "x" * 4500
    parts = render_answer(answer(cite(word)))
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert quote_pieces(parts).replace(" ", "") == word


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=4000), min_size=1, max_size=3))
def test_any_quotes_fit_and_keep_their_text(texts: list[str]) -> None:
    parts = render_answer(answer(*(cite(t, n=i) for i, t in enumerate(texts, start=1))))
    assert all(0 < len(p) <= MESSAGE_LIMIT for p in parts)
    joined = "".join(parts).replace(" ", "")
    for t in texts:
        assert escape(t).replace(" ", "") in joined.replace(f"…{CONTINUED}", "").replace(f"{CONTINUED}…", "")


def test_report_counts_and_details() -> None:
    report = BuildReport(
        added=("tram-extension",),
        updated=("harbour-walkout",),
        unchanged=15,
        removed=("old-story",),
        skipped=(("notes/@everyone.txt", "looks like a binary file, not text"),),
        articles=17,
        sentences=402,
        seconds=3.24,
    )
    text = render_report(report)
    assert text.splitlines() == [
        "**Re-index** in 3.2 s: 1 added, 1 updated, 15 unchanged, 1 removed. The index holds 17 articles (402 sentences).",
        "Added: `tram-extension`",
        "Updated: `harbour-walkout`",
        "Removed: `old-story`",
        "Skipped notes/@\u200beveryone.txt: looks like a binary file, not text",
    ]


def test_report_when_nothing_changed_or_nothing_was_added() -> None:
    same = render_report(BuildReport(unchanged=3, articles=3, sentences=35), title="Re-index")
    assert same == "**Re-index**: nothing changed; the index holds 3 articles (35 sentences), all up to date."
    dup = BuildReport(unchanged=3, articles=3, sentences=35, skipped=(("copy.md", "has the same text as article 'a'"),))
    assert (
        render_report(dup, title="Add copy.md").splitlines()[1] == "Skipped copy.md: has the same text as article 'a'"
    )


def test_a_huge_report_fits_in_one_message() -> None:
    report = BuildReport(
        added=tuple(f"article-{i:04d}-" + "x" * 100 for i in range(300)),
        skipped=tuple((f"file-{i}.bin", "looks like a binary file, not text") for i in range(300)),
        articles=300,
        seconds=40.0,
    )
    text = render_report(report)
    assert len(text) <= MESSAGE_LIMIT
    assert text.startswith("**Re-index** in 40.0 s: 300 added")
    assert re.search(r"… and \d+ more$", text)


def info(i: int, title: str = "A title") -> ArticleInfo:
    return ArticleInfo(id=f"article-{i}", title=title, date="2025-01-01", source="x.md", sentences=10)


def test_article_pages() -> None:
    articles = [info(i) for i in range(5)]
    first = page_of(articles, 1, 2)
    assert (first.number, first.pages, first.total, first.first) == (1, 3, 5, 1)
    assert render_articles(first, prefix="!").splitlines() == [
        "**Indexed articles** (5), page 1 of 3:",
        "1. `article-0` A title, 2025-01-01 (10 sentences)",
        "2. `article-1` A title, 2025-01-01 (10 sentences)",
        "Next page: `/articles page:2` or `!articles 2`",
    ]
    last = page_of(articles, 99, 2)  # clamped to the last page
    assert last.number == 3 and [a.id for a in last.articles] == ["article-4"]
    assert "Next page" not in render_articles(last)
    assert render_articles(page_of([], 1, 15)).startswith("No articles are indexed yet")


def test_a_page_of_long_titles_fits() -> None:
    articles = [
        ArticleInfo(id=f"story-{i:02d}-" + "x" * 30, title="@everyone " + "t" * 500, date="", source="", sentences=1)
        for i in range(25)
    ]
    text = render_articles(page_of(articles, 1, 25))
    assert len(text) <= MESSAGE_LIMIT
    assert "@everyone" not in text
    assert text.count("\n") == 25  # the header and every article, titles shortened
    assert all(f"`{a.id}`" in text for a in articles)


def test_a_page_of_very_long_ids_counts_what_does_not_fit() -> None:
    articles = [ArticleInfo(id="a" * 120 + str(i), title="T", date="", source="", sentences=1) for i in range(25)]
    text = render_articles(page_of(articles, 1, 25))
    assert len(text) <= MESSAGE_LIMIT
    assert re.search(r"\n… and \d+ more$", text)


def test_usage_and_slow_down() -> None:
    assert "`!ask who led the protest?`" in usage_text("!", 1000)
    assert "`!ask" not in usage_text("", 1000) and "at most 1,000 characters" in usage_text("", 1000)
    assert slow_down_text(0.2) == "Slow down a little: you can ask again in 1 second."
    assert slow_down_text(12.1) == "Slow down a little: you can ask again in 13 seconds."


# --- mentions: nothing discord.py would neutralise gets through ----------------------------------

# discord.utils.escape_mentions, the reference: whatever it would touch must not survive ours.
DPY_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")
# What Discord itself parses as a ping, for any length of id.
PING = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)
ID = "123456789012345678"

TRICKY = [
    "@everyone",
    "@here",
    "@everyone2025",
    "@heretics",
    "@hereford",
    "@here_and_now",
    "@everyone's",
    "(@here)",
    "x@everyone",
    "@@everyone",
    "@@@here",
    "@Everyone @HERE",
    "**@everyone**",
    "`@here`",
    "@everyone\n@here",
    f"<@{ID}>",
    f"<@!{ID}>",
    f"<@&{ID}>",
    f"<@{ID}><@{ID}>",
    "<@1>",
    f"@{ID}",
    f"@!{ID}",
    f"@&{ID}",
    f"<<@{ID}>>",
    f"<@{ID}9999>",
    "@\u200beveryone",  # already inert
    "@" * 5 + "here",
]


def dpy_escape(text: str) -> str:
    import discord.utils

    return discord.utils.escape_mentions(text)


@pytest.mark.parametrize("raw", TRICKY)
def test_no_spelling_of_a_mention_gets_through(raw: str) -> None:
    text = neutralize_mentions(raw)
    assert not DPY_MENTION.search(text), text
    assert not PING.search(text), text
    assert text.replace("\u200b", "") == raw.replace("\u200b", "")  # only zero-width spaces were added
    assert neutralize_mentions(text) == text  # twice is once: render, then send, may both apply it
    assert not DPY_MENTION.search(dpy_escape(raw))  # the reference agrees these are its mentions


# Texts made of the pieces mentions are made of, so the search meets near-misses often.
MENTION_PIECES = st.sampled_from(
    [
        "@",
        "@",
        "<",
        ">",
        "!",
        "&",
        "everyone",
        "here",
        "Here",
        "EVERYONE",
        ID,
        "7",
        "2025",
        "tics",
        "_",
        " ",
        "\n",
        "\u200b",
        "x",
    ]
)


@given(st.lists(MENTION_PIECES, max_size=12).map("".join) | st.text(max_size=40))
@settings(max_examples=500)
def test_whatever_discord_py_would_neutralise_ours_does(raw: str) -> None:
    text = neutralize_mentions(raw)
    assert not DPY_MENTION.search(text) and not PING.search(text), text
    assert text.replace("\u200b", "") == raw.replace("\u200b", "")
    assert neutralize_mentions(text) == text


def test_every_text_from_an_article_is_inert_in_every_message() -> None:
    hostile = "@everyone2025 <@!" + ID + "> @heretics"
    parts = render_answer(answer(cite(f"Call {hostile}.", title=f"Title {hostile}"), cite("x " * 1500 + hostile)))
    report = render_report(
        BuildReport(added=("a",), skipped=((f"{hostile}.txt", f"{hostile}.txt looks like a binary file"),)),
        title=f"Add {hostile}.md",
    )
    listing = render_articles(page_of([info(1, title=hostile)], 1, 15), prefix="!")
    for text in [*parts, report, listing, usage_text("@hereford!", 1000)]:
        assert not DPY_MENTION.search(text) and not PING.search(text), text


def test_a_source_link_that_would_hold_a_mention_is_not_shown() -> None:
    # Made inert it would be a different, broken link: the article id is shown instead.
    (text,) = render_answer(answer(cite("A sentence.", source="https://example.org/@everyone2025/a")))
    assert text.endswith(" (article `port-kellan`)") and "example.org" not in text
    (text,) = render_answer(answer(cite("A sentence.", source="https://medium.com/@mara/a")))
    assert text.endswith(" <https://medium.com/@mara/a>")  # a user name is no mention


class RecordingContext:
    """The part of a commands.Context that replies.send uses: it records what would be sent."""

    interaction = None
    message = None

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    async def send(self, content: str, **kwargs: object) -> None:
        self.sent.append((content, kwargs))


@pytest.mark.asyncio
@pytest.mark.parametrize("raw", TRICKY)
async def test_send_makes_any_text_inert_and_allows_no_mentions(raw: str) -> None:
    import discord

    from bot.replies import send

    ctx = RecordingContext()
    await send(ctx, f"error: {raw} is not an article")  # type: ignore[arg-type]
    ((content, kwargs),) = ctx.sent
    assert not DPY_MENTION.search(content) and not PING.search(content), content
    mentions = kwargs["allowed_mentions"]
    assert isinstance(mentions, discord.AllowedMentions) and mentions.to_dict() == {"parse": []}
