"""The bot's keys in config.yaml: threads and per-server corpora, typed and refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.client import guild_config
from index.config import GuildConfig, load_config
from index.errors import ConfigError


def test_threads_are_on_and_no_server_has_its_own_corpus_by_default(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("bot:\n  command_prefix: '!'\n")
    config = load_config(path)
    assert config.bot.threads is True
    assert config.bot.guilds == {}
    path.write_text("bot:\n  threads: false\n")
    assert load_config(path).bot.threads is False


def test_a_server_gets_its_own_folders_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.yaml"
    path.write_text(
        "corpus_dir: corpus\n"
        "bot:\n"
        "  guilds:\n"
        "    123456789012345678:\n"
        "      corpus_dir: ../city/corpus\n"
        f"      index_dir: {tmp_path / 'elsewhere' / 'index'}\n"
    )
    config = load_config(path)
    assert config.bot.guilds == {
        123456789012345678: GuildConfig(tmp_path / "city" / "corpus", tmp_path / "elsewhere" / "index")
    }
    city = guild_config(config, 123456789012345678)
    assert (city.corpus_dir, city.index_dir) == (tmp_path / "city" / "corpus", tmp_path / "elsewhere" / "index")
    assert city.model == config.model and city.search == config.search  # the rest is shared
    assert config.corpus_dir == tmp_path / "conf" / "corpus"  # the default is untouched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bot:\n  threads: yes please\n", "'bot.threads' must be true or false, got 'yes please'"),
        ("bot:\n  threads: 1\n", "'bot.threads' must be true or false, got 1"),
        ("bot:\n  guilds: [1, 2]\n", "'bot.guilds' must be a mapping, got \\[1, 2\\]"),
        ("bot:\n  guilds:\n    newsroom: {corpus_dir: a, index_dir: b}\n", "the keys of 'bot.guilds' must be ids"),
        ("bot:\n  guilds:\n    '123': {corpus_dir: a, index_dir: b}\n", "must be ids \\(whole numbers\\), got '123'"),
        ("bot:\n  guilds:\n    123: a/corpus\n", "'bot.guilds.123' must be a mapping, got 'a/corpus'"),
        ("bot:\n  guilds:\n    123: {corpus_dir: a}\n", "'bot.guilds.123.index_dir' is missing"),
        (
            "bot:\n  guilds:\n    123: {corpus_dir: a, index_dir: b, model: x}\n",
            "unknown key 'bot.guilds.123.model' \\(known here: corpus_dir, index_dir\\)",
        ),
        ("bot:\n  guilds:\n    123: {corpus_dir: 5, index_dir: b}\n", "'bot.guilds.123.corpus_dir' must be a path"),
        (
            "index_dir: idx\nbot:\n  guilds:\n    123: {corpus_dir: a, index_dir: idx}\n",
            "'bot.guilds.123.index_dir' is .*idx, the same folder as the default index_dir; each server needs its own",
        ),
        (
            "bot:\n  guilds:\n    1: {corpus_dir: a, index_dir: b}\n    2: {corpus_dir: c, index_dir: b}\n",
            "'bot.guilds.2.index_dir' is .*, the same folder as 'bot.guilds.1.index_dir'",
        ),
        (
            "bot:\n  guilds:\n    1: {corpus_dir: a, index_dir: b}\n    2: {corpus_dir: a, index_dir: c}\n",
            "'bot.guilds.2.corpus_dir' is .*, the same folder as 'bot.guilds.1.corpus_dir'",
        ),
    ],
)
def test_bad_bot_keys_are_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
