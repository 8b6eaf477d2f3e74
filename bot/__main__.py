"""``python -m bot``: read the config and DISCORD_TOKEN, build the engine, run the bot."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import aiohttp
import discord

from index.errors import ExitCode  # light: the engine itself is imported once the token is there

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"


# Said by libraries at start-up about things citebot does not use: voice support (discord.py warns
# that PyNaCl and davey are missing), and faiss's probe of CPU-specific builds ("Could not load
# library with AVX2 support", at INFO, before it loads the generic one). Shown at DEBUG only.
_VOICE_WARNING = "voice will NOT be supported"
QUIET_LOGGERS = ("faiss.loader",)


class _VoiceNotice(logging.Filter):
    """Turns discord.py's "voice will NOT be supported" warnings into DEBUG records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and _VOICE_WARNING in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def configure_logging(level: str = "INFO") -> None:
    """One handler on the root logger at ``level``, without the start-up noise of the libraries.

    What was loaded is said once, at INFO, by the bot itself (the model, the index build, how many
    articles and sentences, the reader on or off; see ``CitebotBot.warm_up``).
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    voice = logging.getLogger("discord.client")
    if not any(isinstance(f, _VoiceNotice) for f in voice.filters):
        voice.addFilter(_VoiceNotice())


def _fail(message: str) -> None:
    print(f"citebot: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the bot until it is stopped.

    Args:
        argv: Command-line arguments (``--config``, ``--log-level``); ``sys.argv`` by default.

    Returns:
        The exit code: 0 after a clean stop, 2 without a token, the engine's code for a bad config,
        10 when Discord rejects the token, 11 when a privileged intent is not enabled, 12 when
        Discord cannot be reached.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Run citebot in Discord. The bot token is read from $DISCORD_TOKEN only."
    )
    parser.add_argument("--config", help="config file (default: $CITEBOT_CONFIG or config.yaml)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    configure_logging(args.log_level)

    # Only from the environment: a token in a file sits one `git add` away from being published.
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        _fail(f"{TOKEN_ENV} is not set; export the bot token from the Discord developer portal and run again")
        return ExitCode.USAGE

    # Imported here, not at the top: the engine pulls in numpy, faiss and the model, and a missing
    # token should be reported at once.
    from index.config import load_config
    from index.errors import CitebotError

    from .client import create_bot

    try:
        config = load_config(args.config)
    except CitebotError as exc:
        _fail(str(exc))
        return exc.exit_code

    from index.engine import Engine

    bot = create_bot(config, Engine(config))
    try:
        # log_handler=None: logging is configured above; discord.py must not add a second handler.
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        # One attempt, no retry: a rejected token stays rejected, and retrying looks like abuse.
        _fail(f"Discord rejected the token in {TOKEN_ENV}; copy it again from the developer portal (Bot > Token)")
        return ExitCode.TOKEN_REJECTED
    except discord.PrivilegedIntentsRequired:
        _fail(
            "Discord refused the Message Content intent: enable it for the bot in the developer portal, "
            "or set bot.qa_channels to [], bot.command_prefix to '' and bot.threads to false "
            "(mentions and slash commands still work)"
        )
        return ExitCode.INTENTS
    except aiohttp.ClientConnectionError as exc:
        _fail(f"cannot reach Discord ({exc}); check the network and try again")
        return ExitCode.UNREACHABLE
    except CitebotError as exc:
        _fail(str(exc))
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
