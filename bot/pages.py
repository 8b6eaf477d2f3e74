"""``/articles`` a page at a time: Previous/Next buttons that keep working after a restart.

Each button's ``custom_id`` names the page it opens (``citebot:articles:3``): a
:class:`discord.ui.DynamicItem` registered in ``setup_hook`` parses it, so the buttons under a list
sent before a restart still work, without the bot remembering any message. A click edits that
message in place (interaction callback type 7) with the page read from the index at that moment,
for whoever clicks: the list is public, like the message it is in.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from .errors import report_interaction_error
from .render import ArticlePage, page_of, render_articles
from .replies import update

if TYPE_CHECKING:
    from .client import CitebotBot

log = logging.getLogger(__name__)

CUSTOM_ID = "citebot:articles:{page}"
READ_SECONDS = 2.0  # Discord wants an answer to a click within 3 s; a slower read defers, then edits


def no_such_page(number: int, page: ArticlePage, *, prefix: str = "") -> str:
    """The reply to a page number past the end: how many pages (and articles) there are."""
    pages = f"{page.pages} page{'s' if page.pages != 1 else ''}"
    articles = f"{page.total} article{'s' if page.total != 1 else ''}"
    last = f"`/articles page:{page.pages}`" + (f" or `{prefix}articles {page.pages}`" if prefix else "")
    return f"There is no page {number:,}: the list has {pages} ({articles}). The last one is {last}."


def page_view(page: ArticlePage) -> discord.ui.View | None:
    """Previous and Next under a page, each disabled at its end; none when everything fits one page."""
    if page.pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(page.number - 1, label="Previous", disabled=page.number <= 1))
    view.add_item(PageButton(page.number + 1, label="Next", disabled=page.number >= page.pages))
    return view


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(CUSTOM_ID.format(page=r"(?P<page>[0-9]{1,6})")),
):
    """A button that shows page ``page`` of the article list in the message it is under."""

    def __init__(self, page: int, *, label: str, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=CUSTOM_ID.format(page=page),
                disabled=disabled,
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(int(match["page"]), label=label or "Page")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await show_page(interaction, self.page)


async def show_page(interaction: discord.Interaction[CitebotBot], number: int) -> None:
    """Edit the clicked message into page ``number`` of the article list.

    The page is clamped to what exists now: after a removal, the Next of an older list may point
    past the end, and the last page is the useful answer to that click. Failures get the one policy
    of :mod:`bot.errors`, told to the one who clicked only.
    """
    bot = interaction.client
    try:
        read = asyncio.ensure_future(asyncio.to_thread(bot.engine_for(interaction.guild).articles))
        done, _ = await asyncio.wait({read}, timeout=READ_SECONDS)
        if not done:
            await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: the edit follows
        infos = await read
        page = page_of(infos, number, bot.config.bot.articles_page_size)
        text = render_articles(page, prefix=bot.config.bot.command_prefix)
        await update(interaction, text, view=page_view(page))
        log.info("user %s turned the article list to page %d", interaction.user.id, page.number)
    except Exception as exc:  # every failure is reported in one place, see bot.errors
        await report_interaction_error(interaction, exc, what="articles page")
