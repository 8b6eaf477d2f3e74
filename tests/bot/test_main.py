"""``python -m bot``: the token only from the environment, one clear line and an exit code on failure."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import discord.http
import pytest

from bot.__main__ import main
from index.errors import ExitCode
from tests.bot.fakediscord import FakeDiscord
from tests.conftest import ROOT

TOKEN = "MTIzNDU2Nzg5.rejected.token-value"


def test_no_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    # Token files in the working folder are not read: the environment is the only source.
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={TOKEN}\n")
    (tmp_path / "DISCORD_TOKEN").write_text(TOKEN)
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("citebot: DISCORD_TOKEN is not set")


def test_a_bad_config_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("bot:\n  cooldown_seconds: soon\n")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert main(["--config", str(tmp_path / "config.yaml")]) == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert "'bot.cooldown_seconds' must be a number" in line


def test_a_rejected_token_is_one_line_and_no_retry(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    (tmp_path / "config.yaml").write_text("corpus_dir: corpus\nindex_dir: index\n")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    fake = FakeDiscord(reject_token=True)
    with fake.running_in_thread():  # main() runs its own event loop
        code = main(["--config", str(tmp_path / "config.yaml"), "--log-level", "DEBUG"])
    assert code == ExitCode.TOKEN_REJECTED
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("citebot: Discord rejected the token in DISCORD_TOKEN")
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/users/@me")]  # one try, then stop
    assert TOKEN not in caplog.text and TOKEN not in line


def test_an_unreachable_discord_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("corpus_dir: corpus\nindex_dir: index\n")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")  # nothing listens there
    assert main(["--config", str(tmp_path / "config.yaml")]) == ExitCode.UNREACHABLE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("citebot: cannot reach Discord")
