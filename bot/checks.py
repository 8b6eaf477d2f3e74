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


def is_admin() -> Callable[[T], T]:
    """A check for hybrid commands: Manage Server or an admin role, else a polite refusal.

    Discord's default-permission hint only hides a command in the client; a server can override it
    and a prefix command has no such hint, so the bot decides for itself on every call.
    """

    async def predicate(ctx: commands.Context[Any]) -> bool:
        if ctx.guild is None or not isinstance(ctx.author, discord.Member):
            raise commands.NoPrivateMessage()
        # For an interaction Discord sends the member's resolved permissions; for a message they are
        # computed from the cached roles (the guilds intent keeps them up to date).
        permissions = ctx.interaction.permissions if ctx.interaction else ctx.author.guild_permissions
        roles = list(ctx.bot.config.bot.admin_roles)
        if may_change_index(ctx.author, permissions, roles):
            return True
        raise NotAdmin(roles)

    return commands.check(predicate)
