"""The real bot against a loopback fake of Discord's HTTP API: the JSON it actually sends."""

from __future__ import annotations

import dataclasses

import pytest

from bot.client import CitebotBot, create_bot
from index.engine import Engine
from tests.bot.conftest import ATTACHMENT_CAP, TRAM
from tests.bot.fakediscord import (
    APP_ID,
    EDITORS_ROLE_ID,
    GUILD_ID,
    MANAGER_PERMISSIONS,
    FakeDiscord,
    Interaction,
    Recorded,
    logged_in,
    plain,
)

EPHEMERAL = 64
SUPPRESS_EMBEDS = 4
DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE


def pings_nobody(allowed: object) -> bool:
    return (
        isinstance(allowed, dict)
        and allowed.get("parse") == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


def assert_safe(fake: FakeDiscord) -> None:
    """Every message the bot created: no mentions allowed, no previews, within Discord's limit."""
    created = [r for r in fake.requests if r.creates_message]
    assert created, "the bot sent no message"
    for request in created:
        body = request.message
        assert pings_nobody(body.get("allowed_mentions")), (request.path, body)
        assert len(body.get("content") or "") <= 2000
        assert body.get("flags", 0) & SUPPRESS_EMBEDS


def callback(fake: FakeDiscord, interaction: Interaction) -> Recorded:
    (first, *_) = fake.for_interaction(interaction)
    assert first.path.endswith("/callback"), "the first request of an interaction must be its callback"
    return first


@pytest.mark.asyncio
async def test_slash_commands_sync_to_the_test_guild(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, _ = http_bot
    (sync,) = fake.sent("PUT", r"/applications/\d+/.*commands")
    assert sync.path == f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
    commands = {c["name"]: c for c in sync.json}
    assert set(commands) == {"ask", "reindex", "add", "remove", "articles", "source", "help"}
    options = {
        name: {o["name"]: (o["type"], o.get("required", False)) for o in c["options"]} for name, c in commands.items()
    }
    assert options == {
        "ask": {
            "question": (3, True),
            "since": (3, False),
            "until": (3, False),
            "source": (3, False),
            "article": (3, False),
        },
        "reindex": {},
        "add": {"file": (11, False), "url": (3, False)},
        "remove": {"article_id": (3, True)},
        "articles": {"page": (4, False)},
        "source": {"article_id": (3, True)},
        "help": {},
    }
    assert commands["articles"]["options"][0]["min_value"] == 1
    autocompleted = {n: [o["name"] for o in c["options"] if o.get("autocomplete")] for n, c in commands.items()}
    assert {n: names for n, names in autocompleted.items() if names} == {
        "ask": ["article"],
        "remove": ["article_id"],
        "source": ["article_id"],
    }
    for name in ("reindex", "add", "remove"):
        assert commands[name]["dm_permission"] is False
        # Admin roles are configured, so Discord's Manage Server hint would hide the commands from them.
        assert commands[name]["default_member_permissions"] is None


@pytest.mark.asyncio
async def test_without_a_test_guild_commands_sync_globally(news_engine: Engine) -> None:
    settings = dataclasses.replace(news_engine.config.bot, test_guild=None, admin_roles=[])
    bot = create_bot(news_engine.config.replace(bot=settings), news_engine)
    fake = FakeDiscord()
    await fake.start()
    try:
        async with logged_in(fake, bot):
            (sync,) = fake.sent("PUT", r"/applications/\d+/.*commands")
    finally:
        await fake.close()
    assert sync.path == f"/applications/{APP_ID}/commands"
    hints = {c["name"]: c["default_member_permissions"] for c in sync.json}
    assert hints == {  # Manage Server for the admin commands
        "ask": None,
        "articles": None,
        "source": None,
        "help": None,
        "reindex": 32,
        "add": 32,
        "remove": 32,
    }


@pytest.mark.asyncio
async def test_ask_defers_at_once_then_answers(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    ask = fake.slash(bot, "ask", {"question": "who led the protest?"})
    (answer,) = await fake.wait_answered(ask)
    defer = callback(fake, ask)
    assert defer.json == {"type": DEFERRED}
    assert defer.at - ask.fed_at < 1.0
    assert defer.at < answer.at
    assert answer.method == "POST" and answer.path == f"/webhooks/{APP_ID}/{ask.token}"
    assert "Bushra Bibi, led the latest protest" in plain(answer.json["content"])
    assert_safe(fake)


@pytest.mark.asyncio
async def test_quoted_mentions_are_inert(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    ask = fake.slash(bot, "ask", {"question": "what did the union's strike call say? @everyone"})
    (answer,) = await fake.wait_answered(ask)
    content = answer.json["content"]
    assert "stop work at noon" in content
    for raw in ("@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>"):
        assert raw not in content
    assert "<https://example.org/news/port-kellan-walkout>" in content
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_bad_question_gets_an_ephemeral_usage_line(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    ask = fake.slash(bot, "ask", {"question": "why? " * 1200})  # 6,000 characters
    (reply,) = await fake.wait_answered(ask)
    assert reply.json["type"] == MESSAGE
    assert reply.message["flags"] & EPHEMERAL
    assert reply.message["content"].startswith("Ask me about the indexed news articles")
    assert_safe(fake)


@pytest.mark.asyncio
async def test_reindex_refuses_members_and_serves_admins(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    member = fake.slash(bot, "reindex")
    (refusal,) = await fake.wait_answered(member)
    assert refusal.json["type"] == MESSAGE and refusal.message["flags"] & EPHEMERAL
    assert refusal.message["content"].startswith("Sorry, only members with the Manage Server permission")
    assert fake.for_interaction(member) == [refusal]  # refused without deferring or indexing

    for admin in ({"permissions": MANAGER_PERMISSIONS}, {"roles": (EDITORS_ROLE_ID,)}):
        who = fake.slash(bot, "reindex", **admin)  # type: ignore[arg-type]
        (report,) = await fake.wait_answered(who)
        assert callback(fake, who).json == {"type": DEFERRED}
        assert report.json["content"].startswith("**Re-index**: nothing changed; the index holds 3 articles")
    assert_safe(fake)


@pytest.mark.asyncio
async def test_a_second_reindex_is_told_one_is_running(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot
    (news_engine.config.corpus_dir / TRAM.name).write_bytes(TRAM.read_bytes())  # something to embed
    first = fake.slash(bot, "reindex", permissions=MANAGER_PERMISSIONS)
    second = fake.slash(bot, "reindex", permissions=MANAGER_PERMISSIONS)
    ask = fake.slash(bot, "ask", {"question": "who led the protest?"})  # readers are not blocked
    (busy,) = await fake.wait_answered(second)
    assert busy.message["content"] == "A re-index is already running; try again when it has finished."
    assert busy.message["flags"] & EPHEMERAL
    (report,) = await fake.wait_answered(first)
    assert "1 added, 0 updated, 3 unchanged, 0 removed" in report.json["content"]
    (answer,) = await fake.wait_answered(ask)
    assert "Bushra Bibi" in answer.json["content"]
    assert_safe(fake)


@pytest.mark.asyncio
async def test_add_checks_the_attachment_size_before_downloading(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot
    big = fake.attachment("tram-extension.md", TRAM.read_bytes(), size=ATTACHMENT_CAP + 1)
    refused = fake.slash(bot, "add", {"file": big["id"]}, roles=(EDITORS_ROLE_ID,), attachments=[big])
    (refusal,) = await fake.wait_answered(refused)
    assert refusal.message["flags"] & EPHEMERAL
    assert refusal.message["content"].startswith("tram-extension.md is 4,001 bytes, over the limit of 4,000")
    assert fake.sent("GET", r"/cdn/.*") == []  # never downloaded

    small = fake.attachment("tram-extension.md", TRAM.read_bytes())
    added = fake.slash(bot, "add", {"file": small["id"]}, roles=(EDITORS_ROLE_ID,), attachments=[small])
    (report,) = await fake.wait_answered(added)
    assert callback(fake, added).json == {"type": DEFERRED}
    assert "1 added" in report.json["content"]
    (download,) = fake.sent("GET", r"/cdn/.*")
    assert download.path.endswith("/tram-extension.md")
    assert "tram-extension" in {a.id for a in news_engine.articles()}
    assert_safe(fake)


@pytest.mark.asyncio
async def test_add_refuses_a_loopback_url(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    url = f"{fake.url}/cdn/attachments/secret.txt"
    fake.cdn["/attachments/secret.txt"] = b"internal memo"
    add = fake.slash(bot, "add", {"url": url}, permissions=MANAGER_PERMISSIONS)
    (reply,) = await fake.wait_answered(add)
    assert "resolves to a loopback address" in reply.json["content"]
    assert fake.sent("GET", r"/cdn/.*") == []
    assert_safe(fake)


@pytest.mark.asyncio
async def test_slash_questions_share_the_cooldown(http_bot: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = http_bot
    asks = [fake.slash(bot, "ask", {"question": "who led the protest?"}, user_id=555) for _ in range(4)]
    for ask in asks[:3]:  # the config allows 3 questions per 60 s
        (answer,) = await fake.wait_answered(ask)
        assert "Bushra Bibi" in answer.json["content"]
    (slow,) = await fake.wait_answered(asks[3])
    assert slow.json["type"] == MESSAGE and slow.message["flags"] & EPHEMERAL
    assert slow.message["content"].startswith("Slow down a little")
    other = fake.slash(bot, "ask", {"question": "who led the protest?"}, user_id=556)
    assert "Bushra Bibi" in (await fake.wait_answered(other))[0].json["content"]
    assert_safe(fake)
