"""User-facing errors: one family, one readable line each, one exit code per kind."""

from __future__ import annotations


class CitebotError(Exception):
    """Base of every error a user is meant to read.

    The message is a single line that says what went wrong and, where there is one, what fixes it.
    Shells (the CLI, the bot) print the message and nothing else; anything that is not a
    ``CitebotError`` is a bug and is logged with its traceback.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Newlines would break the one-line promise in logs, terminals and Discord replies.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(CitebotError):
    """config.yaml is missing, malformed, has an unknown key or a value of the wrong type."""

    exit_code = 3


class IndexMissingError(CitebotError):
    """No index has been built yet where the config points."""

    exit_code = 4


class IndexMismatchError(CitebotError):
    """The index on disk was built differently (model, dimension, format) or is damaged."""

    exit_code = 4


class ArticleError(CitebotError):
    """An article cannot be read: empty, binary, not UTF-8, too large, unsupported type."""

    exit_code = 5


class QuestionError(CitebotError):
    """The question is empty or too long."""

    exit_code = 5


class BusyError(CitebotError):
    """Another process or task is already writing the index."""

    exit_code = 6


class FetchError(CitebotError):
    """A URL could not be fetched: refused address, timeout, too large, HTTP error."""

    exit_code = 7


class NotFoundError(CitebotError):
    """An article id that the index does not hold."""

    exit_code = 8


class IndexWriteError(CitebotError):
    """The index folder cannot be written (read-only, full disk); the old index is untouched."""

    exit_code = 9
