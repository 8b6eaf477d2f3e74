"""Who may change the index: checked by the bot itself, for slash and prefix forms alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from .errors import NotAdmin

T = TypeVar("T")


def may_change_index(member: discord.abc.User, permissions: discord.Permissions, admin_roles: list[str]) -> bool:
    """Whether ``member`` may re-index, add or remove articles.

    Args:
        member: The invoking user (a ``Member`` in a server, so it has roles).
        permissions: Their resolved permissions (from the interaction, or computed from the guild).
        admin_roles: Role names from ``config.bot.admin_roles``; compared case-insensitively.

    Returns:
        True for Manage Server (or Administrator) or a role named in the config.
    """
    if permissions.manage_guild or permissions.administrator:
        return True
    wanted = {name.casefold() for name in admin_roles}
    return any(role.name.casefold() in wanted for role in getattr(member, "roles", ()))


def is_index_admin(source: commands.Context[Any] | discord.Interaction[Any]) -> bool:
    """Whether whoever is behind a command, a question or a click may change the index.

    Used both to allow the admin commands and to choose between the member-facing and the
    admin-facing text of a failure (see :func:`bot.errors.describe`). Outside a server: no.
    """
    if source.guild is None:
        return False
    if isinstance(source, discord.Interaction):
        user: discord.abc.User = source.user
        # For an interaction Discord sends the member's resolved permissions in the channel.
        permissions = source.permissions
        config = getattr(source.client, "config", None)
    else:
        user = source.author
        # For a message they are computed from the cached roles (the guilds intent keeps them up to date).
        if source.interaction is not None:
            permissions = source.interaction.permissions
        elif isinstance(user, discord.Member):
            permissions = user.guild_permissions
        else:
            return False
        config = getattr(source.bot, "config", None)
    roles = list(config.bot.admin_roles) if config is not None else []
    return isinstance(user, discord.Member) and may_change_index(user, permissions, roles)


def is_admin() -> Callable[[T], T]:
    """A check for hybrid commands: Manage Server or an admin role, else a polite refusal.

    Discord's default-permission hint only hides a command in the client; a server can override it
    and a prefix command has no such hint, so the bot decides for itself on every call.
    """

    async def predicate(ctx: commands.Context[Any]) -> bool:
        if ctx.guild is None or not isinstance(ctx.author, discord.Member):
            raise commands.NoPrivateMessage()
        if is_index_admin(ctx):
            return True
        raise NotAdmin(list(ctx.bot.config.bot.admin_roles))

    return commands.check(predicate)
