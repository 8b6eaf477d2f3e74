"""The Bot subclass: minimal intents, no mentions, cogs and a warm engine set up in ``setup_hook``."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from .errors import citebot_error, report_error
from .replies import NO_MENTIONS

if TYPE_CHECKING:
    # Types only: the engine (and numpy, faiss, the model) is built by __main__ and passed in.
    from index.config import Config
    from index.engine import Engine
    from index.feedback import FeedbackStore

log = logging.getLogger(__name__)
T = TypeVar("T")

COGS = ("bot.cogs.ask", "bot.cogs.corpus", "bot.cogs.help")


def intents_for(config: Config) -> discord.Intents:
    """The smallest set of gateway intents the configured features need.

    - ``guilds``: the server, channel and role cache (role names for the admin check, Q&A channel
      ids, the bot's own member).
    - ``guild_messages``: mentions, Q&A channels and prefix commands arrive as messages.
    - ``message_content`` (privileged, enable it in the developer portal) only when Q&A channels,
      a command prefix or threads are configured: Discord always sends the content of a message
      that mentions the bot, so mentions and slash commands work without it, but not the content
      of other messages, even in a thread the bot started (a follow-up there needs no mention).

    Members and presences are not needed: each message and interaction carries its author's roles.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    settings = config.bot
    intents.message_content = bool(settings.qa_channels) or bool(settings.command_prefix) or settings.threads
    return intents


def guild_config(config: Config, guild_id: int) -> Config:
    """The config of a server listed in ``bot.guilds``: its own corpus and index, the rest shared."""
    guild = config.bot.guilds[guild_id]
    return config.replace(corpus_dir=guild.corpus_dir, index_dir=guild.index_dir)


def make_guild_engines(config: Config, engine: Engine) -> dict[int, Engine]:
    """One engine per server in ``bot.guilds``, each sharing ``engine``'s loaded model and reader.

    The model is loaded here (once) when any server is configured; an engine given an encoder
    also embeds its re-indexes with it, on one thread.
    """
    if not config.bot.guilds:
        return {}
    from index.engine import Engine  # the model stack, imported only when servers need engines

    encoder = engine.encoder
    reader = engine.reader if config.search.read else None
    return {
        guild_id: Engine(guild_config(config, guild_id), encoder=encoder, reader=reader, notice=engine.notice)
        for guild_id in config.bot.guilds
    }


def _warm(engine: Engine) -> str:
    engine.warm_up()  # says nothing when there is no index yet: loaded() raises IndexMissingError then
    return loaded(engine)


def loaded(engine: Engine) -> str:
    """What an engine has loaded, for the one INFO line at start-up: model, index build, articles,
    sentences and whether the reader reranks close calls."""
    config = engine.config
    build = engine.snapshot(check_model=False).build_id
    infos = engine.articles()
    sentences = sum(a.sentences for a in infos)
    return (
        f"model {config.model.name} ({config.model.precision}), index build {build}, "
        f"{len(infos):,} articles, {sentences:,} sentences, reader {'on' if config.search.read else 'off'}"
    )


class CitebotBot(commands.Bot):
    """citebot in Discord: answers questions with cited quotes and lets admins update the index.

    Args:
        config: The loaded configuration (``config.bot`` holds the Discord settings).
        engine: The engine to ask and index with; every call to it runs in a worker thread.
        guild_engines: The engines of the servers in ``bot.guilds``, by guild id (each with its own
            corpus and index); a server without one uses ``engine``.
    """

    def __init__(self, config: Config, engine: Engine, guild_engines: Mapping[int, Engine] | None = None) -> None:
        prefix = config.bot.command_prefix
        super().__init__(
            command_prefix=commands.when_mentioned_or(prefix) if prefix else commands.when_mentioned,
            intents=intents_for(config),
            allowed_mentions=NO_MENTIONS,
            help_command=None,  # discord.py's generated help lists commands; bot.cogs.help says how to ask
            strip_after_prefix=True,
        )
        self.config = config
        self.engine = engine
        self.guild_engines = dict(guild_engines or {})
        missing = set(config.bot.guilds) - set(self.guild_engines)
        if missing:
            # Answering such a server from the default corpus would quote another server's articles.
            raise ValueError(f"no engine for the servers {sorted(missing)} of bot.guilds")
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        # The answers sent and the votes on them (bot.feedback_db), opened in setup_hook; None: the
        # answers go without buttons (the file cannot be opened).
        self.feedback: FeedbackStore | None = None
        # Its own worker: behind a queue of questions for the engine's threads, storing an answer
        # would hold that answer up as long as the questions before it take.
        self._feedback_pool = ThreadPoolExecutor(1, thread_name_prefix="feedback")

    async def setup_hook(self) -> None:
        """Load the cogs, open the feedback database and register the buttons by their custom_id
        patterns (the answers' and the article list's Previous/Next: clicks on messages sent before a
        restart still work), warm the engine up, sync the slash commands: all before the gateway connects."""
        from .pages import PageButton

        self.add_dynamic_items(PageButton)
        await self.load_cogs()
        await self.open_feedback()
        await self.warm_up()
        await self.sync_commands()

    async def open_feedback(self) -> None:
        """Open ``bot.feedback_db`` and teach the bot the buttons' templates (see :mod:`bot.views`)."""
        import sqlite3

        from index.feedback import FeedbackStore

        from .views import register

        path = self.config.bot.feedback_db
        if path is not None:
            try:
                self.feedback = await self.in_feedback(
                    functools.partial(FeedbackStore, keep_days=self.config.bot.feedback_keep_days), path
                )
            except (sqlite3.Error, OSError) as exc:
                log.warning("cannot open the feedback database %s (%s); answers go without buttons", path, exc)
        register(self)

    async def in_feedback(self, call: Callable[..., T], *args: Any) -> T:
        """Run a call of the feedback database on its own worker thread (SQLite waits for the disk)."""
        return await asyncio.get_running_loop().run_in_executor(self._feedback_pool, functools.partial(call, *args))

    async def close(self) -> None:
        await super().close()
        if self.feedback is not None:
            await self.in_feedback(self.feedback.close)
            self.feedback = None
        self._feedback_pool.shutdown(wait=False)

    async def load_cogs(self) -> None:
        """Load one cog per feature."""
        for name in COGS:
            await self.load_extension(name)

    def engine_for(self, guild: discord.abc.Snowflake | None) -> Engine:
        """The engine of a server: its own when ``bot.guilds`` lists it, else the default one."""
        if guild is None:
            return self.engine
        return self.guild_engines.get(guild.id, self.engine)

    async def warm_up(self) -> None:
        """Load the model and every index in a worker thread, so the first question waits for nothing.

        A missing or unusable index is not fatal: questions get its one-line message until an admin
        runs ``/reindex``. Each engine says once, at INFO, what it loaded (or, as a warning, why its
        index is not usable).
        """
        engines: list[tuple[str, Engine]] = [("default", self.engine)]
        engines += [(f"server {guild_id}", e) for guild_id, e in self.guild_engines.items()]
        for name, engine in engines:
            started = time.perf_counter()
            try:
                summary = await asyncio.to_thread(_warm, engine)
            except citebot_error() as exc:
                log.warning("the %s index is not usable yet (%s); /reindex builds it", name, exc)
                continue
            log.info("%s engine ready in %.1f s: %s", name, time.perf_counter() - started, summary)

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


def create_bot(config: Config, engine: Engine, guild_engines: Mapping[int, Engine] | None = None) -> CitebotBot:
    """Build the bot around an engine; nothing connects until ``start``/``run`` (tests drive it directly).

    Args:
        config: The loaded configuration.
        engine: A ready engine (the model loads in ``setup_hook`` at the latest).
        guild_engines: The engines of the servers in ``bot.guilds``; made by :func:`make_guild_engines`
            (sharing ``engine``'s model) when not given.

    Returns:
        The bot, cogs not loaded yet: ``setup_hook`` loads them.
    """
    if guild_engines is None:
        guild_engines = make_guild_engines(config, engine)
    return CitebotBot(config, engine, guild_engines)
