"""Autocomplete for every option that takes an article id: ``/ask article``, ``/remove``, ``/source``.

One function, so the three options offer the same choices (:func:`bot.render.article_choices`:
ids and titles holding what was typed, at most 25) and fail the same way: quietly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from discord import app_commands

from .errors import citebot_error
from .render import article_choices

if TYPE_CHECKING:
    import discord

    from .client import CitebotBot

log = logging.getLogger(__name__)

AUTOCOMPLETE_SECONDS = 2.0  # choices must reach Discord within 3 s; none are better than a late list


async def article_options(
    bot: CitebotBot, interaction: discord.Interaction[CitebotBot], current: str
) -> list[app_commands.Choice[str]]:
    """The articles of the interaction's server whose id or title holds ``current`` (at most 25).

    No index yet, a damaged one, or every worker busy: no choices this time. A member typing sees
    an empty list, never an error text (autocomplete has no room for one, and it would be the
    server's detail); the log says why at DEBUG, since this runs at every keystroke.
    """
    engine = bot.engine_for(interaction.guild)
    try:
        infos = await asyncio.wait_for(asyncio.to_thread(engine.articles), AUTOCOMPLETE_SECONDS)
    except TimeoutError:
        log.debug("no article choices for user %s: the article list took too long", interaction.user.id)
        return []
    except citebot_error() as exc:
        log.debug("no article choices for user %s: %s", interaction.user.id, exc)
        return []
    return [app_commands.Choice(name=name, value=value) for name, value in article_choices(infos, current)]
