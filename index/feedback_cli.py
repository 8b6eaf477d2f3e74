"""``python -m index feedback``: what people said about the bot's answers (``bot.feedback_db``).

``stats`` counts answers and votes; ``export FILE`` writes the voted questions in the evaluation
format, for regression sets (what a vote becomes is said in :mod:`index.feedback`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .feedback import FeedbackStore

if TYPE_CHECKING:
    from .config import Config


def database(config: Config) -> Path:
    """The feedback database the config names (``bot.feedback_db``, which load_config always resolves)."""
    assert config.bot.feedback_db is not None
    return config.bot.feedback_db


def print_stats(path: Path, as_json: bool) -> None:
    """Count the stored answers and the votes on them, by verdict and by index build."""
    if not path.exists():
        if as_json:
            click.echo(json.dumps({"answers": 0, "voted": 0, "database": str(path)}))
        else:
            click.echo(f"No feedback yet ({path} does not exist).")
        return
    with FeedbackStore(path) as store:
        s = store.stats()
    if as_json:
        click.echo(json.dumps({**s.to_dict(), "database": str(path)}, indent=2))
        return
    v = s.votes
    click.echo(f"{path}: {s.answers:,} answers stored, {s.voted:,} with votes")
    click.echo(
        f"votes: {v['up']} helped, {v['wrong']} a quote wrong, {v['none']} none answers, "
        f"{v['abstain']} should have said it doesn't know"
    )
    if s.wrong_by_position:
        click.echo("wrong quotes by position: " + ", ".join(f"[{n}] {c}" for n, c in s.wrong_by_position.items()))
    for build_id, counts in s.by_build.items():
        click.echo(f"build {build_id or '(unknown)'}: " + ", ".join(f"{k} {c}" for k, c in sorted(counts.items())))
    click.echo(f"exportable questions: {s.exportable} ({s.disputed} disputed, left out)")


def write_export(path: Path, file: Path) -> None:
    """Write the voted questions to ``file`` as JSON lines (see the ``feedback export`` command)."""
    items = []
    if path.exists():
        with FeedbackStore(path) as store:
            items = store.export()
    with file.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    answerable = sum(1 for i in items if i["answers"])
    noun = "question" if len(items) == 1 else "questions"
    click.echo(f"wrote {len(items)} {noun} to {file} ({answerable} answerable, {len(items) - answerable} not)")
