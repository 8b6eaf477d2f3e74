"""The buttons under every answer: Context, More, 👍 and 👎, and the menu that asks what was wrong.

They are persistent: each is a :class:`discord.ui.DynamicItem` whose ``custom_id`` carries the key
under which the answer was stored in the feedback database (:mod:`index.feedback`), e.g.
``citebot:ctx:k3j9x0q2m1ab``; :func:`register` (called from ``setup_hook``) teaches the bot the
templates, so a click on an answer sent before a restart still works. Every reply to a click is
ephemeral: only the clicker sees it.

- **Context**: each quoted sentence with two neighbours on each side, the quote in bold, with the
  article's title, date, link and the sentence numbers.
- **More**: the next best quotes, not shown in the answer (the button is left out when there are none).
- **👍** records that the answer helped; **👎** asks which quote was wrong, whether none of them
  answers, or whether it should have said it doesn't know. One vote per user and answer: a second
  click changes the first. Users are kept as salted hashes of their ids, never names.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from .errors import APOLOGY, citebot_error
from .render import (
    MESSAGE_LIMIT,
    TITLE_CHARS,
    escape,
    neutralize_mentions,
    render_quotes,
    shorten,
    source_link,
)
from .replies import respond, update

if TYPE_CHECKING:
    from index.feedback import FeedbackStore, StoredAnswer
    from index.models import Answer, Citation, Passage

    from .client import CitebotBot

log = logging.getLogger(__name__)

KEY = r"(?P<key>[0-9a-z]{1,32})"  # index.feedback.KEY_PATTERN (not imported: this module stays light)
NEIGHBOURS = 2  # sentences shown on each side of a quote by Context
CONTEXT_SECONDS = 2.0  # reading the passages; Discord wants the reply within 3 s
OPTION_CHARS = 100  # characters of a select option's description (and label)
GONE_TEXT = "That answer is no longer stored, so its buttons do nothing any more; please ask again."
NO_MORE_TEXT = "There are no more quotes for this answer."
WHAT_WAS_WRONG = "What was wrong with this answer?"


# --- the view -----------------------------------------------------------------------------------


def answer_view(key: str, *, more: bool) -> discord.ui.View:
    """The buttons of the answer stored under ``key``, in one row; More only when there is more.

    No timeout: the items are dynamic and answered through their templates, whenever they are clicked.
    """
    view = discord.ui.View(timeout=None)
    view.add_item(ContextButton(key))
    if more:
        view.add_item(MoreButton(key))
    view.add_item(UpButton(key))
    view.add_item(DownButton(key))
    return template_only(view)


def template_only(view: discord.ui.View) -> discord.ui.View:
    """``view`` stopped before it is sent: discord.py sends its components but does not keep it.

    Clicks reach the items through the templates :func:`register` added, whoever sent the view and
    whenever. A view discord.py kept would only cost a timer (an ephemeral one is given 15 minutes
    whatever its timeout), and when it ended, discord.py's ``ViewStore.remove_view`` could take its
    items' templates out of the registry with it (it does when other items are kept without a
    message id), after which no click on any answer would be answered until a restart.
    """
    view.stop()
    return view


async def view_for(bot: CitebotBot, answer: Answer) -> discord.ui.View | None:
    """Store ``answer`` and return the buttons that go under it; None when there is nothing to act
    on (a plain abstention) or no feedback database to store it in (the answer goes without)."""
    store = bot.feedback
    if store is None or not (answer.citations or answer.closest):
        return None
    try:
        key = await bot.in_feedback(store.save_answer, answer)
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not store the answer for its buttons (%s); it is sent without them", exc)
        return None
    return answer_view(key, more=bool(answer.more) and not answer.abstained)


def register(bot: discord.Client) -> None:
    """Teach ``bot`` the buttons' templates (from ``setup_hook``): clicks on old answers work."""
    bot.add_dynamic_items(ContextButton, MoreButton, UpButton, DownButton, WhySelect)


