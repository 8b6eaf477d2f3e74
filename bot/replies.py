"""Every message the bot sends goes through here: no mentions, no link previews, within the limit."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from .render import MESSAGE_LIMIT, neutralize_mentions, shorten

if TYPE_CHECKING:
    from discord.ext import commands

log = logging.getLogger(__name__)

# Passed on every send, besides being the bot's default: an article or a question that contains
# @everyone, @here, <@id> or <@&id> must never ping anyone, even through a reply.
NO_MENTIONS = discord.AllowedMentions.none()


async def send(
    ctx: commands.Context[Any],
    text: str,
    *,
    ephemeral: bool = False,
    reply: bool = False,
    view: discord.ui.View | None = None,
) -> discord.Message | None:
    """Send ``text`` in answer to ``ctx``: a followup after a deferred interaction, else a message.

    Args:
        ctx: The command or question context (an interaction or a message).
        text: The content; made inert and cut to Discord's limit in case a caller forgot.
        ephemeral: Only the asker sees it (interactions only; ignored for messages).
        reply: Thread the message to the question (messages only): in a busy channel the answer
            must point at what it answers. It mentions nobody, the author included.
        view: Buttons under the message.

    Returns:
        The sent message, if Discord returned one.
    """
    content = shorten(neutralize_mentions(text), MESSAGE_LIMIT)
    reference = None
    if reply and ctx.interaction is None and ctx.message is not None:
        # A deleted question must not make the answer fail.
        reference = ctx.message.to_reference(fail_if_not_exists=False)
    return await ctx.send(
        content,
        allowed_mentions=NO_MENTIONS,
        suppress_embeds=True,  # no previews for links inside quotes either
        ephemeral=ephemeral,
        reference=reference,  # type: ignore[arg-type]  # None is accepted: no reference
        view=view,  # type: ignore[arg-type]  # None is accepted: no buttons
    )


async def post(channel: discord.abc.Messageable, text: str) -> discord.Message:
    """Send ``text`` into ``channel`` (a thread the bot started, mostly), with the same guarantees as
    :func:`send`: no mentions, no link previews, within the limit."""
    content = shorten(neutralize_mentions(text), MESSAGE_LIMIT)
    return await channel.send(content, allowed_mentions=NO_MENTIONS, suppress_embeds=True)


async def update(interaction: discord.Interaction[Any], text: str, *, view: discord.ui.View | None) -> None:
    """Edit the message a button is under into ``text`` and ``view`` (None: no buttons), with the
    guarantees of :func:`send`: in place when the click is not answered yet (callback type 7), else
    through the original response after a deferral."""
    content = shorten(neutralize_mentions(text), MESSAGE_LIMIT)
    if interaction.response.is_done():
        await interaction.edit_original_response(content=content, view=view, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.edit_message(
            content=content, view=view, allowed_mentions=NO_MENTIONS, suppress_embeds=True
        )


async def respond(
    interaction: discord.Interaction[Any], texts: list[str], *, view: discord.ui.View | None = None
) -> None:
    """Answer a button click or a menu choice with messages only the clicker sees: the first as the
    interaction's response (with ``view`` under it), the rest as followups; the same guarantees as
    :func:`send` (no mentions, no link previews, within the limit), the no-mentions rule spelled
    out on each, as the bot's default does not reach interaction responses on its own."""
    first, *rest = [shorten(neutralize_mentions(t), MESSAGE_LIMIT) for t in texts]
    response = interaction.response
    if view is None:
        await response.send_message(first, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True)
    else:
        await response.send_message(
            first, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True, view=view
        )
    for text in rest:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True)
