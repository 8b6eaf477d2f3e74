"""Members see member-facing text: a missing or damaged index, through every door, against the loopback fake.

A member is told the index isn't ready; an admin what to do in Discord; neither sees a server path
or a shell command; the log keeps the engine's own message. Start-up says once what was loaded and
nothing about voice or CPU probes.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.client import CitebotBot, create_bot
from bot.errors import INDEX_NOT_READY
from index.config import load_config
from index.embed import Encoder
from index.engine import Engine
from index.store import current_build
from tests.bot.conftest import running
from tests.bot.fakediscord import (
    BOT_ID,
    EDITORS_ROLE_ID,
    MANAGER_PERMISSIONS,
    FakeDiscord,
    Interaction,
)
from tests.bot.test_http_payloads import EPHEMERAL, MESSAGE, assert_safe
from tests.bot.test_source_and_pages import listed
from tests.conftest import ROOT

POSTED = r"/channels/\d+/messages"
ADMIN_MISSING = "No index is built yet: run `/reindex` to index the corpus folder. The bot's log has the details."
ADMIN_DAMAGED = "The index can't be used: it was built for another model or setting, or it is damaged."


@pytest_asyncio.fixture
async def unready(news_engine: Engine) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    """The real bot over an engine whose index was never built (the corpus is there)."""
    shutil.rmtree(news_engine.config.index_dir)
    async with running(news_engine.config, news_engine) as served:
        yield served


def assert_nothing_of_the_server(fake: FakeDiscord, site: Path) -> None:
    """No message the bot created names a path of the server or a shell command."""
    for request in fake.requests:
        if request.creates_message:
            content = request.message.get("content") or ""
            assert str(site) not in content and "/tmp" not in content, content
            assert "python -m" not in content and "`index build`" not in content, content


async def text_of(fake: FakeDiscord, interaction: Interaction) -> tuple[str, int]:
    (reply,) = await fake.wait_answered(interaction)
    return reply.message["content"], reply.message.get("flags", 0)


@pytest.mark.asyncio
async def test_a_missing_index_member_and_admin_texts(
    unready: tuple[FakeDiscord, CitebotBot], news_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake, bot = unready
    caplog.set_level(logging.INFO)
    site = news_engine.config.index_dir.parent
    doors: list[tuple[str, dict[str, object]]] = [
        ("ask", {"question": "who led the protest?"}),
        ("articles", {}),
        ("source", {"article_id": "harbour-walkout"}),
    ]
    for name, options in doors:
        member = fake.slash(bot, name, options)
        assert (await text_of(fake, member))[0] == INDEX_NOT_READY, name
        for admin in ({"permissions": MANAGER_PERMISSIONS}, {"roles": (EDITORS_ROLE_ID,)}):
            who = fake.slash(bot, name, options, user_id=999, **admin)  # type: ignore[arg-type]
            content, _ = await text_of(fake, who)
            assert content == ADMIN_MISSING, (name, admin)
    source = fake.slash(bot, "source", {"article_id": "harbour-walkout"}, user_id=998)
    assert (await text_of(fake, source))[1] & EPHEMERAL  # /source stays between the bot and the asker

    # A mention and a prefix command are public replies: the same two texts, no path either.
    fake.message(bot, f"<@{BOT_ID}> who led the protest?", user_id=777)
    await fake.wait_for(lambda: len(fake.sent("POST", POSTED)) >= 1)
    fake.message(bot, f"<@{BOT_ID}> who led the protest?", user_id=778, roles=(EDITORS_ROLE_ID,))
    await fake.wait_for(lambda: len(fake.sent("POST", POSTED)) >= 2)
    fake.message(bot, "!articles", user_id=779)
    await fake.wait_for(lambda: len(fake.sent("POST", POSTED)) >= 3)
    said = [r.json["content"] for r in fake.sent("POST", POSTED)]
    assert said == [INDEX_NOT_READY, ADMIN_MISSING, INDEX_NOT_READY]

    assert_nothing_of_the_server(fake, site)
    assert_safe(fake)
    # The log keeps the detail: the engine's message, with the path and the command that fixes it.
    detail = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and str(news_engine.config.index_dir) in r.getMessage()
    ]
    assert detail and all("python -m index build" in r.getMessage() for r in detail)
    assert {r.getMessage().split(" for user ")[0] for r in detail if " for user " in r.getMessage()} >= {
        "ask",
        "articles",
        "source",
        "question",
    }


@pytest.mark.asyncio
async def test_without_an_index_autocomplete_offers_nothing(unready: tuple[FakeDiscord, CitebotBot]) -> None:
    fake, bot = unready
    for name, option in (("remove", "article_id"), ("source", "article_id"), ("ask", "article")):
        typing = fake.autocomplete(bot, name, {option: "harbour"}, option)
        await fake.wait_for(lambda typing=typing: bool(fake.for_interaction(typing)))  # type: ignore[misc]
        assert fake.choices(typing) == []
    assert not [r for r in fake.requests if r.creates_message]


@pytest.mark.asyncio
async def test_a_damaged_index_member_and_admin_texts(
    news_site: Path, tmp_path: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    site = tmp_path / "site"
    shutil.copytree(news_site, site)
    config = load_config(site / "config.yaml")
    build = current_build(config.index_dir)
    assert build is not None
    (config.index_dir / "builds" / build / "manifest.json").unlink()
    engine = Engine(config, encoder=encoder)
    caplog.set_level(logging.INFO)
    async with running(config, engine) as (fake, bot):
        member = fake.slash(bot, "ask", {"question": "who led the protest?"})
        assert (await text_of(fake, member))[0] == INDEX_NOT_READY
        admin = fake.slash(bot, "articles", permissions=MANAGER_PERMISSIONS)
        content, _ = await text_of(fake, admin)
        assert content.startswith(ADMIN_DAMAGED) and "`/reindex`" in content
        assert_nothing_of_the_server(fake, site)
        assert_safe(fake)
    # Start-up said why the index is not usable, once, as a warning; the engine never reported ready.
    (warning,) = [r for r in caplog.records if r.name == "bot.client" and r.levelno == logging.WARNING]
    assert "is damaged (build" in warning.getMessage() and "/reindex builds it" in warning.getMessage()
    assert not [r for r in caplog.records if "engine ready" in r.getMessage()]


@pytest.mark.asyncio
async def test_a_click_when_the_index_is_gone_is_told_to_the_clicker_only(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot
    message_id = await listed(fake, bot)
    shutil.rmtree(news_engine.config.index_dir)

    member = fake.click(bot, message_id, "citebot:articles:2")
    (reply,) = await fake.wait_answered(member)
    assert reply.json["type"] == MESSAGE and reply.message["flags"] & EPHEMERAL
    assert reply.message["content"] == INDEX_NOT_READY
    admin = fake.click(bot, message_id, "citebot:articles:2", permissions=MANAGER_PERMISSIONS)
    (reply,) = await fake.wait_answered(admin)
    assert reply.message["flags"] & EPHEMERAL and reply.message["content"] == ADMIN_MISSING
    assert fake.messages[message_id]["content"].startswith("**Indexed articles** (3), page 1 of 2:")  # unchanged
    assert_nothing_of_the_server(fake, news_engine.config.index_dir.parent)
    assert_safe(fake)


@pytest.mark.asyncio
async def test_start_up_says_once_what_was_loaded(news_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bot = create_bot(news_engine.config, news_engine)
    await bot.warm_up()
    await bot.close()
    (ready,) = [r for r in caplog.records if r.name == "bot.client"]
    assert ready.levelno == logging.INFO
    build = current_build(news_engine.config.index_dir)
    sentences = sum(a.sentences for a in news_engine.articles())
    assert ready.getMessage().startswith("default engine ready in ")
    assert ready.getMessage().endswith(
        f": model sentence-transformers/all-MiniLM-L6-v2 (fp32), index build {build}, 3 articles, "
        f"{sentences} sentences, reader on"
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


START_UP = """
import discord
from bot.__main__ import configure_logging
configure_logging({level!r})
import faiss  # probes CPU-specific builds first
from bot.client import create_bot
from index.config import Config
from index.engine import Engine
config = Config()
create_bot(config, Engine(config))  # a discord.py client: says whether voice would work
"""


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_start_up_does_not_log_library_noise(level: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", START_UP.format(level=level)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert " WARNING " not in log, log
    if level == "INFO":
        assert "AVX" not in log and "voice" not in log and "faiss" not in log, log
    else:  # still there for whoever asks for DEBUG
        assert "DEBUG discord.client: PyNaCl is not installed, voice will NOT be supported" in log
        assert "DEBUG faiss.loader: " in log


@pytest.mark.asyncio
async def test_a_missing_corpus_folder_tells_an_admin_without_its_path(
    http_bot: tuple[FakeDiscord, CitebotBot], news_engine: Engine
) -> None:
    fake, bot = http_bot
    shutil.rmtree(news_engine.config.corpus_dir)
    admin = fake.slash(bot, "reindex", permissions=MANAGER_PERMISSIONS)
    content, _ = await text_of(fake, admin)
    assert content == "The corpus folder is missing; the bot's log says where it should be."
    assert_nothing_of_the_server(fake, news_engine.config.corpus_dir.parent)
    assert_safe(fake)