class _AnswerButton:
    """What the four buttons share: the answer's key in the custom_id ``citebot:<action>:<key>``, made
    back from a click's custom_id, and a click guarded by :func:`_guarded`. Mixed in before
    :class:`discord.ui.DynamicItem`, which each button names with its own template."""

    action: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, key: str) -> None:
        button = discord.ui.Button[Any](
            label=self.label, style=discord.ButtonStyle.secondary, custom_id=f"citebot:{self.action}:{key}"
        )
        super().__init__(button)  # type: ignore[call-arg]  # DynamicItem's, next in every button's MRO
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Any:
        return cls(match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _guarded(interaction, self.act(interaction))

    def act(self, interaction: discord.Interaction[Any]) -> Coroutine[Any, Any, None]:
        raise NotImplementedError


class ContextButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citebot:ctx:{KEY}"):
    action, label = "ctx", "Context"

    def act(self, interaction: discord.Interaction[Any]) -> Coroutine[Any, Any, None]:
        return show_context(interaction, self.key)


class MoreButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citebot:more:{KEY}"):
    action, label = "more", "More"

    def act(self, interaction: discord.Interaction[Any]) -> Coroutine[Any, Any, None]:
        return show_more(interaction, self.key)


class UpButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citebot:up:{KEY}"):
    action, label = "up", "👍"

    def act(self, interaction: discord.Interaction[Any]) -> Coroutine[Any, Any, None]:
        return vote_up(interaction, self.key)


class DownButton(_AnswerButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"citebot:down:{KEY}"):
    action, label = "down", "👎"

    def act(self, interaction: discord.Interaction[Any]) -> Coroutine[Any, Any, None]:
        return ask_what_was_wrong(interaction, self.key)


class WhySelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=rf"citebot:why:{KEY}"):
    """The menu under 👎's question: which quote was wrong, none answers, or it should not have answered."""

    def __init__(self, key: str, options: list[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"citebot:why:{key}", placeholder="Choose what was wrong", options=options, min_values=1
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WhySelect:
        options = list(item.options) if isinstance(item, discord.ui.Select) else []
        return cls(match["key"], options)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        await _guarded(interaction, vote_why(interaction, self.key, values[0] if values else ""))


# --- what a click does --------------------------------------------------------------------------


def _store(interaction: discord.Interaction[Any]) -> FeedbackStore | None:
    return getattr(interaction.client, "feedback", None)


async def _stored(interaction: discord.Interaction[Any], key: str) -> StoredAnswer | None:
    """The answer behind a click; when it is gone, the clicker is told so in one line."""
    store = _store(interaction)
    stored = await interaction.client.in_feedback(store.answer, key) if store is not None else None
    if stored is None:
        await respond(interaction, [GONE_TEXT])
    return stored


async def show_context(interaction: discord.Interaction[Any], key: str) -> None:
    stored = await _stored(interaction, key)
    if stored is None:
        return
    bot: CitebotBot = interaction.client
    engine = bot.engine_for(interaction.guild)
    numbered = _numbered(stored)

    def read() -> list[tuple[int, Citation, Passage | None]]:
        from index.errors import NotFoundError

        out: list[tuple[int, Citation, Passage | None]] = []
        for number, c in numbered:
            try:
                passage = engine.passage(c.article_id, c.sentence - NEIGHBOURS, c.sentence + NEIGHBOURS)
            except NotFoundError:
                passage = None
            out.append((number, c, passage))
        return out

    try:
        passages = await asyncio.wait_for(asyncio.to_thread(read), CONTEXT_SECONDS)
    except TimeoutError:
        await respond(interaction, ["The index is busy loading; please try Context again in a moment."])
        return
    await respond(interaction, render_context(passages))


async def show_more(interaction: discord.Interaction[Any], key: str) -> None:
    stored = await _stored(interaction, key)
    if stored is None:
        return
    if not stored.more:
        await respond(interaction, [NO_MORE_TEXT])
        return
    await respond(interaction, render_quotes(stored.more, first=len(stored.shown) + 1))


async def vote_up(interaction: discord.Interaction[Any], key: str) -> None:
    stored = await _stored(interaction, key)
    if stored is None:
        return
    await respond(interaction, [await _vote(interaction, stored, "up")])


async def ask_what_was_wrong(interaction: discord.Interaction[Any], key: str) -> None:
    stored = await _stored(interaction, key)
    if stored is None:
        return
    view = discord.ui.View(timeout=None)
    view.add_item(WhySelect(key, why_options(stored)))
    await respond(interaction, [WHAT_WAS_WRONG], view=template_only(view))


async def vote_why(interaction: discord.Interaction[Any], key: str, verdict: str) -> None:
    store = _store(interaction)
    stored = await interaction.client.in_feedback(store.answer, key) if store is not None else None
    if stored is None:
        await update(interaction, GONE_TEXT, view=None)
        return
    await update(interaction, await _vote(interaction, stored, verdict), view=None)


async def _vote(interaction: discord.Interaction[Any], stored: StoredAnswer, verdict: str) -> str:
    """Record the clicker's verdict; the line that thanks them (or says their vote changed)."""
    store = _store(interaction)
    assert store is not None  # _stored found the answer in it
    try:
        previous = await interaction.client.in_feedback(store.vote, stored.key, interaction.user.id, verdict)
    except ValueError:
        return "That choice is not one I know; please use the menu again."
    log.info("vote on answer %s: %s%s", stored.key, verdict, " (changed)" if previous else "")
    said = describe_verdict(verdict, closest=not stored.citations)
    if previous is None:
        return f"Thanks, noted: {said}."
    if previous == verdict:
        return f"You had already said so: {said}."
    return f"Changed your vote: {said}."


async def _guarded(interaction: discord.Interaction[Any], work: Any) -> None:
    """Run a click's work; a user error is said in one line, a bug is logged and apologised for."""
    try:
        await work
    except Exception as exc:
        if isinstance(exc, citebot_error()):
            text = str(exc)[:1].upper() + str(exc)[1:]
        else:
            log.exception("unexpected error in a button of an answer")
            text = APOLOGY
        try:
            if interaction.response.is_done():
                return
            await respond(interaction, [text])
        except discord.HTTPException as failed:
            log.warning("could not reply to a click: %s", failed)


# --- rendering ----------------------------------------------------------------------------------


def _numbered(stored: StoredAnswer) -> list[tuple[int, Citation]]:
    """The shown quotes with their numbers; the closest sentence of an abstention has none (0)."""
    if stored.citations:
        return list(enumerate(stored.citations, start=1))
    return [(0, c) for c in stored.shown]


def describe_verdict(verdict: str, *, closest: bool = False) -> str:
    if verdict == "up":
        return "this answer helped"
    if verdict == "none":
        return "none of the quotes answers the question"
    if verdict == "abstain":
        return "it should have said it doesn't know"
    if closest:
        return "the closest sentence does not answer"
    return f"quote {verdict.split(':', 1)[1]} is wrong"


def why_options(stored: StoredAnswer) -> list[discord.SelectOption]:
    """The menu's choices: each quote, "none of them answers", "it should have said it doesn't know"."""
    options = []
    for number, c in _numbered(stored)[:10]:
        label = f"Quote {number} is wrong" if number else "The closest sentence does not answer"
        quote = neutralize_mentions(shorten(" ".join(c.shown_text.split()), OPTION_CHARS))
        options.append(discord.SelectOption(label=label, value=f"wrong:{number or 1}", description=quote))
    options.append(discord.SelectOption(label="None of them answers", value="none"))
    options.append(discord.SelectOption(label="It should have said it doesn't know", value="abstain"))
    return options


def render_context(passages: list[tuple[int, Citation, Passage | None]], *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Context of each quote, one block per quote, packed into as few messages as fit.

    A block: "**[1]** *Title*, 2024-11-27, sentences 3–7 <link>", then each sentence on its line
    after its number, the quoted one in bold. A passage that cannot be found (the article was
    removed) is said in one line; a quote no longer in its sentence says the article changed.
    """
    parts: list[str] = []
    current = ""
    for number, citation, passage in passages:
        block = _context_block(number, citation, passage, limit)
        joined = f"{current}\n\n{block}" if current else block
        if len(joined) <= limit:
            current = joined
        else:
            if current:
                parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts or ["There is nothing to show."]


def _context_block(number: int, citation: Citation, passage: Passage | None, limit: int) -> str:
    lead = f"**[{number}]** " if number else ""
    title = escape(shorten(" ".join(citation.title.split()), TITLE_CHARS)) or citation.article_id
    if passage is None or not passage.sentences:
        return f"{lead}*{title}*: this article is no longer indexed."
    first, last = passage.sentences[0][0], passage.sentences[-1][0]
    bits = [f"*{title}*"]
    if passage.article.date:
        bits.append(escape(passage.article.date))
    bits.append(f"sentence {first}" if first == last else f"sentences {first}–{last}")
    link = source_link(passage.article.source)
    head = lead + ", ".join(bits) + (f" {link}" if link else f" (article `{citation.article_id}`)")
    quoted = dict(passage.sentences).get(citation.sentence, "")
    changed = " ".join(citation.text.split()) not in " ".join(quoted.split())
    note = "\n*The article has changed since this answer: the quote is no longer in this sentence.*" if changed else ""
    for quote_chars, other_chars in ((900, 300), (600, 100)):
        lines = [head]
        for n, text in passage.sentences:
            if n == citation.sentence:
                lines.append(f"`{n}` **{shorten(escape(text), quote_chars)}**")
            else:
                lines.append(f"`{n}` {shorten(escape(text), other_chars)}")
        block = "\n".join(lines) + note
        if len(block) <= limit:
            return block
    return shorten(block, limit)
