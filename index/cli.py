"""The command line: build, ask, add, remove, list. Errors are one line on stderr and an exit code.

Exit codes: 0 ok (an abstention is an answer, not an error); 1 other error; 2 usage;
3 config; 4 no index or an index that does not fit; 5 bad article or question (for ``build``:
some files were skipped, the rest indexed; for ``ask`` on standard input: some lines were refused,
the rest answered); 6 another build is running; 7 a URL could not be fetched; 8 no such article;
9 the index folder cannot be written; 130 interrupted (Ctrl-C).

The global options (``--config``, ``-q``, ...) go before or after the command's name; colour and
bold are for a terminal only, and never with ``NO_COLOR`` set.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, feedback_cli
from .answer import Conversation, Filters, make_filters, split_inline
from .config import Config, load_config
from .engine import Engine
from .errors import CitebotError, ExitCode, program_named
from .models import Answer, BuildReport, Citation

log = logging.getLogger(__name__)

# The prompt of ``ask`` without a question on a terminal; it says how to end, as there is no /quit.
PROMPT = "Question (Ctrl-D to end): "

# Line breaks and tabs inside article text are layout, not content: one space keeps a quote or a
# table row on its line. (U+0085 is C1 NEL; U+2028/U+2029 are the Unicode line/paragraph separators.)
_LAYOUT = "\t\n\r\x0b\x0c\x85\u2028\u2029"
# What a terminal may obey rather than show: C0 and C1 controls and DEL (ESC starts every escape
# sequence, BEL ends OSC ones, and 0x9b is a one-character CSI), the bidirectional controls that
# reorder what follows them (they can make text read other than it is), the Unicode line and
# paragraph separators, and lone surrogates.
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def for_terminal(text: str) -> str:
    """``text`` as it may be printed for people: nothing in it is obeyed by the terminal.

    Every text printed for people that may come from an article (a quote, a title, a source, a file
    name, an error about a file) passes through here; ``--json`` output does not (JSON escapes
    controls itself, and a program should get the values unchanged).

    Args:
        text: Any text.

    Returns:
        ``text`` with tabs and line breaks as single spaces and every other control character,
        bidirectional control and lone surrogate shown as a visible escape (``\\x1b``, ``\\u202e``);
        all other text, any script or emoji, is unchanged.
    """

    def visible(match: re.Match[str]) -> str:
        char = match.group()
        if char in _LAYOUT:
            return " "
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _UNSHOWABLE.sub(visible, text)


def _say(text: str, *, err: bool = False) -> None:
    """Print one line for people (see :func:`for_terminal`)."""
    click.echo(for_terminal(text), err=err)


def _say_err(text: str) -> None:
    _say(text, err=True)


class _TerminalFormatter(logging.Formatter):
    """Log records made safe for the terminal line by line (a traceback keeps its lines)."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(for_terminal(line) for line in super().format(record).split("\n"))


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _colour() -> bool:
    """Whether answers get colour and bold: only for people at a terminal, and never when ``NO_COLOR``
    has a value (no-color.org); a pipe, a file and ``--json`` get the plain text."""
    return _stdout_is_terminal() and not os.environ.get("NO_COLOR")


def _paint(text: str, **style: Any) -> str:
    """``text`` made safe (:func:`for_terminal`), then styled when :func:`_colour` allows.

    The one way styling reaches the output, so no article text is styled without being made safe
    first (and the styling's own escapes are not escaped away).
    """
    shown = for_terminal(text)
    return click.style(shown, **style) if _colour() else shown


