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


def _db(ctx: click.Context) -> Path:
    config: Config = ctx.obj.config  # the State of index.cli: --config and --index-dir are followed
    assert config.bot.feedback_db is not None  # load_config always resolves it
    return config.bot.feedback_db


@click.group("feedback")
def feedback() -> None:
    """The votes under the bot's answers: counts, and questions for the evaluation sets."""


@feedback.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Count the stored answers and the votes on them, by verdict and by index build."""
    path = _db(ctx)
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


@feedback.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.pass_context
def export(ctx: click.Context, file: Path) -> None:
    """Write the voted questions to FILE as JSON lines, in the format of eval/chat/questions.jsonl.

    A confirmed quote (👍) becomes a gold answer; "none of them answers" and "it should have said it
    doesn't know" become unanswerable questions; a vote that one quote is wrong exports nothing.
    """
    path = _db(ctx)
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
