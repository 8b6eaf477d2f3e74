"""config.yaml: defaults, typed values, one-line errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.config import load_config
from index.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_loads_and_points_inside_the_repo() -> None:
    config = load_config(ROOT / "config.yaml")
    assert config.corpus_dir == ROOT / "corpus"
    assert config.index_dir.is_relative_to(ROOT)
    assert config.model.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert config.bot.qa_channels == []


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.yaml"
    path.write_text("corpus_dir: ../articles\nsearch:\n  top_k: 2\n")
    config = load_config(path)
    assert config.corpus_dir == tmp_path / "articles"
    assert config.search.top_k == 2
    assert config.search.candidates == 30  # untouched keys keep their defaults


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("corpus_dir: a\nindex_dir: b\n")
    config = load_config(path, corpus_dir=tmp_path / "x", index_dir=tmp_path / "y")
    assert (config.corpus_dir, config.index_dir) == (tmp_path / "x", tmp_path / "y")


def test_env_var_points_at_another_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("search:\n  top_k: 1\n")
    monkeypatch.setenv("CITEBOT_CONFIG", str(path))
    assert load_config().search.top_k == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("serach:\n  top_k: 2\n", "unknown key 'serach'"),
        ("search:\n  topk: 2\n", "unknown key 'search.topk'"),
        ("search:\n  top_k: three\n", "'search.top_k' must be a whole number, got 'three'"),
        ("search:\n  top_k: true\n", "'search.top_k' must be a whole number, got True"),
        ("search:\n  top_k: 0\n", "'search.top_k' must be between 1 and 10, got 0"),
        ("chunking:\n  sentences: 2\n  overlap: 2\n", "'chunking.overlap' must be at least 0 and less than"),
        ("bot:\n  qa_channels: 123\n", "'bot.qa_channels' must be a list"),
        ("bot:\n  qa_channels: [abc]\n", r"'bot.qa_channels\[0\]' must be a whole number"),
        ("model: fast\n", "'model' must be a mapping"),
        ("model:\n  question_precision: fp16\n", "'model.question_precision' must be fp32 or int8, got 'fp16'"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("search: [unclosed\n", "cannot read the config"),
        ("articles:\n  allowed_private_hosts: ['wiki:port']\n", "entry 'wiki:port' is not a host, host:port"),
    ],
)
def test_bad_configs_are_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_a_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
