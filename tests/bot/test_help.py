"""The front door: ``/help``, ``!help``, a bare mention and ``@citebot help``, against the loopback fake."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.client import CitebotBot
from bot.help import help_text
from index.answer.filters import make_filters, split_inline
from index.config import Config
from tests.bot.fakediscord import BOT_ID, CHANNEL_ID, FakeDiscord, Recorded, plain
from tests.bot.test_http_payloads import EPHEMERAL, MESSAGE, assert_safe, callback

POSTED = rf"/channels/{CHANNEL_ID}/messages"


def assert_is_help(content: str) -> None:
    assert len(content) <= 2000
    assert content.startswith("**citebot** answers questions about the indexed news articles by quoting them")
    for needed in (
        "`/ask question: who led the protest?`",
        "`@citebot who led the protest?`",
        "`!ask who led the protest?`",
        "`since:2024-11-01`",
        "`source:dawn.com`",
        "follow-ups",
        "what did she say next?",
        "**Context**",
        "**More**",
        "👍/👎",
        "`/articles`",
        "`/source article_id:`",
        "`/reindex`",
        "`/add file:`",
        "`/remove article_id:`",
        "'Editors'",
        "it does not write answers",
        "When they don't say, it says so.",
    ):
        assert needed in content, needed


async def posted(fake: FakeDiscord, count: int) -> list[Recorded]:
    await fake.wait_for(lambda: len(fake.sent("POST", POSTED)) >= count)
    return fake.sent("POST", POSTED)


@pytest.mark.asyncio
async def test_slash_help_is_ephemeral(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    asked = fake.slash(bot, "help")
    (reply,) = await fake.wait_answered(asked)
    assert reply is callback(fake, asked)  # answered at once, no deferral
    assert reply.json["type"] == MESSAGE
    assert reply.message["flags"] & EPHEMERAL
    assert_is_help(reply.message["content"])
    assert f"<#{bot.config.bot.qa_channels[0]}>" in reply.message["content"]  # the configured Q&A channel
    assert_safe(fake)


@pytest.mark.asyncio
async def test_prefix_help_a_bare_mention_and_mention_help_answer_with_it(
    http_bot: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = http_bot
    for count, text in enumerate(("!help", f"<@{BOT_ID}>", f"<@{BOT_ID}> help", f"<@!{BOT_ID}> help"), start=1):
        asked = fake.message(bot, text)
        replies = await posted(fake, count)
        reply = replies[-1].json
        assert_is_help(reply["content"])
        assert str(reply["message_reference"]["message_id"]) == asked["id"]  # a reply to what it answers
    assert fake.sent("POST", r"/channels/\d+/messages/\d+/threads") == []  # help starts no thread
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_mention_that_starts_with_help_and_goes_on_is_a_question(
    http_bot: tuple[FakeDiscord, CitebotBot],
) -> None:
    fake, bot = http_bot
    fake.message(bot, f"<@{BOT_ID}> help: who led the protest?")
    (answer,) = await posted(fake, 1)
    assert "Bushra Bibi, led the latest protest" in plain(answer.json["content"])
    assert_safe(fake)


def test_the_filters_in_the_help_are_the_ones_the_code_parses() -> None:
    text = help_text(Config())
    example = re.search(r"e\.g\. `([^`]+)`", text)
    assert example is not None
    filters, question = split_inline(example.group(1))
    assert filters.to_dict() == {"since": "2024-11-01", "source": "dawn.com"}
    assert question == "who led the protest?"
    for key, value in re.findall(r"`(since|until|source|article):([^`<\s]+)`", text):
        assert make_filters(**{key: value}).to_dict()  # every concrete filter shown parses
    assert set(re.findall(r"`(since|until|source|article):", text)) == {"since", "until", "source", "article"}


def test_help_fits_one_message_with_any_configuration() -> None:
    base = Config()
    crowded = dataclasses.replace(
        base.bot,
        command_prefix="?!",
        qa_channels=[10**18 + i for i in range(40)],
        admin_roles=["Editors " * 30, "@everyone", "Night desk"],
    )
    text = help_text(base.replace(bot=crowded))
    assert len(text) <= 2000
    assert "(and 37 more)" in text
    assert "`?!ask who led the protest?`" in text
    assert "@everyone" not in text  # a role named like a ping is inert

    bare = help_text(base.replace(bot=dataclasses.replace(base.bot, command_prefix="", threads=False)))
    assert "!ask" not in bare and "Each command also works as" not in bare
    assert "follow-ups" not in bare  # no threads, no follow-ups there
    assert "Manage Server)" in bare  # no admin roles configured
