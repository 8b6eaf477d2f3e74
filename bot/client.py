"""The Bot subclass: minimal intents, no mentions, cogs and a warm engine set up in ``setup_hook``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from .errors import citebot_error, report_error
from .replies import NO_MENTIONS

if TYPE_CHECKING:
    # Types only: the engine (and numpy, faiss, the model) is built by __main__ and passed in.
    from index.config import Config
    from index.engine import Engine

log = logging.getLogger(__name__)

COGS = ("bot.cogs.ask", "bot.cogs.corpus")


def intents_for(config: Config) -> discord.Intents:
    """The smallest set of gateway intents the configured features need.

    - ``guilds``: the server, channel and role cache (role names for the admin check, Q&A channel
      ids, the bot's own member).
    - ``guild_messages``: mentions, Q&A channels and prefix commands arrive as messages.
    - ``message_content`` (privileged, enable it in the developer portal) only when Q&A channels or
      a command prefix are configured: Discord always sends the content of a message that mentions
      the bot, so mentions and slash commands work without it.

    Members and presences are not needed: each message and interaction carries its author's roles.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = bool(config.bot.qa_channels) or bool(config.bot.command_prefix)
    return intents


class CitebotBot(commands.Bot):
    """citebot in Discord: answers questions with cited quotes and lets admins update the index.

    Args:
        config: The loaded configuration (``config.bot`` holds the Discord settings).
        engine: The engine to ask and index with; every call to it runs in a worker thread.
    """

    def __init__(self, config: Config, engine: Engine) -> None:
        prefix = config.bot.command_prefix
        super().__init__(
            command_prefix=commands.when_mentioned_or(prefix) if prefix else commands.when_mentioned,
            intents=intents_for(config),
            allowed_mentions=NO_MENTIONS,
            help_command=None,  # the slash command list is the help; a help text would be one more send
            strip_after_prefix=True,
        )
        self.config = config
        self.engine = engine
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        """Load the cogs, warm the engine up, sync the slash commands: all before the gateway connects."""
        await self.load_cogs()
        await self.warm_up()
        await self.sync_commands()

    async def load_cogs(self) -> None:
        """Load one cog per feature."""
        for name in COGS:
            await self.load_extension(name)

    async def warm_up(self) -> None:
        """Load the model and the index in a worker thread, so the first question waits for nothing.

        A missing or unusable index is not fatal: questions get its one-line message until an admin
        runs ``/reindex``.
        """
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.engine.warm_up)
        except citebot_error() as exc:
            log.warning("the index is not usable yet (%s); /reindex builds it", exc)
            return
        log.info("engine warmed up in %.1f s", time.perf_counter() - started)

    async def sync_commands(self) -> None:
        """Register the slash commands: in the test guild only when configured (instant), else globally.

        A refused sync is logged, not fatal: mentions and Q&A channels work without slash commands.
        """
        guild_id = self.config.bot.test_guild
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        try:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d slash commands to guild %s", len(synced), guild_id)
            else:
                # Global commands can take up to an hour to appear in every server.
                synced = await self.tree.sync()
                log.info("synced %d slash commands globally", len(synced))
        except discord.HTTPException as exc:
            log.error(
                "could not sync the slash commands (%s); was the bot invited with the applications.commands "
                "scope, and is it in the test guild?",
                exc,
            )

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s) to %d servers", self.user, self.user and self.user.id, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """Route a message: a known command runs; anything else may be a question for the ask cog."""
        if message.author.bot:
            return  # ourselves included: bots answering bots can loop forever
        ctx = await self.get_context(message)
        if ctx.command is not None:
            await self.invoke(ctx)
            return
        # Not a command ("@citebot who led the protest?" looks like the unknown command "who").
        # Invoking it would only raise CommandNotFound; the ask cog decides if it is a question.
        self.dispatch("plain_message", message)

    async def on_command_error(self, ctx: commands.Context[Any], error: commands.CommandError, /) -> None:
        """The central handler for prefix and hybrid commands (see :mod:`bot.errors`)."""
        await report_error(ctx, error, usage=self.usage(ctx.command) if ctx.command else "")

    def usage(self, command: commands.Command[Any, ..., Any]) -> str:
        """How to call a command, slash and prefix forms: "`/remove article_id:…` or `!remove <article_id>`"."""
        slash = " ".join([f"/{command.qualified_name}", *(f"{name}:…" for name in command.clean_params)])
        prefix = self.config.bot.command_prefix
        text = f"`{slash}`"
        if prefix:
            signature = f" {command.signature}" if command.signature else ""
            text += f" or `{prefix}{command.qualified_name}{signature}`"
        return text

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Failures of plain slash commands (hybrid ones go to :meth:`on_command_error`)."""
        await report_error(await self.get_context(interaction), error)


def create_bot(config: Config, engine: Engine) -> CitebotBot:
    """Build the bot around an engine; nothing connects until ``start``/``run`` (tests drive it directly).

    Args:
        config: The loaded configuration.
        engine: A ready engine (the model loads in ``setup_hook`` at the latest).

    Returns:
        The bot, cogs not loaded yet: ``setup_hook`` loads them.
    """
    return CitebotBot(config, engine)
