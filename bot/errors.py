"""The one place where failures become replies: user errors in one line, bugs logged with a traceback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from index import errors

from .render import slow_down_text
from .replies import send

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again later."
ALREADY_INDEXING = "A re-index is already running; try again when it has finished."


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


def describe(error: BaseException, *, usage: str = "") -> Reply:
    """Map a failure to the reply the user gets.

    Args:
        error: What was raised (wrappers are removed here).
        usage: The command's usage line, for argument errors.

    Returns:
        The reply; ``Reply(None)`` for failures that deserve no answer.
    """
    error = unwrap(error)
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


async def report_error(ctx: commands.Context[Any], error: BaseException, *, usage: str = "") -> None:
    """Tell the user what went wrong (one line), logging anything that is not a user error.

    Never raises: a failure while reporting a failure is logged, not re-raised into discord.py.
    """
    reply = describe(error, usage=usage)
    if reply.text == APOLOGY:
        original = unwrap(error)
        command = ctx.command.qualified_name if ctx.command else "question"
        log.error("unexpected error in %s", command, exc_info=(type(original), original, original.__traceback__))
    elif reply.text is not None:
        log.info("refused %s for user %s: %s", ctx.command or "question", ctx.author.id, reply.text)
    if reply.text is None:
        return
    try:
        await send(ctx, reply.text, ephemeral=reply.ephemeral)
    except discord.HTTPException as exc:
        log.warning("could not send the error reply: %s", exc)
