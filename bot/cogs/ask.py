"""Asking: ``/ask``, ``!ask``, ``@citebot <question>``, Q&A channels and threads, all through one ``_answer``.

With ``bot.threads`` on, an answer in a text channel starts a public thread on itself, named after
the question; every message in a thread the bot started is a question (no mention needed), answered
in the thread, and each thread remembers its conversation, so "what did she say next?" follows on
from the last quote. A new post in a forum listed in ``bot.qa_channels`` is answered in its own
thread. Filters (``since``, ``until``, ``source``, ``article``) come as ``/ask`` options or inline
(``since:2024-11-01 source:dawn.com who led the protest?``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from ..autocomplete import article_options
from ..chatter import is_question
from ..errors import citebot_error, report_error
from ..help import help_text
from ..render import render_answer, slow_down_text, thread_name, usage_text
from ..replies import post, send
from ..threads import Refusals, ThreadMemory
from ..views import view_for

if TYPE_CHECKING:
    from index.answer.conversation import Conversation
    from index.answer.filters import Filters
    from index.engine import Engine

    from ..client import CitebotBot

log = logging.getLogger(__name__)

Context = commands.Context["CitebotBot"]
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a thread hides after a day without messages, as its conversation expires
SCOPE_CHECK_SECONDS = 1.0  # how long a filter check may hold up the deferral (Discord's deadline: 3 s)


def new_conversation() -> Conversation:
    from index.answer.conversation import Conversation  # the engine's; imported once a thread needs one

    return Conversation()


@dataclass(frozen=True)
class Place:
    """Where a question was asked, for where its answer goes."""

    conversation: Conversation | None  # what the engine reads a follow-up against; None: no memory
    in_thread: bool  # asked in a thread: the answer is a plain message there
    start_thread: bool  # asked in a text channel with threads on: the answer starts a thread


class Ask(commands.Cog):
    """Answer questions about the indexed articles with cited quotes."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        settings = bot.config.bot
        self.max_chars = bot.config.search.max_question_chars
        self.qa_channels = frozenset(settings.qa_channels)
        self.threads = settings.threads
        self.memory: ThreadMemory[Conversation] = ThreadMemory(new_conversation)
        self.refusals = Refusals()
        # One bucket per user, shared by every door: a flood through mentions and slash alike is one flood.
        self._cooldown = commands.CooldownMapping.from_cooldown(
            settings.cooldown_questions, settings.cooldown_seconds, commands.BucketType.user
        )
        # user id -> monotonic time until which a limited user's messages get no more "slow down"
        # replies: answering every message of a flood would turn the bot into the flood.
        self._quiet_until: dict[int, float] = {}

    # --- the doors ------------------------------------------------------------------------------

    # The prefix and slash forms are separate commands: the slash one has filter options, which
    # would turn "!ask who led the protest?" into a question "who" with since="led".
    @commands.command(name="ask")
    async def ask(self, ctx: Context, *, question: str) -> None:
        """Answer a question with quoted, cited sentences."""
        await self._answer(ctx, question)

    @app_commands.command(name="ask", description="Ask a question about the indexed news articles")
    @app_commands.describe(
        question="What you want to know, e.g. who led the protest?",
        since="Only articles from this date on: YYYY-MM-DD, or 7d / 2w for days or weeks back",
        until="Only articles up to this date: YYYY-MM-DD, or 7d / 2w for days or weeks back",
        source="Only articles from this outlet: a domain such as dawn.com, or the article's source",
        article="Only this article (type part of its title)",
    )
    async def ask_slash(
        self,
        interaction: discord.Interaction[CitebotBot],
        question: str,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
        article: str | None = None,
    ) -> None:
        """Answer a question with quoted, cited sentences, within the filters given."""
        ctx = await self.bot.get_context(interaction)
        options = {"since": since, "until": until, "source": source, "article": article}
        await self._answer(ctx, question, options=options)

    @ask_slash.autocomplete("article")
    async def article_autocomplete(
        self, interaction: discord.Interaction[CitebotBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """Articles of this server whose id or title holds what was typed (at most 25)."""
        return await article_options(self.bot, interaction, current)

    @commands.Cog.listener()
    async def on_plain_message(self, message: discord.Message) -> None:
        """A message that is no command: a question if it mentions the bot, is in a Q&A channel or
        in a thread the bot started."""
        question = self.question_in(message)
        if question is None:
            return
        ctx = await self.bot.get_context(message)
        await self._answer(ctx, question)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """A new post in a forum listed in ``bot.qa_channels``: its title and text are the question."""
        me = self.bot.user
        if not self.threads or me is None or thread.owner_id == me.id or not self.is_qa_forum_post(thread):
            return
        starter = thread.starter_message
        if starter is None:
            try:
                starter = await thread.fetch_message(thread.id)  # a forum post's first message has its id
            except discord.HTTPException as exc:
                log.info("cannot read the first message of forum post %s (%s); it is not answered", thread.id, exc)
                return
        if starter.author.bot:
            return
        ctx = await self.bot.get_context(starter)
        await self._answer(ctx, f"{thread.name}\n{starter.content}")

    # --- what is a question ---------------------------------------------------------------------

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks, or None when it is not addressed to the bot."""
        me = self.bot.user
        if me is None or message.author.bot or message.guild is None:
            return None
        # The mention must be in the text: a reply to the bot also lists it in message.mentions,
        # and "thanks!" in reply to an answer is no question.
        mentioned = re.search(rf"<@!?{me.id}>", message.content) is not None
        channel = message.channel
        in_qa = channel.id in self.qa_channels or getattr(channel, "parent_id", None) in self.qa_channels
        if self.threads and message.id == channel.id and self.is_qa_forum_post(channel):
            return None  # the first message of a forum post: on_thread_create answers it, with the title
        in_own_thread = self.threads and self.started_by_me(channel)
        if mentioned:
            return message.content
        # Unaddressed: answered only when it reads as a question (bot.chatter), not "thanks!".
        return message.content if (in_qa or in_own_thread) and is_question(message.content) else None

    def is_qa_forum_post(self, channel: object) -> bool:
        """Whether ``channel`` is a post (a thread) in a forum listed in ``bot.qa_channels``."""
        return (
            isinstance(channel, discord.Thread)
            and channel.parent_id in self.qa_channels
            and isinstance(channel.parent, discord.ForumChannel)
        )

    def started_by_me(self, channel: object) -> bool:
        """Whether ``channel`` is a thread the bot started (remembered, or owned by it in Discord's cache)."""
        me = self.bot.user
        if isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id:
            return True
        return isinstance(channel, discord.Thread | discord.PartialMessageable) and self.memory.started(channel.id)

    def clean(self, question: str) -> str:
        """The question without mentions of the bot, whitespace collapsed."""
        me = self.bot.user
        if me is not None:
            question = re.sub(rf"<@!?{me.id}>", " ", question)
        return " ".join(question.split())

    # --- answering ------------------------------------------------------------------------------

    async def _answer(self, ctx: Context, question: str, *, options: dict[str, str | None] | None = None) -> None:
        """The one path every door takes: limit, validate, acknowledge, ask in a worker thread,
        render, send (starting a thread on the answer, or answering in the thread asked in)."""
        try:
            if not await self._within_rate(ctx):
                return
            text = self.clean(question)
            if not text and ctx.interaction is None:  # a bare "@citebot": what is this bot, how to ask
                await send(ctx, help_text(self.bot.config), reply=True)
                return
            filters = None
            if text and len(text) <= self.max_chars:
                filters, text = self._filters(text, options)  # a bad value: its one-line error, below
            if not text or len(text) > self.max_chars:
                prefix = self.bot.config.bot.command_prefix
                await send(ctx, usage_text(prefix, self.max_chars), ephemeral=True, reply=True)
                return
            engine = self.bot.engine_for(ctx.guild)
            if filters is not None:
                # Before the deferral: after it, Discord would show the refusal to everyone.
                await self._check_scope(engine, filters)
            place = self._place(ctx)
            started = time.perf_counter()
            # For a slash command this is the deferral (Discord's 3-second deadline is met before any
            # work starts); for a message it shows "citebot is typing…".
            async with ctx.typing():
                answer = await asyncio.to_thread(engine.ask, text, filters=filters, conversation=place.conversation)
                parts = render_answer(answer)
                view = await view_for(self.bot, answer)  # stored, so its buttons find it after a restart
            first = await send(ctx, parts[0], reply=not place.in_thread, view=view)
            thread = await self._start_thread(ctx.channel, first, text, place) if place.start_thread else None
            for part in parts[1:]:
                if thread is not None:
                    await post(thread, part)
                else:
                    await send(ctx, part)
            log.info(
                "answered user %s in %.2f s%s: %s",
                ctx.author.id,
                time.perf_counter() - started,
                " (follow-up)" if answer.read_as else "",
                "abstained" if answer.abstained else f"{len(answer.citations)} citations",
            )
        except Exception as exc:  # every failure is reported in one place, see bot.errors
            await report_error(ctx, exc, usage=self.bot.usage(self.ask))

    def _filters(self, text: str, options: dict[str, str | None] | None) -> tuple[Filters | None, str]:
        """The filters written into the question and given as options (options win), and the question
        without them. Raises the engine's QuestionError for a value that does not parse."""
        from index.answer.filters import make_filters, split_inline

        inline, rest = split_inline(text)
        given = options or {}
        filters = inline.overridden_by(
            make_filters(
                since=given.get("since"),
                until=given.get("until"),
                source=given.get("source"),
                article=given.get("article"),
            )
        )
        return (None if filters.is_empty() else filters), rest

    async def _check_scope(self, engine: Engine, filters: Filters) -> None:
        """Refuse, before any deferral, filters that leave no indexed article.

        Reads the article list in a worker thread, for at most a second: when the index is slow to
        load, the engine refuses the question itself after the deferral (the same line, shown to all).
        """
        from index.answer.filters import allowed_articles

        try:
            infos = await asyncio.wait_for(asyncio.to_thread(engine.articles), SCOPE_CHECK_SECONDS)
        except (TimeoutError, citebot_error()):
            return  # the engine asks and refuses with its own words
        allowed_articles(filters, infos)  # raises the engine's own QuestionError when none passes

    def _place(self, ctx: Context) -> Place:
        """In a thread, its conversation; in a text channel, a new one for the thread the answer starts."""
        if not self.threads:
            return Place(None, in_thread=False, start_thread=False)
        channel = ctx.channel
        if isinstance(channel, discord.Thread) or (
            isinstance(channel, discord.PartialMessageable) and channel.id in self.memory
        ):
            return Place(self.memory.conversation(channel.id), in_thread=True, start_thread=False)
        if isinstance(channel, discord.TextChannel) and not self.refusals.refused(channel.id):
            return Place(new_conversation(), in_thread=False, start_thread=True)
        return Place(None, in_thread=False, start_thread=False)  # a DM, a voice chat, a refused channel

    async def _start_thread(
        self, channel: object, answer: discord.Message | None, question: str, place: Place
    ) -> discord.Thread | None:
        """Start a public thread on the answer; where Discord does not allow it, the answer stays a reply.

        For a slash command the answer is the interaction's original response (after a deferral the
        first followup replaces "thinking…"): the thread starts on that message, in the channel the
        command was used in. discord.py returns a followup without its server, so the message is
        named by its channel and id rather than used as returned.
        """
        if answer is None or place.conversation is None or not isinstance(channel, discord.TextChannel):
            return None
        message = channel.get_partial_message(answer.id)
        try:
            thread = await message.create_thread(
                name=thread_name(question), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden as exc:
            # No Create Public Threads permission: the answer is there as a reply. Refused requests
            # count towards Discord's invalid-request limit, so this channel gets replies for a while.
            self.refusals.add(channel.id)
            log.info(
                "may not start threads in channel %s (%s); answering there with replies for the next hour",
                channel.id,
                exc,
            )
            return None
        except (discord.HTTPException, ValueError) as exc:  # a channel type without threads, and the like
            log.info("could not start a thread on answer %s (%s); it stays a reply", message.id, exc)
            return None
        except Exception:  # a bug; the answer is sent all the same, so no apology follows it
            log.exception("unexpected error while starting a thread on answer %s", message.id)
            return None
        self.memory.adopt(thread.id, place.conversation, started=True)
        return thread

    async def _within_rate(self, ctx: Context) -> bool:
        """Count one question against the user's cooldown; say "slow down" when it is exceeded."""
        bucket = self._cooldown.get_bucket(ctx.message)
        retry_after = bucket.update_rate_limit() if bucket is not None else None
        if retry_after is None:
            return True
        now = time.monotonic()
        user = ctx.author.id
        # A slash command must be answered anyway (and only the asker sees it); a flood of messages
        # gets one "slow down" per cooldown window and is then ignored until the window ends.
        if ctx.interaction is not None or now >= self._quiet_until.get(user, 0.0):
            self._quiet_until[user] = now + retry_after
            if len(self._quiet_until) > 1000:
                self._quiet_until = {k: v for k, v in self._quiet_until.items() if v > now}
            await send(ctx, slow_down_text(retry_after), ephemeral=True, reply=True)
        log.info("user %s is asking too fast (retry in %.1f s)", user, retry_after)
        return False


async def setup(bot: CitebotBot) -> None:
    """Extension entry point (``bot.load_extension``)."""
    await bot.add_cog(Ask(bot))
