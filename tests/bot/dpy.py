"""dpytest 0.7 around the real bot, with the workarounds discord.py 2.7 needs (each explained).

dpytest replaces the bot's HTTP client and gateway with an in-memory fake, so message commands,
mentions and Q&A-channel messages run through the real bot and the real engine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import discord
import discord.abc
import discord.ext.test as dpytest
from discord.ext.test import backend, factories
from discord.ext.test import runner as dpytest_runner

from bot.client import CitebotBot


@dataclass
class Harness:
    """The configured bot and its little world: a guild, channels, members, recorded payloads."""

    bot: CitebotBot
    guild: discord.Guild
    general: discord.TextChannel
    qa: discord.TextChannel
    reader: discord.Member  # no admin rights
    editor: discord.Member  # has the "Editors" role named in the config
    other_bot: discord.Member
    payloads: list[dict[str, Any]] = field(default_factory=list)  # JSON bodies of every sent message
    downloads: list[str] = field(default_factory=list)  # attachment URLs the bot read

    @property
    def mention(self) -> str:
        """How a member mentions the bot in a message."""
        assert self.bot.user is not None
        return f"<@{self.bot.user.id}>"

    async def say(
        self,
        content: str,
        *,
        member: discord.Member | None = None,
        channel: discord.TextChannel | None = None,
        attachments: list[Path] | None = None,
    ) -> discord.Message:
        """Post a message as a member and wait until the bot has finished reacting to it.

        Unlike ``dpytest.message``, attachments carry their real size and a file:// URL
        (dpytest's own helper says size 0, which would make a size cap untestable).

        Raises:
            Exception: A command error, after the bot's error handler has replied (dpytest
                re-raises them so a test can't miss one).
        """
        made = [backend.make_attachment(path) for path in attachments or []]
        message = backend.make_message(content, member or self.reader, channel or self.general, attachments=made)
        await dpytest.run_all_events()
        if not dpytest_runner.error_queue.empty():
            _, error = await dpytest_runner.error_queue.get()
            raise error
        return message

    def replies(self) -> list[discord.Message]:
        """Take every message the bot sent since the last call."""
        out = []
        while not dpytest_runner.sent_queue.empty():
            out.append(dpytest.get_message())
        return out


async def configure(bot: CitebotBot, qa_channel_id: int, admin_role: str) -> Harness:
    """Configure dpytest around ``bot``; load its cogs as ``setup_hook`` would.

    Workarounds for dpytest 0.7.0 with discord.py 2.7:
    - ``login()`` is never called, so the bot's event loop is set with ``_async_setup_hook()`` and
      again on dpytest's state (typing indicators need it).
    - dpytest adds members through GUILD_MEMBER_ADD, which discord.py caches only with the members
      intent. The bot does not need that intent (messages carry their author's member data), so only
      the fake state gets it, for the test members to exist.
    - Commands are not synced (dpytest has no HTTP API); the loopback tests cover syncing.
    """
    await bot._async_setup_hook()
    flags = discord.MemberCacheFlags.none()
    flags.joined = True
    bot._connection.member_cache_flags = flags
    bot._connection._intents.members = True
    dpytest.configure(bot, members=["reader", "editor"])
    bot._connection.loop = asyncio.get_running_loop()
    await bot.load_cogs()

    config = dpytest.get_config()
    guild = config.guilds[0]
    general = config.channels[0]
    qa = backend.make_text_channel("ask-citebot", guild, id_num=qa_channel_id)
    reader, editor = config.members
    role = backend.make_role(admin_role, guild)
    await dpytest.add_role(editor, role)
    state: Any = backend.get_state()
    other_bot = backend.make_member(
        state.store_user(factories.make_user_dict("newsfeed", "0003", None, bot=True)), guild
    )
    harness = Harness(
        bot,
        guild,
        cast(discord.TextChannel, general),
        qa,
        cast(discord.Member, guild.get_member(reader.id)),
        cast(discord.Member, guild.get_member(editor.id)),
        other_bot,
    )

    read = bot.http.get_from_cdn

    async def recording_read(url: str) -> bytes:
        harness.downloads.append(url)
        return await read(url)

    bot.http.get_from_cdn = recording_read  # type: ignore[method-assign]
    return harness


def record_payloads(monkeypatch: Any, harness: Harness) -> None:
    """Record the JSON body of every message the bot sends.

    dpytest turns a send into a message object and drops ``allowed_mentions``; the body is built
    by ``handle_message_parameters`` before that, so it is recorded there.
    """
    build = discord.abc.handle_message_parameters

    def recording(*args: Any, **kwargs: Any) -> Any:
        params = build(*args, **kwargs)
        harness.payloads.append(params.payload or {})
        return params

    monkeypatch.setattr(discord.abc, "handle_message_parameters", recording)
