"""Fixtures for the bot tests: a real engine over small real articles, and bots around it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.client import CitebotBot, create_bot
from index.config import Config, load_config
from index.embed import Encoder
from index.engine import Engine
from tests.bot.fakediscord import EDITORS_ROLE, GUILD_ID, FakeDiscord, logged_in
from tests.conftest import SEED, write_config

HERE = Path(__file__).resolve().parent
ARTICLES = HERE / "fixtures"
HARBOUR = ARTICLES / "harbour-walkout.md"  # its text holds @everyone, @here, <@id> and <@&id>
LIBRARY = ARTICLES / "alder-street-library.txt"  # a local file: no source link
TRAM = ARTICLES / "tram-extension.md"  # not in the corpus at first: added by /add
QA_CHANNEL_ID = 424242424242424242
ATTACHMENT_CAP = 4000  # bytes; the fixture articles are smaller, a test builds a bigger one

BOT_CONFIG = f"""
search:
  every_quote: true  # the message tests count on three quotes a message; test_buttons.py also has the default
bot:
  command_prefix: "!"
  qa_channels: [{QA_CHANNEL_ID}]
  admin_roles: [{EDITORS_ROLE}]
  test_guild: {GUILD_ID}
  cooldown_questions: 3
  cooldown_seconds: 60
  max_attachment_bytes: {ATTACHMENT_CAP}
  articles_page_size: 2
"""


@pytest.fixture(scope="session")
def news_site(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A folder with config.yaml, a corpus of three articles and its index, built once per session.

    Embedding is the slow part of a build (seconds on a small CPU); each test copies this folder
    instead of rebuilding, and gets an engine that is as real as a freshly built one.
    """
    site = tmp_path_factory.mktemp("news-site")
    (site / "corpus").mkdir()
    for article in (SEED, HARBOUR, LIBRARY):
        shutil.copy(article, site / "corpus" / article.name)
    Engine(load_config(write_config(site, BOT_CONFIG)), encoder=encoder).rebuild()
    return site


@pytest.fixture
def news_engine(news_site: Path, tmp_path: Path, encoder: Encoder) -> Engine:
    """A real engine over the seed article, the harbour walkout and the library reopening."""
    site = tmp_path / "site"
    shutil.copytree(news_site, site)
    return Engine(load_config(site / "config.yaml"), encoder=encoder)


@contextlib.asynccontextmanager
async def running(config: Config, engine: Engine, **kwargs: Any) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    """The real bot with ``config``, logged in against a fresh fake (setup_hook has run)."""
    fake = FakeDiscord()
    await fake.start()
    bot = create_bot(config, engine, **kwargs)
    try:
        async with logged_in(fake, bot):
            yield fake, bot
    finally:
        await fake.close()


@pytest_asyncio.fixture
async def http_bot(news_engine: Engine) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    """The real bot, logged in against the loopback fake of Discord (setup_hook has run)."""
    async with running(news_engine.config, news_engine) as served:
        yield served
