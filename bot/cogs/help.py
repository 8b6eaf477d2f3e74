"""``/help`` (ephemeral), ``!help`` and ``@citebot help``: the text of :mod:`bot.help`.

A bare ``@citebot`` gets the same text from the ask cog (it is a message with no question in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..help import help_text
from ..replies import send

if TYPE_CHECKING:
    from ..client import CitebotBot

Context = commands.Context["CitebotBot"]


class Help(commands.Cog):
    """What citebot does and how to use it."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    # The prefix and slash forms are separate commands: the prefix one takes the rest of the message,
    # which the slash one has no use for.
    @commands.command(name="help")
    async def help(self, ctx: Context, *, rest: str = "") -> None:
        """What citebot does, how to ask, the filters, the admin commands and what it cannot do.

        "@citebot help me understand the strike" is no call for help but a question: with words
        after it, a mention is handed to the ask cog as any message that is not a command.
        """
        if rest.strip() and ctx.prefix != self.bot.config.bot.command_prefix:
            self.bot.dispatch("plain_message", ctx.message)
            return
        await send(ctx, help_text(self.bot.config), reply=True)

    @app_commands.command(name="help", description="What citebot does and how to ask it")
    async def help_slash(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """The help text, to the one who asked only."""
        await send(await self.bot.get_context(interaction), help_text(self.bot.config), ephemeral=True)


async def setup(bot: CitebotBot) -> None:
    """Extension entry point (``bot.load_extension``)."""
    await bot.add_cog(Help(bot))
