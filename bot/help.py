"""The help text: what citebot does, how to ask, the filters, what admins can do, what it cannot do.

One text for ``/help``, ``!help``, ``@citebot help`` and a bare ``@citebot``, written from the
configuration (the prefix, the Q&A channels, threads, the admin roles), so it names only what works
on this bot. It fits one message (2,000 characters) with any configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .render import MESSAGE_LIMIT, escape, neutralize_mentions, shorten

if TYPE_CHECKING:
    from index.config import Config

QA_CHANNELS_SHOWN = 3  # more Q&A channels are counted, not listed
ROLES_CHARS = 120  # of the admin role names shown


def help_text(config: Config) -> str:
    """The help message for a bot with this configuration (at most 2,000 characters).

    The filter syntax is the one ``index.answer.filters`` parses: ``since:``/``until:`` take
    ``YYYY-MM-DD`` or ``7d``/``2w``, ``source:`` a domain or source name, ``article:`` an id; the same
    four are options of ``/ask``.
    """
    settings = config.bot
    prefix = settings.command_prefix
    bang = neutralize_mentions(prefix)  # configured text, shown in code spans (no markdown there): inert

    ask = ["`/ask question: who led the protest?`", "`@citebot who led the protest?`"]
    if prefix:
        ask.append(f"`{bang}ask who led the protest?`")
    lines = [
        "**citebot** answers questions about the indexed news articles by quoting them: every answer is "
        "sentences copied word for word from the articles, each with its title, date and link.",
        "",
        "**Asking**: " + ", ".join(ask) + ".",
    ]
    if settings.qa_channels:
        shown = " ".join(f"<#{c}>" for c in settings.qa_channels[:QA_CHANNELS_SHOWN])
        more = len(settings.qa_channels) - QA_CHANNELS_SHOWN
        lines.append(f"In {shown}{f' (and {more} more)' if more > 0 else ''}, just ask: no mention needed.")
    if settings.threads:
        lines.append(
            "An answer starts a thread; ask follow-ups there without a mention (“what did she say next?”, "
            "“and the mayor?”) and they are read against the quotes before."
        )
    lines.append(
        "Under an answer: **Context** shows the sentences around a quote, **More** further quotes, "
        "👍/👎 say whether it helped."
    )
    lines += [
        "",
        "**Filters**, in the question or as `/ask` options:",
        "`since:2024-11-01` or `since:7d` / `since:2w` (days or weeks back), `until:` the same; "
        "`source:dawn.com` (a site or source); `article:<id>` (one article, by its id).",
        "e.g. `since:2024-11-01 source:dawn.com who led the protest?`",
        "",
        "**Articles**: `/articles` lists them, a page at a time; `/source article_id:` shows one "
        "article's title, date, link and first sentences.",
        "",
        f"**Admins** ({_admins(settings.admin_roles)}): `/reindex` rescans the corpus folder; "
        "`/add file:` or `/add url:` adds an article; `/remove article_id:` removes one.",
    ]
    if prefix:
        lines.append(f"Each command also works as `{bang}command`, e.g. `{bang}articles 2`.")
    lines += [
        "",
        "**What it cannot do**: it quotes, it does not write answers. It does not summarise, explain or "
        "guess, and it knows only the indexed articles, not the web. When they don't say, it says so.",
    ]
    return shorten("\n".join(lines), MESSAGE_LIMIT)


def _admins(roles: list[str]) -> str:
    who = "Manage Server"
    if roles:
        who += " or the role " + " / ".join(f"'{r}'" for r in roles)
    return shorten(escape(who), ROLES_CHARS)
