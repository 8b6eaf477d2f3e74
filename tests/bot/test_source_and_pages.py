"""``/source``, article-id autocomplete and ``/articles`` pages with buttons, against the loopback fake."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.client import CitebotBot, create_bot
from bot.render import render_source
from index.engine import Engine
from index.models import ArticleInfo, Passage
from tests.bot.fakediscord import FakeDiscord, Interaction, logged_in
from tests.bot.test_http_payloads import DEFERRED, EPHEMERAL, assert_safe, callback

UPDATE_MESSAGE = 7
BUTTON = 2


async def listed(fake: FakeDiscord, bot: CitebotBot) -> int:
    """Run /articles and return the id of the list message it made (the buttons are under it)."""
    await fake.wait_answered(fake.slash(bot, "articles"))
    return max(fake.messages)


async def choices(fake: FakeDiscord, typing: Interaction) -> list[dict[str, Any]]:
    await fake.wait_for(lambda: bool(fake.for_interaction(typing)))
    return fake.choices(typing)


def buttons(message: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(label, custom_id, disabled) of every button under a message."""
    return [
        (b["label"], b["custom_id"], bool(b.get("disabled")))
        for row in message.get("components") or []
        for b in row["components"]
        if b["type"] == BUTTON
    ]


@pytest.mark.asyncio
async def test_remove_and_source_autocomplete_ids_and_titles(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    by_title = fake.autocomplete(bot, "remove", {"article_id": "port kellan"}, "article_id")
    assert await choices(fake, by_title) == [
        {
            "name": "Dock workers walk out at Port Kellan after pay talks collapse (harbour-walkout)",
            "value": "harbour-walkout",
        }
    ]
    by_id = fake.autocomplete(bot, "source", {"article_id": "alder"}, "article_id")
    (library,) = await choices(fake, by_id)
    assert library["value"] == "alder-street-library" and library["name"].endswith("(alder-street-library)")
    everything = fake.autocomplete(bot, "source", {"article_id": ""}, "article_id")
    offered = await choices(fake, everything)
    assert [c["value"] for c in offered] == ["alder-street-library", "harbour-walkout", "000_8554960fb2f5e50c"]
    assert all(1 <= len(c["name"]) <= 100 for c in offered)
    # The same choices as /ask's article filter: one function behind all three options.
    filter_typing = fake.autocomplete(bot, "ask", {"question": "who", "article": ""}, "article")
    assert await choices(fake, filter_typing) == offered
    assert not [r for r in fake.requests if r.creates_message]  # autocomplete sends no message


@pytest.mark.asyncio
async def test_source_shows_the_article_to_the_asker(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    asked = fake.slash(bot, "source", {"article_id": "harbour-walkout"})
    (reply,) = await fake.wait_answered(asked)
    defer = callback(fake, asked)
    assert defer.json["type"] == DEFERRED and defer.json["data"]["flags"] & EPHEMERAL
    assert reply.message["flags"] & EPHEMERAL
    content = reply.message["content"]
    lines = content.splitlines()
    assert lines[0] == "**Dock workers walk out at Port Kellan after pay talks collapse** (`harbour-walkout`)"
    assert lines[1].startswith("2025-06-12, ") and " sentences, " in lines[1]
    assert lines[1].endswith("<https://example.org/news/port-kellan-walkout>")  # no preview
    assert lines[2] == "Opening:"
    assert lines[3].startswith("**[1]** “More than 400 dock workers at Port Kellan walked off the job")
    assert lines[4].startswith("**[2]** “The union's strike call went out")
    assert len(lines) == 6 and lines[5].startswith("**[3]** “By early afternoon")
    # Sentence 2 holds @everyone, @here, <@id> and <@&id>: quoted, made inert, pinging nobody.
    for raw in ("@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>"):
        assert raw not in content
    assert "@\u200beveryone" in content
    assert_safe(fake)


@pytest.mark.asyncio
async def test_source_of_an_unknown_id_is_one_ephemeral_line(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    asked = fake.slash(bot, "source", {"article_id": "no-such-article"})
    (reply,) = await fake.wait_answered(asked)
    assert reply.message["flags"] & EPHEMERAL
    assert reply.message["content"] == "No article with id 'no-such-article'; `/articles` lists the ids"
    assert_safe(fake)


def test_a_long_article_opening_fits_one_message() -> None:
    long_title = "A headline that goes on " * 20
    sentence = "A very long sentence about the harbour with *stars* and back\\slashes " * 40
    passage = Passage(
        ArticleInfo("long-read", long_title, "2025-01-02", "https://example.org/" + "x" * 480, 812),
        ((1, sentence), (2, sentence), (3, sentence)),
    )
    text = render_source(passage)
    assert len(text) <= 2000
    assert text.count("“") == 3 and text.count("”") == 3  # all three sentences, each shortened
    assert "812 sentences" in text and "<https://example.org/xxx" in text
    assert "\\*stars\\*" in text  # escaped as answers escape quotes
    for quote in text.splitlines()[3:]:
        assert not quote.endswith("\\”") and quote.endswith("…”")


@pytest.mark.asyncio
async def test_articles_pages_with_previous_and_next(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot  # bot.articles_page_size is 2: three articles are two pages
    listing = fake.slash(bot, "articles")
    (first,) = await fake.wait_answered(listing)
    assert first.json["content"].startswith("**Indexed articles** (3), page 1 of 2:")
    assert buttons(first.json) == [
        ("Previous", "citebot:articles:0", True),
        ("Next", "citebot:articles:2", False),
    ]
    message_id = int(fake.messages[max(fake.messages)]["id"])
    assert buttons(fake.messages[message_id]) == buttons(first.json)

    nxt = fake.click(bot, message_id, "citebot:articles:2", user_id=42)  # anyone may turn the page
    (edit,) = await fake.wait_answered(nxt)
    assert edit.path.endswith("/callback") and edit.json["type"] == UPDATE_MESSAGE  # edited in place
    assert edit.message["content"].startswith("**Indexed articles** (3), page 2 of 2:\n3. `")
    assert buttons(edit.message) == [
        ("Previous", "citebot:articles:1", False),
        ("Next", "citebot:articles:3", True),
    ]
    assert not edit.message.get("flags", 0) & EPHEMERAL

    back = fake.click(bot, message_id, "citebot:articles:1")
    (edit,) = await fake.wait_answered(back)
    assert edit.message["content"].startswith("**Indexed articles** (3), page 1 of 2:")
    assert buttons(edit.message)[1] == ("Next", "citebot:articles:2", False)

    # After a restart the buttons of an old list still work: a new bot that never sent it.
    await bot.close()
    restarted = create_bot(news_engine.config, news_engine)
    async with logged_in(fake, restarted):
        again = fake.click(restarted, message_id, "citebot:articles:2")
        (edit,) = await fake.wait_answered(again)
        assert edit.json["type"] == UPDATE_MESSAGE
        assert edit.message["content"].startswith("**Indexed articles** (3), page 2 of 2:")
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_page_out_of_range_says_how_many_there_are(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    listing = fake.slash(bot, "articles", {"page": 9})
    (reply,) = await fake.wait_answered(listing)
    assert reply.json["content"] == (
        "There is no page 9: the list has 2 pages (3 articles). The last one is `/articles page:2` or `!articles 2`."
    )
    assert not reply.json.get("components")

    fake.message(bot, "!articles 3")
    await fake.wait_for(lambda: bool(fake.sent("POST", r"/channels/\d+/messages")))
    (said,) = fake.sent("POST", r"/channels/\d+/messages")
    assert said.json["content"].startswith("There is no page 3: the list has 2 pages")
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_stale_next_shows_the_last_page_and_one_page_has_no_buttons(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot
    message_id = await listed(fake, bot)
    await asyncio.to_thread(news_engine.remove, "harbour-walkout")  # two left: one page

    stale = fake.click(bot, message_id, "citebot:articles:2")
    (edit,) = await fake.wait_answered(stale)
    assert edit.message["content"].startswith("**Indexed articles** (2), page 1 of 1:")
    assert edit.message["components"] == []  # the buttons are gone: nothing to turn to
    assert_safe(fake)
