"""Asking: ``/ask``, ``!ask``, ``@citebot <question>`` and Q&A channels, all through one ``_answer``."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..errors import report_error
from ..render import render_answer, slow_down_text, usage_text
from ..replies import send

if TYPE_CHECKING:
    from ..client import CitebotBot

log = logging.getLogger(__name__)

Context = commands.Context["CitebotBot"]
# The "type: ignore[arg-type]" on @commands.hybrid_command: mypy solves the decorator's unbound
# type variables as Never and rejects any callback; the commands themselves are fine.


class Ask(commands.Cog):
    """Answer questions about the indexed articles with cited quotes."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        settings = bot.config.bot
        self.max_chars = bot.config.search.max_question_chars
        self.qa_channels = frozenset(settings.qa_channels)
        # One bucket per user, shared by every door: a flood through mentions and slash alike is one flood.
        self._cooldown = commands.CooldownMapping.from_cooldown(
            settings.cooldown_questions, settings.cooldown_seconds, commands.BucketType.user
        )
        # user id -> monotonic time until which a limited user's messages get no more "slow down"
        # replies: answering every message of a flood would turn the bot into the flood.
        self._quiet_until: dict[int, float] = {}

    @commands.hybrid_command(name="ask", description="Ask a question about the indexed news articles")  # type: ignore[arg-type]
    @app_commands.describe(question="What you want to know, e.g. who led the protest?")
    async def ask(self, ctx: Context, *, question: str) -> None:
        """Answer a question with quoted, cited sentences."""
        await self._answer(ctx, question)

    @commands.Cog.listener()
    async def on_plain_message(self, message: discord.Message) -> None:
        """A message that is no command: a question if it mentions the bot or is in a Q&A channel."""
        question = self.question_in(message)
        if question is None:
            return
        ctx = await self.bot.get_context(message)
        await self._answer(ctx, question)

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
        return message.content if mentioned or in_qa else None

    def clean(self, question: str) -> str:
        """The question without mentions of the bot, whitespace collapsed."""
        me = self.bot.user
        if me is not None:
            question = re.sub(rf"<@!?{me.id}>", " ", question)
        return " ".join(question.split())

    async def _answer(self, ctx: Context, question: str) -> None:
        """The one path every door takes: limit, validate, acknowledge, ask in a thread, render, send."""
        try:
            if not await self._within_rate(ctx):
                return
            text = self.clean(question)
            if not text or len(text) > self.max_chars:
                prefix = self.bot.config.bot.command_prefix
                await send(ctx, usage_text(prefix, self.max_chars), ephemeral=True, reply=True)
                return
            started = time.perf_counter()
            # For a slash command this is the deferral (Discord's 3-second deadline is met before any
            # work starts); for a message it shows "citebot is typing…".
            async with ctx.typing():
                answer = await asyncio.to_thread(self.bot.engine.ask, text)
                parts = render_answer(answer)
            for number, part in enumerate(parts):
                await send(ctx, part, reply=number == 0)
            log.info(
                "answered user %s in %.2f s: %s",
                ctx.author.id,
                time.perf_counter() - started,
                "abstained" if answer.abstained else f"{len(answer.citations)} citations",
            )
        except Exception as exc:  # every failure is reported in one place, see bot.errors
            await report_error(ctx, exc, usage=self.bot.usage(self.ask))

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
