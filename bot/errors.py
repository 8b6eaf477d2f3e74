"""The one place where failures become replies: user errors in one line, bugs logged with a traceback.

Members see member-facing text only. An error about the server's own state (no index yet, an index
that does not fit the config or is damaged, an index folder that cannot be written, a missing
corpus folder) carries paths and shell commands meant for whoever runs the bot: a member is told
:data:`INDEX_NOT_READY`, an admin (see :func:`bot.checks.is_index_admin`) a line saying what to do
in Discord, with no path in it (a reply to a mention or a prefix command is public), and the log
keeps the engine's full message. :func:`describe` is that policy, for every command, question,
click and autocomplete alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from index import errors

from .render import MESSAGE_LIMIT, neutralize_mentions, shorten, slow_down_text
from .replies import NO_MENTIONS, send

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again later."
ALREADY_INDEXING = "A re-index is already running; try again when it has finished."
INDEX_NOT_READY = "The index isn't ready — an admin can run /reindex."
# What an admin is told about the server's state: what to do here, without the paths of the log.
_ADMIN_TEXT: dict[type[errors.CitebotError], str] = {
    errors.IndexMissingError: "No index is built yet: run `/reindex` to index the corpus folder. "
    "The bot's log has the details.",
    # Before IndexMismatchError, of which it is a kind: a re-index would not fix it.
    errors.ReaderModelError: "The trained reader's files are missing or damaged, so questions can't be "
    "answered; `/reindex` won't fix that: whoever runs the bot needs to reinstall citebot. The bot's log has the details.",
    errors.IndexMismatchError: "The index can't be used: it was built for another model or setting, or it is "
    "damaged. Run `/reindex` to rebuild it; if that fails too, the bot's log says what is wrong.",
    errors.IndexWriteError: "The index folder can't be written (is the disk full, or read-only?); the previous "
    "index is unchanged. The bot's log has the details.",
    errors.ConfigError: "The bot's configuration has a problem; the bot's log says what it is.",
}


class NotAdmin(commands.CheckFailure):
    """The member may not change the index: no Manage Server permission and no admin role."""

    def __init__(self, roles: list[str]) -> None:
        who = "members with the Manage Server permission"
        if roles:
            names = ", ".join(f"'{r}'" for r in roles)
            who += f" or a role named {names}"
        super().__init__(f"Sorry, only {who} can change the index. You can still ask questions.")


@dataclass(frozen=True)
class Reply:
    """What to tell the user about a failure."""

    text: str | None  # None: say nothing
    ephemeral: bool = True


def unwrap(error: BaseException) -> BaseException:
    """The exception that actually happened, out of discord.py's invoke and hybrid wrappers."""
    while isinstance(
        error, commands.CommandInvokeError | commands.HybridCommandError | app_commands.CommandInvokeError
    ) and isinstance(getattr(error, "original", None), BaseException):
        error = error.original
    return error


def citebot_error() -> type[Exception]:
    """``index.errors.CitebotError``, the family of errors whose message is meant for users."""
    return errors.CitebotError


def about_the_server(error: BaseException) -> bool:
    """Whether a failure is about the server's own state (its index, its folders, its config): its
    message is for whoever runs the bot, not for the member who happened to ask."""
    error = unwrap(error)
    if isinstance(error, tuple(_ADMIN_TEXT)):
        return True
    return isinstance(error, errors.CorpusMissingError)  # names a server path, not what a member sent


def describe(error: BaseException, *, usage: str = "", admin: bool = False) -> Reply:
    """Map a failure to the reply the user gets.

    Args:
        error: What was raised (wrappers are removed here).
        usage: The command's usage line, for argument errors.
        admin: The user may change the index: a failure about the server's state gets the line
            that says what to do, not the member-facing one.

    Returns:
        The reply; ``Reply(None)`` for failures that deserve no answer.
    """
    error = unwrap(error)
    if about_the_server(error):
        if not admin:
            return Reply(INDEX_NOT_READY)
        for kind, text in _ADMIN_TEXT.items():
            if isinstance(error, kind):
                return Reply(text)
        return Reply("The corpus folder is missing; the bot's log says where it should be.")
    if isinstance(error, errors.CitebotError):
        text = str(error)
        if isinstance(error, errors.NotFoundError):
            text = text.split(";", 1)[0] + "; `/articles` lists the ids"
        return Reply(_sentence(text))
    if isinstance(error, commands.CommandNotFound):
        return Reply(None)  # "!thanks" is chatter, not a mistyped command
    if isinstance(error, commands.CommandOnCooldown):
        return Reply(slow_down_text(error.retry_after))
    if isinstance(error, commands.NoPrivateMessage | app_commands.NoPrivateMessage):
        return Reply("That command only works in a server.")
    if isinstance(error, NotAdmin):
        return Reply(str(error))
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return Reply("Sorry, you can't use that command here.")
    if isinstance(error, commands.UserInputError | app_commands.TransformerError):
        detail = _sentence(str(error).rstrip("."))
        return Reply(f"{detail}. Usage: {usage}" if usage else f"{detail}.")
    if isinstance(error, discord.Forbidden):
        log.warning("missing a permission to answer: %s", error)
        return Reply(None)  # we cannot send there anyway
    return Reply(APOLOGY)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _log(error: BaseException, reply: Reply, what: str, user: int) -> None:
    """The detail the reply leaves out: a bug's traceback, the engine's own message about the server."""
    original = unwrap(error)
    if reply.text == APOLOGY:
        log.error("unexpected error in %s", what, exc_info=(type(original), original, original.__traceback__))
    elif about_the_server(original):
        log.warning("%s for user %s failed: %s", what, user, original)
    elif reply.text is not None:
        log.info("refused %s for user %s: %s", what, user, reply.text)


async def report_error(ctx: commands.Context[Any], error: BaseException, *, usage: str = "") -> None:
    """Tell the user what went wrong (one line), logging anything that is not a user error.

    Never raises: a failure while reporting a failure is logged, not re-raised into discord.py.
    """
    from .checks import is_index_admin  # bot.checks imports this module

    reply = describe(error, usage=usage, admin=is_index_admin(ctx))
    _log(error, reply, ctx.command.qualified_name if ctx.command else "question", ctx.author.id)
    if reply.text is None:
        return
    try:
        await send(ctx, reply.text, ephemeral=reply.ephemeral)
    except discord.HTTPException as exc:
        log.warning("could not send the error reply: %s", exc)


async def report_interaction_error(interaction: discord.Interaction[Any], error: BaseException, *, what: str) -> None:
    """:func:`report_error` for an interaction without a command (a button click): the same texts,
    only to the one who clicked, and the same logging. Never raises."""
    from .checks import is_index_admin

    reply = describe(error, admin=is_index_admin(interaction))
    _log(error, reply, what, interaction.user.id)
    if reply.text is None:
        return
    text = shorten(neutralize_mentions(reply.text), MESSAGE_LIMIT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True
            )
    except discord.HTTPException as exc:
        log.warning("could not send the error reply: %s", exc)
