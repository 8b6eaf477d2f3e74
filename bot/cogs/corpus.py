"""Managing the index (admins): ``/reindex``, ``/add``, ``/remove``; ``/articles`` and ``/source`` for everyone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from ..autocomplete import article_options
from ..checks import is_admin
from ..errors import ALREADY_INDEXING
from ..pages import no_such_page, page_view
from ..render import page_of, render_articles, render_report, render_source
from ..replies import send

if TYPE_CHECKING:
    from index.engine import Engine
    from index.models import BuildReport

    from ..client import CitebotBot

log = logging.getLogger(__name__)

Context = commands.Context["CitebotBot"]
OPENING_SENTENCES = 3  # what /source quotes of an article
# The "type: ignore[arg-type]" on @commands.hybrid_command: mypy solves the decorator's unbound
# type variables as Never and rejects any callback; the commands themselves are fine.


class Corpus(commands.Cog):
    """Re-index the corpus folder, add an article by file or URL, remove one, list them."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        # One index write at a time per index (each server in bot.guilds has its own). The engine
        # refuses a second writer too (BusyError, also across processes); the lock lets the bot
        # answer "already re-indexing" before deferring or downloading.
        self._locks: dict[int, asyncio.Lock] = {}
        # Discord's own hint hides these commands from members without Manage Server. With admin
        # roles configured it would hide them from those roles too, so it is then left off and the
        # bot's check alone decides (it decides in every case; the hint is cosmetic).
        hint = None if bot.config.bot.admin_roles else discord.Permissions(manage_guild=True)
        admin_only: list[commands.HybridCommand[Any, ..., Any]] = [self.reindex, self.add, self.remove]
        for command in admin_only:
            if command.app_command is not None:
                command.app_command.default_permissions = hint

    # --- writing ------------------------------------------------------------------------------

    @commands.hybrid_command(name="reindex", description="Rescan the corpus folder and update the index (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @is_admin()
    async def reindex(self, ctx: Context) -> None:
        """Rescan the corpus folder: embed new and changed articles, drop removed ones."""
        engine = self.bot.engine_for(ctx.guild)
        await self._write(ctx, engine, "Re-index", lambda: asyncio.to_thread(engine.rebuild))

    @commands.hybrid_command(name="add", description="Add an article from a .txt/.md/.html file or a URL (admins)")  # type: ignore[arg-type]
    @app_commands.describe(file="A .txt, .md or .html article", url="An http(s) link to an article")
    @commands.guild_only()
    @is_admin()
    async def add(self, ctx: Context, file: discord.Attachment | None = None, url: str | None = None) -> None:
        """Add or update one article from an attached file or an http(s) URL."""
        if (file is None) == (url is None):
            await send(ctx, "Attach one .txt, .md or .html file, or give one http(s) URL.", ephemeral=True)
            return
        engine = self.bot.engine_for(ctx.guild)
        if file is not None:
            cap = self.bot.config.bot.max_attachment_bytes
            # Discord reports the size before anything is downloaded: a file over the cap is never fetched.
            if file.size > cap:
                await send(
                    ctx,
                    f"{file.filename} is {file.size:,} bytes, over the limit of {cap:,} "
                    "(bot.max_attachment_bytes); nothing was downloaded or indexed.",
                    ephemeral=True,
                )
                return
            attachment = file
            await self._write(
                ctx, engine, f"Add {file.filename}", lambda: self._add_attachment(engine, attachment, cap)
            )
        else:
            link = (url or "").strip()
            await self._write(ctx, engine, "Add from URL", lambda: asyncio.to_thread(engine.add_url, link))

    async def _add_attachment(self, engine: Engine, file: discord.Attachment, cap: int) -> BuildReport:
        data = await file.read()
        if len(data) > cap:  # the reported size was wrong; refuse what arrived all the same
            from index.errors import ArticleError

            raise ArticleError(f"{file.filename} is {len(data):,} bytes, over the limit of {cap:,}")
        return await asyncio.to_thread(engine.add_bytes, file.filename, data)

    @commands.hybrid_command(name="remove", description="Remove an article from the index by its id (admins)")  # type: ignore[arg-type]
    @app_commands.describe(article_id="The article's id, as /articles shows it (type part of its title)")
    @commands.guild_only()
    @is_admin()
    async def remove(self, ctx: Context, article_id: str) -> None:
        """Remove one article (its file moves to corpus/.removed/)."""
        article_id = article_id.strip().strip("`")
        engine = self.bot.engine_for(ctx.guild)
        await self._write(ctx, engine, f"Remove {article_id}", lambda: asyncio.to_thread(engine.remove, article_id))

    async def _write(self, ctx: Context, engine: Engine, title: str, job: Callable[[], Awaitable[BuildReport]]) -> None:
        """Run one write at a time on an index; a second one is told so at once instead of queueing."""
        lock = self._locks.setdefault(id(engine), asyncio.Lock())
        if lock.locked() or engine.busy:
            await send(ctx, ALREADY_INDEXING, ephemeral=True)
            return
        async with lock:
            log.info("%s by user %s started", ctx.command, ctx.author.id)
            # Deferral for a slash command; questions keep being answered from the old index meanwhile.
            async with ctx.typing():
                report = await job()
            log.info(
                "%s by user %s: %d added, %d updated, %d removed, %d skipped in %.1f s",
                ctx.command,
                ctx.author.id,
                len(report.added),
                len(report.updated),
                len(report.removed),
                len(report.skipped),
                report.seconds,
            )
            await send(ctx, render_report(report, title=title))

    # --- reading ------------------------------------------------------------------------------

    @commands.hybrid_command(name="articles", description="List the indexed articles")  # type: ignore[arg-type]
    @app_commands.describe(page="Page number")
    async def articles(self, ctx: Context, page: commands.Range[int, 1, 10_000] = 1) -> None:
        """List the indexed articles, a page at a time, with Previous/Next buttons (open to everyone:
        it only reads). A page past the end is answered with how many pages there are."""
        async with ctx.typing():  # reading may reload a newly published index
            infos = await asyncio.to_thread(self.bot.engine_for(ctx.guild).articles)
        prefix = self.bot.config.bot.command_prefix
        listing = page_of(infos, page, self.bot.config.bot.articles_page_size)
        if infos and page > listing.pages:
            # In the channel like the list itself: after the public deferral Discord shows it there anyway.
            await send(ctx, no_such_page(page, listing, prefix=prefix))
            return
        await send(ctx, render_articles(listing, prefix=prefix), view=page_view(listing))

    @commands.hybrid_command(name="source", description="Show an article: its title, date, link and first sentences")  # type: ignore[arg-type]
    @app_commands.describe(article_id="The article's id, as /articles shows it (type part of its title)")
    async def source(self, ctx: Context, article_id: str) -> None:
        """Show one article: title, id, date, link, how many sentences, and its opening.

        Ephemeral: it is a look-up for the one who asks (which article is this id, before
        ``/ask article:`` or ``/remove``), so it does not fill the channel with an article's opening;
        anything worth showing everyone is one ``/ask`` away, with its quotes cited. (A prefix
        command cannot be ephemeral: ``!source`` answers in the channel.)
        """
        article_id = article_id.strip().strip("`")
        engine = self.bot.engine_for(ctx.guild)
        async with ctx.typing(ephemeral=True):  # the deferral is ephemeral, so is every reply after it
            passage = await asyncio.to_thread(engine.passage, article_id, 1, OPENING_SENTENCES)
        await send(ctx, render_source(passage), ephemeral=True)

    @remove.autocomplete("article_id")
    @source.autocomplete("article_id")
    async def article_id_autocomplete(
        self, interaction: discord.Interaction[CitebotBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """Articles of this server whose id or title holds what was typed (at most 25), as for ``/ask``."""
        return await article_options(self.bot, interaction, current)


async def setup(bot: CitebotBot) -> None:
    """Extension entry point (``bot.load_extension``)."""
    await bot.add_cog(Corpus(bot))
