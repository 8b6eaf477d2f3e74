"""The bot's wiring: minimal intents, no mentions by default, the cogs and commands it loads."""

from __future__ import annotations

import dataclasses

import pytest

from bot.client import COGS, create_bot, intents_for
from index.config import Config
from index.engine import Engine


def with_bot(config: Config, **changes: object) -> Config:
    return config.replace(bot=dataclasses.replace(config.bot, **changes))


def test_intents_are_minimal() -> None:
    default = intents_for(Config())  # prefix "!": prefix commands need the message text
    assert default.guilds and default.guild_messages and default.message_content
    assert not (default.members or default.presences or default.dm_messages or default.guild_reactions)

    mentions_only = intents_for(with_bot(Config(), command_prefix="", qa_channels=[], threads=False))
    assert mentions_only.guilds and mentions_only.guild_messages
    assert not mentions_only.message_content  # mentions and slash commands work without it

    qa = intents_for(with_bot(Config(), command_prefix="", qa_channels=[1], threads=False))
    assert qa.message_content

    # Discord sends the text of a message in a thread the bot started only with the intent, and a
    # follow-up there needs no mention.
    threads = intents_for(with_bot(Config(), command_prefix="", qa_channels=[], threads=True))
    assert threads.message_content


@pytest.mark.asyncio
async def test_the_bot_pings_nobody_by_default_and_loads_every_cog(news_engine: Engine) -> None:
    bot = create_bot(news_engine.config, news_engine)
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == {"parse": []}
    await bot._async_setup_hook()
    await bot.load_cogs()
    assert set(bot.extensions) == set(COGS)
    names = {"ask", "reindex", "add", "remove", "articles", "source", "help"}
    assert {c.name for c in bot.commands} == names
    assert {c.name for c in bot.tree.get_commands()} == names
    await bot.close()
