"""User-facing errors: one family, one readable line each, one exit code per kind."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

# How messages name the command line; the CLI names it as it was invoked (see program_named).
_program = "python -m index"


class ExitCode(enum.IntEnum):
    """Every exit code of ``python -m index`` and ``python -m bot``, in one place."""

    OK = 0  # an abstention is an answer, not an error
    ERROR = 1  # anything else, a bug included
    USAGE = 2  # a wrong command line (click's own code); for the bot: no DISCORD_TOKEN
    CONFIG = 3
    INDEX = 4  # no index yet, or one that does not fit the config
    BAD_INPUT = 5  # a bad article or question; build: some files skipped; ask on stdin: some lines refused
    BUSY = 6  # another build is running
    FETCH = 7  # a URL could not be fetched
    NOT_FOUND = 8  # no such article
    WRITE = 9  # the index folder cannot be written
    TOKEN_REJECTED = 10  # the bot's token was refused by Discord
    INTENTS = 11  # the bot needs the Message Content intent enabled in the developer portal
    UNREACHABLE = 12  # Discord cannot be reached
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


def command(words: str) -> str:
    """``words`` as a command to run, quoted: `python -m index build`.

    Every message that tells a user what to run goes through here, so one run as ``citebot`` is told
    `citebot build`: the command they can type, not another spelling of it.
    """
    return f"`{_program} {words}`"


def run_hint(words: str = "build") -> str:
    """The fixing step a message ends with: "run `python -m index build`"."""
    return f"run {command(words)}"


@contextlib.contextmanager
def program_named(name: str) -> Iterator[None]:
    """Messages made inside name the program ``name``; the one before is restored after.

    Restored, so a library caller (the bot, a test) after a CLI run in the same process still reads
    the default.
    """
    global _program
    before, _program = _program, name
    try:
        yield
    finally:
        _program = before


class CitebotError(Exception):
    """Base of every error a user is meant to read.

    The message is a single line that says what went wrong and, where there is one, what fixes it.
    Shells (the CLI, the bot) print the message and nothing else; anything that is not a
    ``CitebotError`` is a bug and is logged with its traceback.
    """

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        # Newlines would break the one-line promise in logs, terminals and Discord replies.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(CitebotError):
    """config.yaml is missing, malformed, has an unknown key or a value of the wrong type."""

    exit_code: ExitCode = ExitCode.CONFIG


class IndexMissingError(CitebotError):
    """No index has been built yet where the config points."""

    exit_code: ExitCode = ExitCode.INDEX


class IndexMismatchError(CitebotError):
    """The index on disk was built differently (model, dimension, format) or is damaged."""

    exit_code: ExitCode = ExitCode.INDEX


class ReaderModelError(IndexMismatchError):
    """The trained reader's files (index/reader/model) are missing or damaged: a re-index does not
    fix it; reinstalling citebot (or training the reader) does."""


class ArticleError(CitebotError):
    """An article cannot be read: empty, binary, not UTF-8, too large, unsupported type."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class CorpusMissingError(ArticleError):
    """The corpus folder does not exist: the server's state, not something a user sent (the bot
    tells a member the index isn't ready, and the log where the folder should be)."""


class QuestionError(CitebotError):
    """The question is empty or too long."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class BusyError(CitebotError):
    """Another process or task is already writing the index."""

    exit_code: ExitCode = ExitCode.BUSY


class FetchError(CitebotError):
    """A URL could not be fetched: refused address, timeout, too large, HTTP error."""

    exit_code: ExitCode = ExitCode.FETCH


class NotFoundError(CitebotError):
    """An article id that the index does not hold."""

    exit_code: ExitCode = ExitCode.NOT_FOUND


class IndexWriteError(CitebotError):
    """The index folder cannot be written (read-only, full disk); the old index is untouched."""

    exit_code: ExitCode = ExitCode.WRITE
