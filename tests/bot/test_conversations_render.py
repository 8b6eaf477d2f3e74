"""Pure parts of conversations in Discord: thread names, the note over an answer, autocomplete
choices, and the bounded memory of threads."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from bot.render import MESSAGE_LIMIT, answer_note, article_choices, render_answer, thread_name
from bot.threads import ThreadMemory
from index.models import Answer, ArticleInfo
from tests.bot.test_render import answer, cite


def info(article_id: str, title: str, date: str = "2025-06-12") -> ArticleInfo:
    return ArticleInfo(article_id, title, date, "https://example.org/a", 9)


# --- thread names -------------------------------------------------------------------------------


def test_a_thread_is_named_after_the_question_on_one_line() -> None:
    assert thread_name("who led\n\nthe  protest?") == "who led the protest?"
    assert thread_name("@everyone <@123456789012345678> who?") == "@\u200beveryone <@\u200b123456789012345678> who?"
    assert thread_name("   ") == "Question"  # Discord refuses an empty name


@given(st.text(min_size=0, max_size=400))
def test_a_thread_name_always_fits(question: str) -> None:
    name = thread_name(question)
    assert 1 <= len(name) <= 100
    assert "\n" not in name and "\r" not in name
    assert "@everyone" not in name.lower() and "@here" not in name.lower()


# --- the note over an answer --------------------------------------------------------------------


def test_no_note_when_nothing_narrowed_the_answer() -> None:
    plain = answer(cite("The union rejected the offer."))
    assert answer_note(plain) == ""
    assert render_answer(plain)[0].startswith("**[1]** “")


def test_the_note_says_the_filters_and_how_a_follow_up_was_read() -> None:
    narrowed = dataclasses.replace(
        answer(cite("The union rejected the offer.")),
        filters={"since": "2025-01-01", "source": "dawn.com"},
        read_as="why did Maria_Lindqvist *reject* it",
    )
    (text,) = render_answer(narrowed)
    note, first = text.split("\n", 1)
    assert note == r"*Within: since 2025-01-01, source dawn.com. Read as: why did Maria\_Lindqvist \*reject\* it*"
    assert first.startswith("**[1]** “The union rejected the offer.”")
    abstained = Answer(question="q?", abstained=True, filters={"article": "harbour-walkout"})
    assert render_answer(abstained) == ["*Within: article harbour-walkout.*\nThe indexed articles don't say."]


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=1, max_value=3))
def test_with_a_note_every_message_still_fits(read_as: str, quotes: int) -> None:
    long = "word " * 380  # a quote that nearly fills a message on its own
    citations = tuple(cite(long.strip(), n=i) for i in range(1, quotes + 1))
    narrowed = Answer(question="q?", abstained=False, citations=citations, read_as=read_as, filters={"since": "7d"})
    parts = render_answer(narrowed)
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert len(answer_note(narrowed)) <= 300
    assert parts[0].startswith("*Within: since 7d.")


# --- autocomplete -------------------------------------------------------------------------------


def test_choices_match_every_word_typed_in_the_id_or_title() -> None:
    articles = [
        info("harbour-walkout", "Dock workers walk out at Port Kellan", "2025-06-12"),
        info("port-fees", "Harbour fees rise again", "2025-07-01"),
        info("library", "The Alder Street library reopens", "2025-09-02"),
    ]
    assert article_choices(articles, "PORT kellan") == [
        ("Dock workers walk out at Port Kellan (harbour-walkout)", "harbour-walkout")
    ]
    # What was typed starts the id or title: first; then the newest.
    assert [v for _, v in article_choices(articles, "harbour")] == ["port-fees", "harbour-walkout"]  # both start so
    assert [v for _, v in article_choices(articles, "port")] == ["port-fees", "harbour-walkout"]
    assert [v for _, v in article_choices(articles, "")] == ["library", "port-fees", "harbour-walkout"]
    assert article_choices(articles, "tram") == []


def test_choices_fit_discord_limits() -> None:
    many = [
        info(f"story-{i:03d}", f"Story number {i} " + "with a very long headline " * 8, f"2025-01-{i % 28 + 1:02d}")
        for i in range(60)
    ]
    long_id = info("x" * 101, "An article whose id is too long to be a value")
    untitled = info("untitled-piece", "", "")
    choices = article_choices([*many, long_id, untitled], "")
    assert len(choices) == 25
    assert all(1 <= len(name) <= 100 and 1 <= len(value) <= 100 for name, value in choices)
    assert all(name.endswith(f"({value})") for name, value in choices)
    assert article_choices([long_id, untitled], "") == [("untitled-piece", "untitled-piece")]
    assert article_choices([info("a", "@everyone look")], "") == [("@\u200beveryone look (a)", "a")]


# --- the memory of threads ----------------------------------------------------------------------


def test_one_conversation_per_thread_the_least_recently_used_dropped_first() -> None:
    made: list[list[str]] = []

    def make() -> list[str]:
        made.append([])
        return made[-1]

    memory: ThreadMemory[list[str]] = ThreadMemory(make, limit=3)
    started: list[str] = ["first question"]
    memory.adopt(1, started, started=True)
    assert memory.conversation(1) is started and memory.started(1)
    memory.conversation(2).append("asked in a thread someone else started")
    assert not memory.started(2)
    memory.conversation(3)
    memory.conversation(1)  # used again: now the most recent
    memory.conversation(4)  # over the limit: thread 2, the least recently used, is forgotten
    assert len(memory) == 3 and 2 not in memory and 1 in memory
    assert memory.conversation(2) == []  # a forgotten thread starts over, empty
    assert memory.started(1) and not memory.started(4)