class State:
    """The global options, wherever on the command line they were given, and the engine they make.

    The config is loaded on first use, not by the group: options after the command's name are read
    only after the group has run, and ``--config`` may be one of them.
    """

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}  # the global options given, by name (see _global_options)
        self._config: Config | None = None
        self._engine: Engine | None = None
        self._bar: Any = None  # the last progress bar, to clear on Ctrl-C

    @property
    def traceback(self) -> bool:
        return bool(self.options.get("traceback"))

    @property
    def quiet(self) -> bool:
        return bool(self.options.get("quiet"))

    @property
    def config(self) -> Config:
        if self._config is None:
            given = self.options
            self._config = load_config(
                given.get("config_path"), corpus_dir=given.get("corpus"), index_dir=given.get("index_dir")
            )
        return self._config

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.config, notice=self.notice)
        return self._engine

    def notice(self, message: str) -> None:
        """Say something on stderr that is neither a result nor an error, unless ``-q``.

        A slow first step (the one-time model export) and a stale index are said without -v: a user
        should not wait 20 s, or get answers from an old index, unawares; -q is asking not to be told.
        """
        if not self.quiet:
            _say_err(message)

    def progress(self, total: int) -> Callable[[int], None] | None:
        """A progress bar for a build's embedding on stderr, when someone watches it (a terminal, no -q)."""
        if self.quiet or total == 0 or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        # The total counts every text embedded: the new sentences (chunk vectors are pooled from them).
        bar = self._bar = tqdm(
            total=total, unit=" texts", unit_scale=False, desc="embedding", file=sys.stderr, leave=False
        )

        def update(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return update

    def end_progress(self) -> None:
        """Close the bar, which clears its line (closing one already closed does nothing)."""
        if self._bar is not None:
            self._bar.close()


def _fail(traceback: bool, exc: Exception) -> NoReturn:
    if traceback:
        raise exc
    if isinstance(exc, CitebotError):
        _say(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    _say(f"error: unexpected {type(exc).__name__}: {exc} (run with --traceback for details)", err=True)
    log.debug("unexpected error", exc_info=exc)
    sys.exit(ExitCode.ERROR)


def _interrupted(state: State) -> NoReturn:
    """Ctrl-C: the progress bar's line cleared, one line said, and 130, as shells report SIGINT.

    On a terminal the line is wiped whole first: the ^C the terminal echoed (or a prompt) would
    otherwise be left beside "interrupted".
    """
    state.end_progress()
    if sys.stderr.isatty():
        click.echo("\r\x1b[K", nl=False, err=True)
    click.echo("interrupted", err=True)
    sys.exit(ExitCode.INTERRUPTED)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keep a global option where it was given; one given after the command's name wins over one before."""
    if value is not None and value is not False and param.name:
        ctx.find_root().ensure_object(State).options[param.name] = value


def _global_options() -> list[click.Option]:
    """The options the group and every command take, so they work before or after the command's name.

    New objects for each command (click keeps state in them); their values go to the one
    :class:`State` (:func:`_remember`), so no command reads them itself.
    """

    def option(*decls: str, **attrs: Any) -> click.Option:
        return click.Option(list(decls), expose_value=False, callback=_remember, **attrs)

    return [
        option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="Config file (default: $CITEBOT_CONFIG or config.yaml).",
        ),
        option("--corpus", type=click.Path(file_okay=False), help="Corpus folder (overrides the config)."),
        option("--index-dir", type=click.Path(file_okay=False), help="Index folder (overrides the config)."),
        option(
            "-q", "--quiet", is_flag=True, help="No progress bar and no notices on stderr (results and errors still)."
        ),
        option("-v", "--verbose", is_flag=True, help="Log what the engine does."),
        option("--traceback", is_flag=True, help="Show the full traceback of an error (for developers)."),
    ]


def _program_name(ctx: click.Context) -> str:
    """The program as it was invoked: ``python -m index``, or ``citebot`` through the installed script."""
    return ctx.find_root().info_name or "citebot"


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``citebot 0.1.0``, named as invoked (click's version_option keeps the first name it saw, in-process)."""
    if value:
        click.echo(f"{_program_name(ctx)} {__version__}")
        ctx.exit()


class _TakesGlobalOptions(click.Command):
    """The group and every command: the global options, and help that names the program as invoked.

    A command's own option of the same name wins (``eval --corpus`` is its question set's articles);
    ``global_options=False`` leaves them out (``train-reader`` passes its arguments on).
    Help texts write the program as ``%(prog)s``.
    """

    def __init__(self, *args: Any, global_options: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if global_options:
            taken = {opt for param in self.params for opt in param.opts}
            self.params.extend(p for p in _global_options() if taken.isdisjoint(p.opts))

    def get_help(self, ctx: click.Context) -> str:
        return super().get_help(ctx).replace("%(prog)s", _program_name(ctx))


class CitebotCommand(_TakesGlobalOptions):
    """A command; logging is set up once its own options (-v and -q after its name) are read."""

    def invoke(self, ctx: click.Context) -> Any:
        _start_logging(ctx.ensure_object(State))
        return super().invoke(ctx)


def _start_logging(state: State) -> None:
    """-v logs what the engine does; -q only its errors (warnings are notices too)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    verbose = bool(state.options.get("verbose"))
    level = logging.INFO if verbose else logging.ERROR if state.quiet else logging.WARNING
    logging.basicConfig(level=level, handlers=[handler])


class CitebotGroup(_TakesGlobalOptions, click.Group):
    """Turns every error of every command into one line and its exit code, and Ctrl-C into 130."""

    command_class = CitebotCommand

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            _interrupted(ctx.ensure_object(State))
        except Exception as exc:  # the one place errors become exit codes
            _fail(ctx.ensure_object(State).traceback, exc)


@click.group(cls=CitebotGroup, name="citebot", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version", is_flag=True, is_eager=True, expose_value=False, callback=_show_version, help="Show the version."
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """citebot: answer questions about news articles by quoting the sentences that answer them.

    \b
    Examples:
      %(prog)s build
      %(prog)s ask "who led the protest?"
      %(prog)s ask --config other.yaml --json "who led the protest?"

    The options below also work after the command's name; given in both places, the later wins.
    """
    ctx.ensure_object(State)
    ctx.with_resource(program_named(_program_name(ctx)))


def _print_report(report: BuildReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        rate = (
            f" ({report.embedded_sentences / report.embed_seconds:,.0f} sentences/s embedding)"
            if report.embedded_sentences and report.embed_seconds > 0
            else ""
        )
        click.echo(
            f"{_count(report.articles, 'article')}, {_count(report.sentences, 'sentence')} indexed: "
            f"{len(report.added)} added, {len(report.updated)} updated, {report.unchanged} unchanged, "
            f"{len(report.removed)} removed; {report.embedded_sentences} sentences embedded in "
            f"{report.seconds:.1f} s{rate}"
        )
        for label, ids in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
            if ids and len(ids) <= 20:
                _say(f"  {label}: {', '.join(ids)}")
    for item, reason in report.skipped:
        _say(f"skipped {item}: {reason}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
def build(state: State, as_json: bool) -> None:
    """Index the corpus folder (only new and changed articles are embedded).

    \b
    Examples:
      %(prog)s build
      %(prog)s build --config other.yaml --json
    """
    report = state.engine.rebuild(progress=state.progress)
    _print_report(report, as_json)
    if report.skipped:
        sys.exit(ExitCode.BAD_INPUT)


def _filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until, --source, --article (answer.filters), for ``ask`` and ``chat``."""
    for name, text in reversed(
        (
            ("since", "Only articles dated on or after this: YYYY-MM-DD, or 7d / 2w back from today."),
            ("until", "Only articles dated on or before this (same forms)."),
            ("source", "Only articles from this outlet: a domain (dawn.com) or the source field."),
            ("article", "Only this article (an id from `list`)."),
        )
    ):
        command = click.option(f"--{name}", default=None, metavar="VALUE" if name != "article" else "ID", help=text)(
            command
        )
    return command


@main.command()
@click.argument("question", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="How many citations (default: config).")
@_filter_options
@click.pass_obj
def ask(state: State, question: tuple[str, ...], as_json: bool, top_k: int | None, **filter_values: str | None) -> None:
    """Answer QUESTION; without one, answer each line of standard input (on a terminal, after a prompt).

    A line refused (too long, say) is said on stderr, or as {"question", "error"} with --json, and
    the rest are still answered; the exit code is then 5.

    \b
    Examples:
      %(prog)s ask "who led the protest?"
      %(prog)s ask --since 2024-11-01 --source dawn.com "who led the protest?"
      %(prog)s ask --json < questions.txt
    """
    filters = _filters(filter_values)
    given = None if filters.is_empty() else filters
    if question:
        answer = state.engine.ask(" ".join(question), top_k=top_k, filters=given)
        _print_answer(answer, as_json)
        return
    interactive, refused = _stdin_is_terminal(), False
    for number, line in _questions(interactive):
        try:
            answer = state.engine.ask(line, top_k=top_k, filters=given)
        except CitebotError as exc:
            if exc.exit_code != ExitCode.BAD_INPUT:
                raise
            refused = True
            _refuse(line, exc, as_json, where="" if interactive else f"line {number}: ")
        else:
            _print_answer(answer, as_json)
        sys.stdout.flush()
    if refused:
        sys.exit(ExitCode.BAD_INPUT)


def _questions(interactive: bool) -> Iterator[tuple[int, str]]:
    """Each non-blank line of standard input with its line number; on a terminal, each after a prompt.

    The prompt goes to stderr, so stdout holds only answers; at the end (Ctrl-D) a line break lets
    the shell's prompt start on its own line.
    """
    number = 0
    while True:
        if interactive:
            click.echo(PROMPT, nl=False, err=True)
        raw = sys.stdin.readline()
        if not raw:
            if interactive:
                click.echo("", err=True)
            return
        number += 1
        if raw.strip():
            yield number, raw.strip()


def _refuse(line: str, exc: CitebotError, as_json: bool, *, where: str) -> None:
    """A question of a batch the engine refused: said for its line alone, so the batch can go on."""
    if as_json:
        click.echo(json.dumps({"question": line, "error": str(exc)}, ensure_ascii=False))
    else:
        _say_err(f"error: {where}{exc}")


@main.command()
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="How many citations (default: config).")
@_filter_options
@click.pass_obj
def chat(state: State, top_k: int | None, **filter_values: str | None) -> None:
    """Ask questions one after another; follow-ups remember the conversation.

    \b
    "what did she say next?" quotes the sentence after the last quote, "when?" asks about what the
    question before it asked, he/she/they stand for the one name of the last quote. Filters can be
    given as options for the whole session or inline: since:7d source:dawn.com who led the protest?
    End with /quit, Ctrl-D or Ctrl-C.

    \b
    Examples:
      %(prog)s chat
      %(prog)s chat --source dawn.com
    """
    base = _filters(filter_values)
    engine, talk = state.engine, Conversation()
    engine.snapshot()  # no index: fail now, before the first prompt
    _enable_history()
    interactive = _stdin_is_terminal()
    if interactive:
        state.notice("Ask about the indexed articles; /quit, Ctrl-D or Ctrl-C ends.")
    while True:
        try:
            line = input("> " if interactive else "").strip()
        except (EOFError, KeyboardInterrupt):
            if interactive:
                click.echo("", err=True)
            return
        if line in ("/quit", "/exit", "/q"):
            return
        if not line:
            continue
        try:
            inline, question = split_inline(line)
            filters = base.overridden_by(inline)
            answer = engine.ask(question, top_k=top_k, filters=filters, conversation=talk)
        except CitebotError as exc:
            if exc.exit_code != ExitCode.BAD_INPUT:
                raise
            _say(f"error: {exc}", err=True)
            continue
        _print_answer(answer, False)
        sys.stdout.flush()


def _filters(values: dict[str, str | None]) -> Filters:
    return make_filters(
        since=values.get("since"), until=values.get("until"), source=values.get("source"), article=values.get("article")
    )


def _enable_history() -> None:
    """Line editing and up-arrow history for ``chat`` on a terminal (readline, where Python has it)."""
    if not _stdin_is_terminal():
        return
    try:
        import readline  # noqa: F401  (importing it gives input() editing and history)
    except ImportError:
        return


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    _say(f"Q: {answer.question}")
    if answer.read_as:
        _say(f"   (read as: {answer.read_as})")
    if answer.filters:
        _say(f"   (within: {answer.filters_text})")
    if answer.abstained:
        click.echo("The indexed articles don't say.")
        if answer.closest is not None:
            click.echo("Closest I found — it may not answer your question:")
            click.echo(f'   "{_quote(answer.closest)}"')
            click.echo(f"   {_citation_line(answer.closest)}")
    for n, c in enumerate(answer.citations, 1):
        click.echo(f'{n}. "{_quote(c)}"')
        click.echo(f"   {_citation_line(c)}")
    click.echo("")


def _quote(c: Citation) -> str:
    """The quote in bold, its answering phrase (``highlight``) also underlined; verbatim without colour."""
    text, span = c.text, c.highlight
    if span is None or not _colour():
        body = _paint(text, bold=True)
    else:
        a, b = span
        plain, phrase = {"bold": True}, {"bold": True, "underline": True}
        body = "".join(
            _paint(part, **style) for part, style in ((text[:a], plain), (text[a:b], phrase), (text[b:], plain)) if part
        )
    return ("…" if c.cut_start else "") + body + ("…" if c.cut_end else "")


def _citation_line(c: Citation) -> str:
    """Where a quote is from in cyan, its ids and score dimmed: told apart from the bold quote at a glance.

    A quote chosen by a follow-up rule has score 0 (no model scored it), so it shows none.
    """
    where = " · ".join(x for x in (c.title, c.date, f"sentence {c.sentence}") if x)
    line = f"{_paint(f'[{where}]', fg='cyan')}  {_paint(f'({c.article_id}, {c.source})', dim=True)}"
    return line + (f"  {_paint(f'score {c.score:.2f}', dim=True)}" if c.score else "")


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print each report as one JSON object.")
@click.pass_obj
def add(state: State, sources: tuple[str, ...], as_json: bool) -> None:
    """Add or update articles from files (.txt, .md, .html) or http(s) URLs.

    \b
    Examples:
      %(prog)s add ~/Downloads/article.html notes.md
      %(prog)s add https://www.dawn.com/news/1875613
    """
    code = 0
    for source in sources:
        try:
            report = state.engine.add(source, progress=state.progress)
        except CitebotError as exc:
            if state.traceback:
                raise
            _say(f"error: {exc}", err=True)
            code = code or exc.exit_code
            continue
        _print_report(report, as_json)
    sys.exit(code)


@main.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
def remove(state: State, article_id: str, as_json: bool) -> None:
    """Remove an article (its file moves to corpus/.removed/).

    \b
    Example (ARTICLE_ID as `list` shows it):
      %(prog)s remove harbour-tunnel
    """
    _print_report(state.engine.remove(article_id), as_json)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of articles.")
@click.pass_obj
def list_articles(state: State, as_json: bool) -> None:
    """List the indexed articles: id, title, date, sentences, source (tab-separated; the count on stderr).

    \b
    Examples:
      %(prog)s list
      %(prog)s list --json
    """
    articles = state.engine.articles()
    if as_json:
        click.echo(json.dumps([asdict(a) for a in articles], ensure_ascii=False))
        return
    for a in articles:
        # Each field on its own, so a tab inside a title cannot shift the columns.
        fields = (a.id, a.title, a.date or "-", str(a.sentences), a.source)
        click.echo("\t".join(for_terminal(f) for f in fields))
    state.notice(_count(len(articles), "article"))


@main.command(
    "train-reader",
    global_options=False,  # everything after the name is the trainer's
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train_reader(args: tuple[str, ...]) -> None:
    """Train the reader (a cross-encoder) from ../shared/training-data; --help shows its options.

    \b
    Example (the shipped model, in the background, with progress in its log):
      nohup %(prog)s train-reader --budget-minutes 78 &
    """
    from .reader.train import main as train_main

    sys.exit(train_main(list(args)))


@main.command("fit")
@click.argument("question_sets", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True, help="Folds, by article.")
@click.option("--l2", type=float, default=1.0, show_default=True, help="L2 shrinkage of the logistic models.")
@click.option("--write", is_flag=True, help="Refit on everything and write index/answer/weights.json.")
@click.pass_obj
def fit_command(state: State, question_sets: tuple[str, ...], folds: int, l2: float, write: bool) -> None:
    """Fit the answer models on question sets, cross-validated by article, and print held-out figures.

    \b
    Example (the shipped weights):
      %(prog)s fit eval/news/questions.jsonl ../shared/eval/xquad-dev/questions.jsonl --write
    """
    from pathlib import Path

    from .fit import run

    run(
        state.config,
        [Path(p) for p in question_sets],
        folds=folds,
        l2=l2,
        write=write,
        say=click.echo,
        encoder=state.engine.encoder,
        reader=state.engine.reader if state.config.search.read else None,
    )


@main.command("eval")
@click.argument("question_sets", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--corpus", "eval_corpus", type=click.Path(file_okay=False), default=None, help="The set's articles.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--details", type=click.Path(dir_okay=False), default=None, help="Write per-question results (JSONL).")
@click.option("--no-baselines", is_flag=True, help="Measure citebot only.")
@click.option("--twins", is_flag=True, help="Also ask each answerable question lower-cased, without '?' and misspelt.")
@click.pass_obj
def eval_command(
    state: State,
    question_sets: tuple[str, ...],
    eval_corpus: str | None,
    as_json: bool,
    details: str | None,
    no_baselines: bool,
    twins: bool,
) -> None:
    """Measure answer quality on question sets (QUESTIONS.jsonl beside articles/ or articles.jsonl).

    \b
    Examples:
      %(prog)s eval eval/news/questions.jsonl
      %(prog)s eval --twins --no-baselines eval/chat/questions.jsonl
    """
    from pathlib import Path

    from .evaluate import evaluate, evaluate_conversations

    reports = []
    for path in question_sets:
        if Path(path).name == "conversations.jsonl":
            figures = evaluate_conversations(state.config, Path(path), encoder=state.engine.encoder, log=state.notice)
            if as_json:
                click.echo(json.dumps({"conversations": figures}, indent=1))
            else:
                click.echo("")
                _say(f"{Path(path).parent.name} conversations (each turn asked in its conversation, and alone):")
                for key, value in figures.items():
                    if not key.endswith(" n"):
                        click.echo(f"  {key:<34}{value:.3f}  (of {figures[key + ' n']:.0f})")
            continue
        report = evaluate(
            state.config,
            Path(path),
            corpus=Path(eval_corpus) if eval_corpus else None,
            encoder=state.engine.encoder,
            baselines=not no_baselines,
            twins=twins,
            log=state.notice,
        )
        reports.append(report)
    if details:
        with open(details, "w", encoding="utf-8") as f:
            for report in reports:
                for row in report.details:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if as_json:
        payload = {r.name: {"methods": r.methods, "latency_ms": r.latency_ms} for r in reports}
        click.echo(json.dumps(payload, indent=1))
        return
    for r in reports:
        first = r.methods["citebot"]
        click.echo("")
        _say(f"{r.name}: {first['questions']} questions, {first['answerable']} answerable")
        click.echo(f"{'method':<17}{'hit@1':>7}{'hit@3':>7}{'rec@5':>7}{'mrr@10':>8}{'abst P':>8}{'abst R':>8}")
        for name, m in r.methods.items():
            cells = [
                _fmt(m[k]) for k in ("hit@1", "hit@3", "recall@5", "mrr@10", "abstain_precision", "abstain_recall")
            ]
            _say(f"{name:<17}{cells[0]:>7}{cells[1]:>7}{cells[2]:>7}{cells[3]:>8}{cells[4]:>8}{cells[5]:>8}")
        kinds = [(k[len("abstain_recall[") : -1], v) for k, v in first.items() if k.startswith("abstain_recall[")]
        if kinds:
            recalls = ", ".join(f"{kind} questions {_fmt(v)}" for kind, v in kinds)
            _say(f"(citebot's abstention recall on {recalls})")
        if first.get("twins_same_first") is not None:
            click.echo(
                f"(twin questions, lower case / no '?' / a typo: the same first quote {first['twins_same_first']:.3f})"
            )
        tutorial = r.methods.get("tutorial-chunks", {}).get("chunk_hit@1")
        if tutorial is not None:
            click.echo(f"(tutorial-chunks: its top 1,000-character chunk contains an answer for {tutorial:.3f})")
        lat = r.latency_ms
        click.echo(f"citebot ask latency: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@main.group(cls=CitebotGroup)
def feedback() -> None:
    """The votes under the bot's answers: counts, and questions for the evaluation sets.

    \b
    Examples:
      %(prog)s feedback stats
      %(prog)s feedback export eval/feedback/questions.jsonl
    """


@feedback.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_obj
def feedback_stats(state: State, as_json: bool) -> None:
    """Count the stored answers and the votes on them, by verdict and by index build.

    \b
    Examples:
      %(prog)s feedback stats
      %(prog)s feedback stats --json --config other.yaml
    """
    feedback_cli.print_stats(feedback_cli.database(state.config), as_json)


@feedback.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.pass_obj
def feedback_export(state: State, file: Path) -> None:
    """Write the voted questions to FILE as JSON lines, in the format of eval/chat/questions.jsonl.

    A confirmed quote (👍) becomes a gold answer; "none of them answers" and "it should have said it
    doesn't know" become unanswerable questions; a vote that one quote is wrong exports nothing.

    \b
    Examples:
      %(prog)s feedback export eval/feedback/questions.jsonl
    """
    feedback_cli.write_export(feedback_cli.database(state.config), file)
