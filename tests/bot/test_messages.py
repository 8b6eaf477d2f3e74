"""The message doors, driven by dpytest: mentions, Q&A channels, prefix commands, attachments."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import discord.ext.test as dpytest
import pytest
import pytest_asyncio
from discord.ext import commands

from bot.client import create_bot
from bot.errors import NotAdmin
from bot.render import ABSTAIN_TEXT
from index.engine import Engine
from tests.bot.conftest import ATTACHMENT_CAP, HARBOUR, QA_CHANNEL_ID, TRAM
from tests.bot.dpy import Harness, configure, record_payloads
from tests.bot.fakediscord import EDITORS_ROLE, plain


def pings_nobody(allowed: dict[str, object] | None) -> bool:
    """Whether an ``allowed_mentions`` body allows no mention at all (replied_user defaults to false)."""
    return (
        allowed is not None
        and allowed.get("parse") == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


@pytest_asyncio.fixture
async def world(news_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    # dpytest has no threads: these tests cover bot.threads: false, answers as replies (threads are
    # tested against the loopback fake, tests/bot/test_threads.py).
    settings = dataclasses.replace(news_engine.config.bot, threads=False)
    bot = create_bot(news_engine.config.replace(bot=settings), news_engine)
    harness = await configure(bot, QA_CHANNEL_ID, EDITORS_ROLE)
    record_payloads(monkeypatch, harness)
    yield harness
    await dpytest.empty_queue()


def assert_no_pings(harness: Harness) -> None:
    assert harness.payloads, "the bot sent nothing"
    for payload in harness.payloads:
        assert pings_nobody(payload.get("allowed_mentions")), payload
        assert len(payload.get("content") or "") <= 2000


@pytest.mark.asyncio
async def test_a_mention_is_a_question(world: Harness) -> None:
    await world.say(f"{world.mention} who led the protest?")
    (reply,) = world.replies()
    assert "Bushra Bibi, led the latest protest" in plain(reply.content)
    assert reply.content.startswith("**[1]** “")
    assert "sentence 5" in reply.content
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_a_message_in_a_qa_channel_is_a_question(world: Harness) -> None:
    await world.say("when did the Alder Street library reopen?", channel=world.qa)
    (reply,) = world.replies()
    assert "Alder Street library in Hatherley reopened on Tuesday" in reply.content
    assert reply.channel.id == QA_CHANNEL_ID
    assert "(article `alder-street-library`)" in reply.content  # a local file: no link to show


@pytest.mark.asyncio
async def test_chatter_in_a_qa_channel_gets_no_reply_and_a_question_without_a_mark_does(world: Harness) -> None:
    for chatter in ("thanks!", "lol", "👍", "https://dawn.com/news/1", "great job"):
        await world.say(chatter, channel=world.qa)
    assert world.replies() == []
    await world.say("when did the Alder Street library reopen", channel=world.qa)
    (reply,) = world.replies()
    assert "Alder Street library in Hatherley reopened on Tuesday" in reply.content
    await world.say(f"{world.mention} thanks!", channel=world.qa)  # addressed: always answered
    assert len(world.replies()) == 1


@pytest.mark.asyncio
async def test_chatter_elsewhere_is_left_alone(world: Harness) -> None:
    await world.say("who led the protest?")  # no mention, not a Q&A channel
    await world.say("!thanks")  # not a command
    assert world.replies() == []


@pytest.mark.asyncio
async def test_prefix_ask(world: Harness) -> None:
    await world.say("!ask who led the protest?")
    (reply,) = world.replies()
    assert "Bushra Bibi" in reply.content
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_abstains_plainly(world: Harness) -> None:
    await world.say("!ask what is the capital of Peru?")
    assert [m.content for m in world.replies()] == [ABSTAIN_TEXT]


@pytest.mark.asyncio
async def test_mentions_inside_an_article_ping_nobody(world: Harness) -> None:
    await world.say(f"{world.mention} what did the union's strike call say?")
    (reply,) = world.replies()
    assert "stop work at noon" in reply.content
    assert "@everyone" not in reply.content and "@here" not in reply.content
    assert "<@123456789012345678>" not in reply.content and "<@&123456789012345678>" not in reply.content
    assert "@\u200beveryone" in reply.content  # still readable
    assert not reply.mention_everyone and not reply.mentions and not reply.role_mentions
    assert "<https://example.org/news/port-kellan-walkout>" in reply.content
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_bad_questions_get_a_usage_line(world: Harness) -> None:
    await world.say(f"{world.mention}")  # only a mention: what citebot is and how to ask it
    await world.say("x " * 3000, channel=world.qa)  # 6,000 characters
    with pytest.raises(commands.MissingRequiredArgument):  # through the central error handler
        await world.say("!ask")
    replies = [m.content for m in world.replies()]
    assert len(replies) == 3
    assert replies[0].startswith("**citebot** answers questions about the indexed news articles by quoting them")
    assert all("Ask me about the indexed news articles" in r or "Usage:" in r for r in replies[1:]), replies
    assert "at most 1,000 characters" in replies[1]
    assert replies[2] == (
        "Question is a required argument that is missing. Usage: `/ask question:…` or `!ask <question>`"
    )
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_other_bots_are_ignored(world: Harness) -> None:
    await world.say(f"{world.mention} who led the protest?", member=world.other_bot)
    await world.say("who led the protest?", member=world.other_bot, channel=world.qa)
    await world.say("!ask who led the protest?", member=world.other_bot)
    assert world.replies() == []


@pytest.mark.asyncio
async def test_a_flood_gets_one_slow_down(world: Harness) -> None:
    # The config allows 3 questions per 60 s.
    for _ in range(6):
        await world.say("who led the protest?", channel=world.qa)
    replies = [m.content for m in world.replies()]
    assert len(replies) == 4
    assert all("Bushra Bibi" in r for r in replies[:3])
    assert replies[3].startswith("Slow down a little: you can ask again in ")
    # Someone else is not slowed down by the first user's flood.
    await world.say("who led the protest?", channel=world.qa, member=world.editor)
    assert "Bushra Bibi" in world.replies()[0].content


@pytest.mark.asyncio
async def test_reindex_is_for_admins(world: Harness, news_engine: Engine) -> None:
    with pytest.raises(NotAdmin):
        await world.say("!reindex")
    (refusal,) = world.replies()
    assert refusal.content.startswith("Sorry, only members with the Manage Server permission or a role named 'Editors'")

    (news_engine.config.corpus_dir / TRAM.name).write_bytes(TRAM.read_bytes())
    await world.say("!reindex", member=world.editor)
    (report,) = world.replies()
    assert report.content.startswith("**Re-index** in ")
    assert "1 added, 0 updated, 3 unchanged, 0 removed" in report.content
    assert "Added: `tram-extension`" in report.content
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_add_an_attachment_then_ask_about_it(world: Harness, news_engine: Engine) -> None:
    await world.say("!add", member=world.editor, attachments=[TRAM])
    (report,) = world.replies()
    assert "Add tram-extension.md" in report.content and "1 added" in report.content
    assert world.downloads  # fetched through the bot's HTTP client
    await world.say("!ask how long is the Eastbrook tram extension?", member=world.editor)
    (answer,) = world.replies()
    assert "9.3 kilometres" in answer.content
    assert "<https://example.org/news/eastbrook-tram-extension>" in answer.content


@pytest.mark.asyncio
async def test_attachments_that_are_refused(world: Harness, news_engine: Engine, tmp_path: Path) -> None:
    corpus_before = sorted(p.name for p in news_engine.config.corpus_dir.iterdir())
    big = tmp_path / "long-read.txt"
    big.write_text("A sentence about the harbour. " * (ATTACHMENT_CAP // 20), encoding="utf-8")
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))

    await world.say("!add", member=world.editor, attachments=[big])
    (too_big,) = world.replies()
    assert too_big.content.startswith(f"long-read.txt is {big.stat().st_size:,} bytes, over the limit of 4,000")
    assert world.downloads == []  # refused from the size Discord reports, before any download

    with pytest.raises(commands.CommandInvokeError):  # the engine's ArticleError, wrapped by discord.py
        await world.say("!add", member=world.editor, attachments=[binary])
    (not_text,) = world.replies()
    assert not_text.content == "Scan.txt looks like a binary file, not text"
    assert sorted(p.name for p in news_engine.config.corpus_dir.iterdir()) == corpus_before

    with pytest.raises(NotAdmin):
        await world.say("!add", attachments=[HARBOUR])
    assert world.replies()[0].content.startswith("Sorry, only members")
    assert_no_pings(world)


@pytest.mark.asyncio
async def test_remove_and_list(world: Harness) -> None:
    await world.say("!articles")
    (page,) = world.replies()
    assert page.content.startswith("**Indexed articles** (3), page 1 of 2:")
    assert "`000_8554960fb2f5e50c`" in page.content and "Next page: `/articles page:2` or `!articles 2`" in page.content

    await world.say("!remove harbour-walkout", member=world.editor)
    (report,) = world.replies()
    assert "Removed: `harbour-walkout`" in report.content
    await world.say("!articles 2")
    assert world.replies()[0].content.startswith("There is no page 2: the list has 1 page (2 articles).")
    await world.say("!articles")
    assert world.replies()[0].content.startswith("**Indexed articles** (2), page 1 of 1:")

    with pytest.raises(commands.CommandInvokeError):
        await world.say("!remove harbour-walkout", member=world.editor)
    assert world.replies()[0].content.startswith("No article with id 'harbour-walkout'")
    assert_no_pings(world)
