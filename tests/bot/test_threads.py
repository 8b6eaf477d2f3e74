"""Threads, follow-ups and filters, against the loopback fake of Discord's HTTP API.

The real bot and a real engine over the three fixture articles: what it asks Discord to do (start a
thread, and its name), where the answers go, and what a member reads in them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import shutil
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from bot.client import CitebotBot, make_guild_engines
from index.config import Config, GuildConfig, load_config
from index.embed import Encoder
from index.engine import Engine
from index.store import current_build
from tests.bot.conftest import ARTICLES, BOT_CONFIG, LIBRARY, QA_CHANNEL_ID, TRAM, running
from tests.bot.fakediscord import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    FORUM_ID,
    MANAGER_PERMISSIONS,
    FakeDiscord,
    Interaction,
    Recorded,
    channel_payload,
    guild_payload,
    plain,
)
from tests.bot.test_http_payloads import DEFERRED, EPHEMERAL, MESSAGE, assert_safe, callback

MENTION = f"<@{BOT_ID}>"
THREADS = r"/channels/\d+/messages/\d+/threads"
LINDQVIST = "Union convenor Maria Lindqvist said members had rejected an offer of 3.5 percent"
SHE_SAID_NEXT = '“"People are working double shifts and still cannot afford to live near the port," she said.”'
HARBOUR_TITLE = "*Dock workers walk out at Port Kellan after pay talks collapse*"


def with_bot(config: Config, **changes: Any) -> Config:
    return config.replace(bot=dataclasses.replace(config.bot, **changes))


@pytest_asyncio.fixture
async def threaded(news_engine: Engine) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    """The bot with threads on (the default) and the test server's forum listed as a Q&A channel."""
    config = with_bot(news_engine.config, qa_channels=[QA_CHANNEL_ID, FORUM_ID])
    assert config.bot.threads
    async with running(config, news_engine) as world:
        yield world


def posted_in(fake: FakeDiscord, channel_id: int) -> list[Recorded]:
    """The messages the bot created in a channel (or a thread) through the bot API."""
    return fake.sent("POST", rf"/channels/{channel_id}/messages")


async def answered_in(fake: FakeDiscord, channel_id: int, count: int = 1) -> list[Recorded]:
    await fake.wait_for(lambda: len(posted_in(fake, channel_id)) >= count)
    return posted_in(fake, channel_id)


async def thread_started(fake: FakeDiscord, count: int = 1) -> list[Recorded]:
    await fake.wait_for(lambda: len(fake.sent("POST", THREADS)) >= count)
    return fake.sent("POST", THREADS)


def original_id(fake: FakeDiscord, interaction: Interaction) -> int:
    """The id of an interaction's original response (after a deferral: its first followup)."""
    return fake._originals[interaction.token]


