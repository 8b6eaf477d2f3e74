"""The bot is a thin shell: importing it loads no part of the model stack."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("numpy", "faiss", "sentence_transformers", "torch", "transformers")
BOT_MODULES = (
    "bot",
    "bot.__main__",
    "bot.autocomplete",
    "bot.checks",
    "bot.client",
    "bot.cogs.ask",
    "bot.cogs.corpus",
    "bot.cogs.help",
    "bot.errors",
    "bot.help",
    "bot.pages",
    "bot.render",
    "bot.replies",
    "bot.threads",
    "bot.views",
)


def test_importing_the_bot_loads_no_model_stack() -> None:
    # A fresh interpreter: this test process has loaded the engine long ago.
    code = (
        "import importlib, json, sys\n"
        f"for name in {BOT_MODULES!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
