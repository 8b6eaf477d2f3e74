"""User-facing errors: one family, one readable line each, one exit code per kind."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Every exit code of ``python -m index`` and ``python -m bot``, in one place."""

    OK = 0  # an abstention is an answer, not an error
    ERROR = 1  # anything else, a bug included
    USAGE = 2  # a wrong command line (click's own code); for the bot: no DISCORD_TOKEN
    CONFIG = 3
    INDEX = 4  # no index yet, or one that does not fit the config
    BAD_INPUT = 5  # a bad article or question; for build: some files were skipped, the rest indexed
    BUSY = 6  # another build is running
    FETCH = 7  # a URL could not be fetched
    NOT_FOUND = 8  # no such article
    WRITE = 9  # the index folder cannot be written
    TOKEN_REJECTED = 10  # the bot's token was refused by Discord
    INTENTS = 11  # the bot needs the Message Content intent enabled in the developer portal
    UNREACHABLE = 12  # Discord cannot be reached
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


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


class ArticleError(CitebotError):
    """An article cannot be read: empty, binary, not UTF-8, too large, unsupported type."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


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