@pytest.mark.asyncio
async def test_a_slash_answer_starts_a_thread_named_after_the_question(
    threaded: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = threaded
    ask = fake.slash(bot, "ask", {"question": "@everyone who led the latest protest?"})
    (answer,) = await fake.wait_answered(ask)
    assert callback(fake, ask).json == {"type": DEFERRED}
    assert answer.path == f"/webhooks/{APP_ID}/{ask.token}"
    assert "Bushra Bibi, led the latest protest" in plain(answer.json["content"])
    (start,) = await thread_started(fake)
    # On the answer itself (the original response), in the channel it was asked in.
    assert start.path == f"/channels/{CHANNEL_ID}/messages/{original_id(fake, ask)}/threads"
    assert start.json["name"] == "@\u200beveryone who led the latest protest?"  # inert, as in messages
    assert start.json["auto_archive_duration"] == 1440  # hidden after a day, as the conversation expires
    thread_id = int(fake.threads[original_id(fake, ask)]["id"])
    assert bot.get_channel(thread_id) is not None  # announced by the gateway, as Discord does
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_mention_is_answered_with_a_reply_that_starts_a_thread(
    threaded: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = threaded
    question = fake.message(bot, f"{MENTION} who led\nthe latest protest? <@&123456789012345678>")
    (reply,) = await answered_in(fake, CHANNEL_ID)
    assert "Bushra Bibi, led the latest protest" in plain(reply.json["content"])
    assert reply.json["message_reference"]["message_id"] == int(question["id"])
    (start,) = await thread_started(fake)
    reply_id = next(m for m in fake.messages.values() if m["content"] == reply.json["content"])["id"]
    assert start.path == f"/channels/{CHANNEL_ID}/messages/{reply_id}/threads"
    # One line, the bot's mention gone, other mentions inert.
    assert start.json["name"] == "who led the latest protest? <@\u200b&123456789012345678>"
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_long_question_gives_a_thread_name_of_at_most_100_characters(
    threaded: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = threaded
    question = "who led the latest protest in Islamabad, " + "and who else was there with them, " * 6 + "and why?"
    fake.message(bot, f"{MENTION} {question}")
    (start,) = await thread_started(fake)
    name = start.json["name"]
    assert len(name) <= 100 and name.endswith("…") and "\n" not in name
    assert name.startswith("who led the latest protest in Islamabad, and who else")


@pytest.mark.asyncio
async def test_a_follow_up_in_the_thread_needs_no_mention(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    fake.message(bot, f"{MENTION} who led the latest protest?")
    await thread_started(fake)
    (thread_id,) = [int(t) for t in fake.threads]
    fake.message(bot, "when did the Alder Street library reopen?", channel_id=thread_id)
    (answer,) = await answered_in(fake, thread_id)
    assert "Alder Street library in Hatherley reopened on Tuesday" in answer.json["content"]
    assert "message_reference" not in answer.json  # a plain message in the thread
    assert len(fake.sent("POST", THREADS)) == 1  # no thread in a thread
    assert_safe(fake)


@pytest.mark.asyncio
async def test_what_did_she_say_next_is_the_next_sentence_of_the_quoted_article(
    threaded: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = threaded
    fake.message(bot, f"{MENTION} what did union convenor Maria Lindqvist say?")
    (first,) = await answered_in(fake, CHANNEL_ID)
    assert first.json["content"].startswith(f"**[1]** “{LINDQVIST}")
    assert (
        f"{HARBOUR_TITLE}, 2025-06-12, sentence 5 <https://example.org/news/port-kellan-walkout>"
        in (first.json["content"])
    )
    await thread_started(fake)
    (thread_id,) = [int(t) for t in fake.threads]

    fake.message(bot, "what did she say next?", channel_id=thread_id)  # no mention, no topic of its own
    (nxt,) = await answered_in(fake, thread_id)
    # The article's next sentence, quoted and cited like any other, and how the question was read.
    assert nxt.json["content"] == (
        "*Read as: the sentence after sentence 5 of harbour-walkout*\n"
        f"**[1]** {SHE_SAID_NEXT}\n"
        f"— {HARBOUR_TITLE}, 2025-06-12, sentence 6 <https://example.org/news/port-kellan-walkout>"
    )

    # The thread goes on from there, through the slash command too (answered in the thread, no new one).
    ask = fake.slash(bot, "ask", {"question": "and after that?"}, channel_id=thread_id)
    (after,) = await fake.wait_answered(ask)
    assert after.json["content"].startswith("*Read as: the sentence after sentence 6 of harbour-walkout*\n")
    assert "Northsea Terminals called the walkout unlawful" in after.json["content"]
    assert "sentence 7 <https://example.org/news/port-kellan-walkout>" in after.json["content"]
    assert len(fake.sent("POST", THREADS)) == 1
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_question_outside_a_thread_remembers_nothing(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    fake.message(bot, f"{MENTION} what did union convenor Maria Lindqvist say?")
    await answered_in(fake, CHANNEL_ID)
    fake.message(bot, f"{MENTION} what did she say next?")  # in the channel again: a new question, a new thread
    _, second = await answered_in(fake, CHANNEL_ID, 2)
    assert "Read as" not in second.json["content"]
    assert SHE_SAID_NEXT not in second.json["content"].split("\n")[0]
    assert len(await thread_started(fake, 2)) == 2


@pytest.mark.asyncio
async def test_filters_through_the_slash_options(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    ask = fake.slash(bot, "ask", {"question": "when did it reopen?", "article": "alder-street-library"})
    (answer,) = await fake.wait_answered(ask)
    content = answer.json["content"]
    assert content.startswith("*Within: article alder-street-library.*\n**[1]** “The Alder Street library")
    assert content.count("(article `alder-street-library`)") == content.count("**[")  # every quote from it

    # Filtering comes before ranking: the protest article is older than the filter, and the best
    # quote inside it does not answer, so the bot says so instead of quoting the protest.
    since = fake.slash(bot, "ask", {"question": "who led the latest protest?", "since": "2025-09-01"}, user_id=2)
    (within,) = await fake.wait_answered(since)
    assert within.json["content"] == "*Within: since 2025-09-01.*\nThe indexed articles don't say."

    source = fake.slash(bot, "ask", {"question": "what did the union say?", "source": "EXAMPLE.org"}, user_id=3)
    (outlet,) = await fake.wait_answered(source)
    assert outlet.json["content"].startswith("*Within: source example.org.*\n**[1]** “")
    assert outlet.json["content"].count("<https://example.org/news/port-kellan-walkout>") == 3
    assert_safe(fake)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"since": "2030-01-01"}, "No indexed article matches since 2030-01-01"),
        ({"source": "dawn.com", "until": "2025-01-01"}, "No indexed article matches until 2025-01-01, source dawn.com"),
        ({"article": "no-such-article"}, "No indexed article matches article no-such-article"),
        ({"since": "yesterday"}, "'yesterday' is not a date: use YYYY-MM-DD, or 7d / 2w for days or weeks back"),
        ({"since": "2025-06-01", "until": "2025-01-01"}, "Since 2025-06-01 is after until 2025-01-01"),
    ],
)
async def test_a_filter_that_leaves_nothing_is_refused_to_the_asker_only(
    threaded: tuple[FakeDiscord, CitebotBot], options: dict[str, str], refusal: str
) -> None:
    fake, bot = threaded
    ask = fake.slash(bot, "ask", {"question": "who led the latest protest?", **options})
    (reply,) = await fake.wait_answered(ask)
    # Refused before any deferral, so only the asker sees it.
    assert reply.json["type"] == MESSAGE and reply.message["flags"] & EPHEMERAL
    assert reply.message["content"].startswith(refusal)
    assert "\n" not in reply.message["content"]
    assert fake.sent("POST", THREADS) == []
    assert_safe(fake)


@pytest.mark.asyncio
async def test_inline_filters_in_a_mention_and_in_a_thread(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    fake.message(bot, f"{MENTION} article:alder-street-library when did it reopen?")
    (answer,) = await answered_in(fake, CHANNEL_ID)
    assert answer.json["content"].startswith("*Within: article alder-street-library.*\n**[1]** “The Alder Street")
    (start,) = await thread_started(fake)
    assert start.json["name"] == "when did it reopen?"  # named after the question, not its filters
    thread_id = int(start.path.split("/")[4])

    fake.message(bot, "since:last-week who paid for the longer hours?", channel_id=thread_id)
    (refusal,) = await answered_in(fake, thread_id)
    assert refusal.json["content"] == "'last-week' is not a date: use YYYY-MM-DD, or 7d / 2w for days or weeks back"

    fake.message(bot, "until:2024-12-31 who led the latest protest?", channel_id=thread_id, user_id=2)
    _, protest = await answered_in(fake, thread_id, 2)
    assert plain(protest.json["content"]).startswith("*Within: until 2024-12-31.*\n[1] “Khan's wife, Bushra Bibi")
    assert_safe(fake)


@pytest.mark.asyncio
async def test_autocomplete_offers_the_articles_by_title(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    typing = fake.autocomplete(bot, "ask", {"question": "who", "article": "port kellan"}, "article")
    await fake.wait_for(lambda: bool(fake.for_interaction(typing)))
    assert fake.choices(typing) == [
        {
            "name": "Dock workers walk out at Port Kellan after pay talks collapse (harbour-walkout)",
            "value": "harbour-walkout",
        }
    ]

    everything = fake.autocomplete(bot, "ask", {"question": "who", "article": ""}, "article")
    await fake.wait_for(lambda: bool(fake.for_interaction(everything)))
    choices = fake.choices(everything)
    # Newest first; every name within Discord's 100 characters.
    assert [c["value"] for c in choices] == ["alder-street-library", "harbour-walkout", "000_8554960fb2f5e50c"]
    assert all(1 <= len(c["name"]) <= 100 for c in choices)
    assert choices[2]["name"].endswith("… (000_8554960fb2f5e50c)")

    nothing = fake.autocomplete(bot, "ask", {"question": "who", "article": "tram"}, "article")
    await fake.wait_for(lambda: bool(fake.for_interaction(nothing)))
    assert fake.choices(nothing) == []
    assert not [r for r in fake.requests if r.creates_message]  # autocomplete sends no message


@pytest.mark.asyncio
async def test_a_forum_post_is_answered_in_its_thread(threaded: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = threaded
    post = fake.forum_post(bot, "Alder Street library", "when did it reopen?")
    (answer,) = await answered_in(fake, post)
    content = answer.json["content"]
    assert plain(content).startswith("[1] “The Alder Street library in Hatherley reopened on Tuesday")
    assert "message_reference" not in answer.json
    fake.message(bot, "what happened next?", channel_id=post)  # a follow-up in the post
    _, nxt = await answered_in(fake, post, 2)
    assert nxt.json["content"].startswith("*Read as: the sentence after sentence 1 of alder-street-library*\n")
    assert "The Victorian building had been closed since March 2024" in nxt.json["content"]
    await asyncio.sleep(0.3)
    assert len(posted_in(fake, post)) == 2  # the post's first message was answered once, from its thread
    assert fake.sent("POST", THREADS) == []  # a post is its own thread
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_forum_not_listed_is_left_alone(news_engine: Engine) -> None:
    async with running(news_engine.config, news_engine) as (fake, bot):  # qa_channels: the text Q&A channel only
        fake.forum_post(bot, "Alder Street library", "when did it reopen?")
        await asyncio.sleep(0.5)
        assert [r for r in fake.requests if r.creates_message] == []


@pytest.mark.asyncio
async def test_without_the_thread_permission_answers_stay_replies(
    threaded: tuple[FakeDiscord, CitebotBot], caplog: pytest.LogCaptureFixture
) -> None:
    fake, bot = threaded
    caplog.set_level(logging.INFO, logger="bot.cogs.ask")
    fake.refuse_threads = True  # 403 Missing Permissions: no Create Public Threads
    question = fake.message(bot, f"{MENTION} who led the latest protest?")
    (reply,) = await answered_in(fake, CHANNEL_ID)
    assert "Bushra Bibi" in reply.json["content"]
    assert reply.json["message_reference"]["message_id"] == int(question["id"])
    await thread_started(fake)
    ask = fake.slash(bot, "ask", {"question": "when did the Alder Street library reopen?"}, user_id=2)
    (answer,) = await fake.wait_answered(ask)
    assert "reopened on Tuesday" in answer.json["content"]
    await asyncio.sleep(0.3)
    assert len(fake.sent("POST", THREADS)) == 1  # not asked again in that channel for a while
    refused = [r for r in caplog.records if "may not start threads" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert_safe(fake)


@pytest.mark.asyncio
async def test_threads_off_gives_plain_replies(news_engine: Engine) -> None:
    config = with_bot(news_engine.config, threads=False)
    async with running(config, news_engine) as (fake, bot):
        ask = fake.slash(bot, "ask", {"question": "what did union convenor Maria Lindqvist say?"})
        (answer,) = await fake.wait_answered(ask)
        assert LINDQVIST in answer.json["content"]
        question = fake.message(bot, f"{MENTION} what did she say next?", user_id=2)
        (reply,) = await answered_in(fake, CHANNEL_ID)
        assert reply.json["message_reference"]["message_id"] == int(question["id"])
        assert "Read as" not in reply.json["content"]  # no conversation outside threads
        await asyncio.sleep(0.3)
        assert fake.sent("POST", THREADS) == []
        assert_safe(fake)


OTHER_GUILD = 777000000000000100
OTHER_CHANNEL = 777000000000000101


@pytest.mark.asyncio
async def test_two_servers_keep_their_own_articles(news_engine: Engine, encoder: Encoder) -> None:
    # The newsroom uses the default corpus (protest, harbour, library); the other server has its own
    # folder with the tram article only, configured in config.yaml as an operator would.
    site = news_engine.config.base_dir
    (site / "tram" / "corpus").mkdir(parents=True)
    shutil.copy(TRAM, site / "tram" / "corpus" / TRAM.name)
    with (site / "config.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  guilds:\n    {OTHER_GUILD}:\n      corpus_dir: tram/corpus\n      index_dir: tram/index\n")
    config = load_config(site / "config.yaml")
    newsroom = Engine(config, encoder=encoder)
    engines = make_guild_engines(config, newsroom)
    other = engines[OTHER_GUILD]
    assert other.config.corpus_dir == site / "tram" / "corpus" and other.encoder is newsroom.encoder
    other.rebuild()
    newsroom_build = current_build(config.index_dir)

    async with running(config, newsroom, guild_engines=engines) as (fake, bot):
        fake.connect(
            bot, guild_payload(OTHER_GUILD, [channel_payload(OTHER_CHANNEL, OTHER_GUILD, "city-desk")], name="City")
        )
        tram_here = fake.slash(bot, "ask", {"question": "how long is the Eastbrook tram extension?"})
        tram_there = fake.slash(
            bot, "ask", {"question": "how long is the Eastbrook tram extension?"}, channel_id=OTHER_CHANNEL, user_id=2
        )
        protest_there = fake.slash(
            bot, "ask", {"question": "who led the latest protest?"}, channel_id=OTHER_CHANNEL, user_id=3
        )
        (here,) = await fake.wait_answered(tram_here)
        (there,) = await fake.wait_answered(tram_there)
        (protest,) = await fake.wait_answered(protest_there)
        assert "9.3 kilometres" not in here.json["content"] and "Eastbrook" not in here.json["content"]
        assert "9.3 kilometres" in there.json["content"]
        assert "Bushra" not in protest.json["content"] and "Port Kellan" not in protest.json["content"]
        for answer in (there, protest):  # every quote in the other server is from its own article
            cited = re.findall(r"^— .*$", answer.json["content"], re.MULTILINE)
            assert all("<https://example.org/news/eastbrook-tram-extension>" in line for line in cited), cited

        # Each answer starts its thread in the server it was asked in (three answers: wait for all
        # three threads, not the first two, or the third is still in flight when the bot closes).
        await thread_started(fake, 3)
        assert {r.path.split("/")[2] for r in fake.sent("POST", THREADS)} == {str(CHANNEL_ID), str(OTHER_CHANNEL)}

        listing = fake.slash(bot, "articles", channel_id=OTHER_CHANNEL, user_id=4)
        (page,) = await fake.wait_answered(listing)
        assert page.json["content"].startswith("**Indexed articles** (1), page 1 of 1:\n1. `tram-extension`")
        typing = fake.autocomplete(bot, "ask", {"question": "x", "article": ""}, "article", channel_id=OTHER_CHANNEL)
        await fake.wait_for(lambda: bool(fake.for_interaction(typing)))
        assert [c["value"] for c in fake.choices(typing)] == ["tram-extension"]

        # A re-index in the other server reads its folder and writes its index only.
        shutil.copy(LIBRARY, site / "tram" / "corpus" / LIBRARY.name)
        reindex = fake.slash(bot, "reindex", permissions=MANAGER_PERMISSIONS, channel_id=OTHER_CHANNEL)
        (report,) = await fake.wait_answered(reindex)
        assert "1 added, 0 updated, 1 unchanged, 0 removed" in report.json["content"]
        assert "The index holds 2 articles" in report.json["content"]
        assert current_build(config.index_dir) == newsroom_build
        assert {a.id for a in newsroom.articles()} == {
            "000_8554960fb2f5e50c",
            "harbour-walkout",
            "alder-street-library",
        }
        assert {a.id for a in other.articles()} == {"tram-extension", "alder-street-library"}
        assert_safe(fake)


def test_a_server_in_bot_guilds_never_falls_back_to_the_default_corpus(news_engine: Engine) -> None:
    config = with_bot(
        news_engine.config,
        guilds={OTHER_GUILD: GuildConfig(news_engine.config.base_dir / "x", news_engine.config.base_dir / "y")},
    )
    with pytest.raises(ValueError, match=f"no engine for the servers \\[{OTHER_GUILD}\\]"):
        CitebotBot(config, news_engine, {})


@pytest.mark.asyncio
async def test_an_answer_longer_than_a_message_goes_on_in_its_thread(make_engine: Callable[..., Engine]) -> None:
    # Three quotes of ~750 characters each: two messages. The first is the answer in the channel
    # (the thread starts on it); the rest is in the thread, so the channel holds one message per question.
    engine = make_engine(ARTICLES / "marsh-lane-inspection.md", config=BOT_CONFIG)
    async with running(engine.config, engine) as (fake, bot):
        ask = fake.slash(
            bot, "ask", {"question": "what did the inspectors find at the Marsh Lane water treatment plant?"}
        )
        (first,) = await fake.wait_answered(ask)
        (start,) = await thread_started(fake)
        thread_id = int(start.path.split("/")[4])
        (rest,) = await answered_in(fake, thread_id)
        assert first.json["content"].startswith("**[1]** “The inspectors found that the sand filters")
        assert "**[2]** “The inspectors also found" in first.json["content"]
        assert rest.json["content"].startswith("**[3]** “Finally, the inspectors found")
        assert "sentence 3 <https://example.org/news/marsh-lane>" in rest.json["content"]
        assert fake.answers(ask) == [first]  # nothing more in the channel
        assert_safe(fake)
