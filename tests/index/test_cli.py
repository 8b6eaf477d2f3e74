"""The command line as a user meets it: output, --json, stdin, and one-line errors with exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import index
import index.cli
import index.engine
import index.errors
from index.cli import PROMPT, State, main
from index.embed import Encoder
from tests.conftest import FIXTURES, ROOT, SEED, SEED_ID, write_config

CITATION_KEYS = {
    "text",
    "article_id",
    "title",
    "date",
    "source",
    "sentence",
    "start",
    "end",
    "score",
    "cut_start",
    "cut_end",
    "highlight",
}


@pytest.fixture
def project(tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with config.yaml and a corpus holding the seed; the CLI shares the session's model."""
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(index.engine, "default_encoder", lambda config, **kw: encoder)
    return tmp_path


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_build_then_ask_for_people(project: Path) -> None:
    built = run("build")
    assert built.exit_code == 0
    assert built.output.startswith("1 article, 18 sentences indexed: 1 added")
    again = run("build")
    assert "0 added, 0 updated, 1 unchanged, 0 removed; 0 sentences embedded" in again.output
    result = run("ask", "who led the protest?")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Q: who led the protest?"
    assert lines[1].startswith("1. \"Khan's wife, Bushra Bibi, led the latest protest")
    assert "2024-11-27 · sentence 5]" in lines[2]
    abstained = run("ask", "what", "is", "the", "capital", "of", "Peru?")  # words need no quotes
    assert abstained.exit_code == 0
    assert abstained.output.splitlines()[:2] == ["Q: what is the capital of Peru?", "The indexed articles don't say."]


def test_ask_json_is_one_object_with_ranked_citations(project: Path) -> None:
    run("build")
    result = run("ask", "--json", "--top-k", "2", "where is D-Chowk?")
    answer = json.loads(result.output)
    assert answer["question"] == "where is D-Chowk?" and answer["abstained"] is False
    assert 1 <= len(answer["citations"]) <= 2
    first = answer["citations"][0]
    assert set(first) == CITATION_KEYS
    assert first["article_id"] == SEED_ID and first["text"].startswith("D-Chowk is a large square")
    assert {"more", "closest", "build_id"} <= set(answer) and answer["closest"] is None
    text = (project / "corpus" / SEED.name).read_text()
    assert first["text"] in text


def test_stdin_questions_answer_line_by_line_and_flush(project: Path) -> None:
    run("build")
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", "--config", str(project / "config.yaml"), "ask", "--json"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write("who led the protest?\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())  # arrives before the second question is even sent
    assert "Bushra Bibi" in first["citations"][0]["text"]
    proc.stdin.write("\n" + "x" * 10_000 + "\nwhat is the capital of Peru?\n")
    proc.stdin.close()
    rest = [json.loads(line) for line in proc.stdout.read().splitlines()]
    assert proc.wait(timeout=120) == 5  # one question was refused; the others were answered
    assert "10,000 characters" in rest[0]["error"]
    assert rest[1]["abstained"] is True


def test_list_shows_id_title_date_sentences_source(project: Path) -> None:
    run("build")
    shutil.copy(FIXTURES / "articles" / "library-levy.md", project / "corpus")
    run("build")
    rows = [line.split("\t") for line in run("list").stdout.splitlines()]
    assert [r[0] for r in rows] == [SEED_ID, "library-levy"]
    assert rows[1][1:3] == ["Voters back library levy in Ostby referendum", "2026-05-09"]
    assert int(rows[1][3]) > 3 and rows[1][4] == "https://example.org/news/library-levy"
    as_json = json.loads(run("list", "--json").stdout)
    assert as_json[1]["id"] == "library-levy" and as_json[1]["sentences"] == int(rows[1][3])


def test_add_and_remove_from_the_command_line(project: Path) -> None:
    run("build")
    added = run("add", str(FIXTURES / "articles" / "harbour-tunnel.md"))
    assert added.exit_code == 0 and "1 added" in added.output
    removed = run("remove", "harbour-tunnel")
    assert removed.exit_code == 0 and "1 removed" in removed.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ask", ""], 5, "error: the question is empty"),
        (["ask", "x" * 10_000], 5, "error: the question is 10,000 characters long; the limit is 1,000"),
        (["add", "no-such-file.txt"], 5, "error: no-such-file.txt does not exist"),
        (["remove", "nope"], 8, "error: no article with id 'nope'"),
        (["remove", "../../etc/passwd"], 5, "is not a valid article id"),
        (["--config", "missing.yaml", "list"], 3, "error: config file missing.yaml does not exist"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(project: Path, args: list[str], code: int, message: str) -> None:
    run("build")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code
    assert result.output.strip().count("\n") == 0 and message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("program", ["citebot", "python -m index"])
def test_no_index_yet_says_how_to_build_one_named_as_invoked(project: Path, program: str) -> None:
    result = CliRunner().invoke(main, ["ask", "who led the protest?"], prog_name=program)
    assert result.exit_code == 4
    assert result.output.strip() == (
        f"error: no index in {project / 'index'} yet; run `{program} build` to index the corpus"
    )
    assert index.errors.command("build") == "`python -m index build`"  # the engine's default again after


def test_a_config_error_names_the_key(project: Path) -> None:
    (project / "config.yaml").write_text("search:\n  top_k: many\n")
    result = CliRunner().invoke(main, ["ask", "x"])
    assert result.exit_code == 3 and "'search.top_k' must be a whole number, got 'many'" in result.output


def test_traceback_is_shown_only_when_asked(project: Path) -> None:
    result = CliRunner().invoke(main, ["--traceback", "ask", "who?"])
    assert isinstance(result.exception, index.errors.IndexMissingError)


@pytest.mark.parametrize("where", ["before", "after"])
def test_corpus_and_index_dir_options_override_the_config(project: Path, tmp_path_factory, where: str) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "articles").mkdir()
    shutil.copy(FIXTURES / "articles" / "orchard-festival.md", other / "articles")
    args = ["--corpus", str(other / "articles"), "--index-dir", str(other / "idx")]

    def line(command: str) -> list[str]:
        return [*args, command] if where == "before" else [command, *args]

    assert run(*line("build")).exit_code == 0
    assert [r.split("\t")[0] for r in run(*line("list")).stdout.splitlines()] == ["orchard-festival"]
    assert not (project / "index").exists()


def test_global_options_after_the_command_win_over_those_before(project: Path) -> None:
    assert run("build").exit_code == 0
    (project / "elsewhere").mkdir()
    write_config(project / "elsewhere")  # its corpus and index do not exist
    elsewhere = str(project / "elsewhere" / "config.yaml")
    answered = run("--config", elsewhere, "ask", "--config", "config.yaml", "who led the protest?")
    assert answered.exit_code == 0 and "Bushra Bibi" in answered.stdout
    missing = CliRunner().invoke(main, ["ask", "who?", "--config", "missing.yaml"])
    assert missing.exit_code == 3 and "config file missing.yaml does not exist" in missing.output
    # A command's own option of a global option's name stays its own: eval's --corpus is the set's articles.
    assert "--corpus DIRECTORY     The set's articles." in run("eval", "--help").output


def test_version_names_the_program(project: Path) -> None:
    assert run("--version").output == f"citebot {index.__version__}\n"
    named = CliRunner().invoke(main, ["--version"], prog_name="python -m index")
    assert named.exit_code == 0 and named.output == f"python -m index {index.__version__}\n"


def test_the_installed_script_is_named_citebot(tmp_path: Path) -> None:
    script = tmp_path / "citebot"  # what pip writes for [project.scripts]: citebot = "index.cli:main"
    script.write_text("import sys\nfrom index.cli import main\nsys.exit(main())\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(script), "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout == f"citebot {index.__version__}\n"
    usage = subprocess.run([sys.executable, str(script), "build", "--help"], capture_output=True, text=True, env=env)
    assert "Usage: citebot build" in usage.stdout and "  citebot build --config other.yaml --json" in usage.stdout


@pytest.mark.parametrize("program", ["citebot", "python -m index"])
def test_every_command_has_examples_in_its_help(program: str) -> None:
    for name in main.commands:
        if name == "train-reader":  # its --help is the trainer's
            continue
        shown = CliRunner().invoke(main, [name, "--help"], prog_name=program).output
        assert "Example" in shown and f"\n    {program} {name}" in shown, name
        assert "%(prog)s" not in shown
    assert f"\n    {program} ask " in CliRunner().invoke(main, ["--help"], prog_name=program).output


def test_quiet_says_no_notices_but_still_results_and_errors(project: Path) -> None:
    assert run("build").exit_code == 0
    seed = project / "corpus" / SEED.name
    seed.write_text(seed.read_text(encoding="utf-8") + "\nOne more paragraph came in later.\n", encoding="utf-8")
    assert "1 article changed" in run("ask", "who led the protest?").stderr  # the notice -q silences
    for args in (["-q", "ask", "who led the protest?"], ["ask", "--quiet", "who led the protest?"]):
        quiet = run(*args)
        assert quiet.exit_code == 0 and "Bushra Bibi" in quiet.stdout and quiet.stderr == ""
    listed = run("list", "-q")
    assert listed.stdout.startswith(SEED_ID) and listed.stderr == ""
    refused = CliRunner().invoke(main, ["-q", "ask", ""])
    assert refused.exit_code == 5 and refused.stderr.startswith("error: the question is empty")


def test_quiet_shows_no_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    state = State()
    update = state.progress(10)
    assert update is not None  # on a terminal, a bar
    update(10)
    state.options["quiet"] = True
    assert state.progress(10) is None


def test_ask_on_a_terminal_prompts_and_says_how_to_end(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("build").exit_code == 0
    monkeypatch.setattr(index.cli, "_stdin_is_terminal", lambda: True)
    result = run("ask", input="who led the protest?\n\nwhat is the capital of Peru?\n")
    assert result.exit_code == 0
    assert result.stderr == PROMPT * 4 + "\n"  # before each line and before the end; then a line break
    assert "Ctrl-D" in PROMPT
    questions = [line for line in result.stdout.splitlines() if line.startswith("Q: ")]
    assert questions == ["Q: who led the protest?", "Q: what is the capital of Peru?"]


def test_a_refused_line_is_said_and_the_batch_goes_on(project: Path) -> None:
    assert run("build").exit_code == 0
    lines = "who led the protest?\n" + "x" * 10_000 + "\n\nwhat is the capital of Peru?\n"
    result = run("ask", input=lines)
    assert result.exit_code == 5
    assert result.stderr == "error: line 2: the question is 10,000 characters long; the limit is 1,000\n"
    questions = [line for line in result.stdout.splitlines() if line.startswith("Q: ")]
    assert questions == ["Q: who led the protest?", "Q: what is the capital of Peru?"]
    assert "Bushra Bibi" in result.stdout and "The indexed articles don't say." in result.stdout


BOLD, CYAN, DIM, UNDERLINE = "\x1b[1m", "\x1b[36m", "\x1b[2m", "\x1b[4m"


def test_answers_are_coloured_only_on_a_terminal_without_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("build").exit_code == 0

    def ask(*args: str) -> str:
        # color=True: CliRunner keeps escapes, so whatever is plain here was made plain by citebot.
        return CliRunner().invoke(main, ["ask", *args, "who led the protest?"], color=True).stdout

    assert "\x1b[" not in ask()  # piped: not a terminal
    monkeypatch.setattr(index.cli, "_stdout_is_terminal", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    lines = ask().splitlines()
    assert lines[0] == "Q: who led the protest?"
    assert lines[1].startswith(
        f"1. \"{BOLD}Khan's wife, \x1b[0m{BOLD}{UNDERLINE}Bushra Bibi\x1b[0m{BOLD}, led the latest protest"
    )
    assert lines[2].startswith(f"   {CYAN}[") and f"{DIM}({SEED_ID}, " in lines[2]
    assert re.search(rf"{re.escape(DIM)}score 0\.\d\d\x1b\[0m$", lines[2])
    assert "\x1b[" not in ask("--json")
    monkeypatch.setenv("NO_COLOR", "")  # empty is unset, per no-color.org
    assert BOLD in ask()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = ask()
    assert "\x1b[" not in plain and re.search(r"\)  score 0\.\d\d$", plain.splitlines()[2])
    assert "Khan's wife, Bushra Bibi, led the latest protest" in plain  # the answering phrase: verbatim


def _many_articles(folder: Path, n: int) -> None:
    """``n`` distinct articles of 12 sentences each: a build long enough to interrupt mid-embedding."""
    for i in range(n):
        body = " ".join(
            f"The council of district {i} voted on measure {j} after a debate about road {i * 13 + j}."
            for j in range(12)
        )
        (folder / f"district-{i:04d}.txt").write_text(f"District {i} council votes\n\n{body}\n", encoding="utf-8")


def _read_pty(fd: int, until: bytes | None, timeout: float) -> bytes:
    """What arrives on a pty's master side: until ``until`` is seen, or (None) until the other side closes."""
    got, deadline = b"", time.monotonic() + timeout
    while (until is None or until not in got) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every copy of the other side is closed
            break
        if not chunk:
            break
        got += chunk
    return got


def test_ctrl_c_during_a_build_exits_130_clears_the_bar_and_keeps_the_old_index(project: Path) -> None:
    assert run("build").exit_code == 0
    index_dir = project / "index"
    published, builds = (index_dir / "CURRENT").read_text(), sorted(os.listdir(index_dir / "builds"))
    # Enough to embed for many seconds on a loaded machine: the interrupt must find it mid-build
    # (it stops there, so the size costs nothing).
    _many_articles(project / "corpus", 500)
    master, terminal = pty.openpty()  # stderr on a terminal, so there is a progress bar to clear
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # tqdm draws nothing in 0x0
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", "--config", str(project / "config.yaml"), "build"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    try:
        shown = _read_pty(master, b"embedding", timeout=120)
        assert b"embedding" in shown, shown
        proc.send_signal(signal.SIGINT)
        shown += _read_pty(master, None, timeout=60)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
        os.close(master)
    assert proc.stdout and proc.stdout.read() == b""  # no report: nothing was built
    # The bar's line is wiped, and "interrupted" is the one line after it (the pty writes \r\n).
    assert shown.endswith(b"\r\x1b[Kinterrupted\r\n"), shown[-200:]
    assert b"Traceback" not in shown and b"Aborted" not in shown
    assert (index_dir / "CURRENT").read_text() == published
    assert sorted(os.listdir(index_dir / "builds")) == builds  # no half-written build left beside it
    listed = run("list")
    assert listed.exit_code == 0 and listed.stdout.split("\t")[0] == SEED_ID


def test_the_installed_entry_point_is_the_same_cli() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "index", "--help"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and "build" in out.stdout and "ask" in out.stdout


# An article that tries to drive the reader's terminal: clear the screen, retitle the window (OSC,
# ended by BEL), and reverse the text after a right-to-left override. The title and source come
# through YAML escapes, the body holds the raw characters.
HOSTILE_MD = (
    "---\n"
    'title: "Pier closed \\e[2J\\e]0;pwned\\a \\u202eexe.txt\\ttab"\n'
    "date: 2026-02-03\n"
    'source: "https://example.org/pier\\e[31m"\n'
    "---\n"
    "The harbour authority closed the old pier on Monday \x1b[2J\x1b]0;pwned\x07 after engineers found cracks "
    "in its wooden pilings \u202eexe.txt near the ferry steps.\n\n"
    "Repairs to the pier will take at least two years and cost the city four million euros, officials said. "
    "Fishing boats will moor at the new quay in the meantime, the harbour master said on Tuesday. "
    "The pier was built in 1911 and last repaired in 1978, according to the city archive.\n"
)
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\x9b")


def test_article_text_cannot_drive_the_terminal(project: Path) -> None:
    corpus = project / "corpus"
    (corpus / "pier.md").write_text(HOSTILE_MD, encoding="utf-8")
    (corpus / "bad\x1b]0;x\x07.txt").write_bytes(b"\x00\x01 binary")  # its name is in the skip report
    (corpus / "bomb.md").write_text(
        "---\na: &a [lol, lol]\nb: &b [*a, *a]\ntitle: [*b, *b]\n---\nThe text.\n", encoding="utf-8"
    )
    built = run("build")
    assert built.exit_code == 5  # the bad files are skipped, the rest indexed
    assert built.stdout.startswith("2 articles")
    assert "skipped bomb.md: bomb.md: the front matter uses YAML anchors or aliases" in built.output
    assert "skipped bad\\x1b]0;x\\x07.txt: bad\\x1b]0;x\\x07.txt looks like a binary file" in built.output

    result = run("ask", "when did the harbour authority close the old pier?")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1].startswith(
        '1. "The harbour authority closed the old pier on Monday \\x1b[2J\\x1b]0;pwned\\x07 after'
    )
    assert "pilings \\u202eexe.txt near" in lines[1]
    assert "[Pier closed \\x1b[2J\\x1b]0;pwned\\x07 \\u202eexe.txt tab · 2026-02-03 · sentence 1]" in lines[2]
    assert "(pier, https://example.org/pier\\x1b[31m)" in lines[2]

    listed = run("list")
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[1] == [
        "pier",
        "Pier closed \\x1b[2J\\x1b]0;pwned\\x07 \\u202eexe.txt tab",
        "2026-02-03",
        rows[1][3],
        "https://example.org/pier\\x1b[31m",
    ]

    error = CliRunner().invoke(main, ["add", "gone\x1b]0;x\x07.txt"])
    assert error.exit_code == 5 and error.output.startswith("error: gone\\x1b]0;x\\x07.txt does not exist")

    for out in (built.output, result.output, listed.output, error.output):
        assert not any(c in out for c in RAW_CONTROLS), out

    # --json stays JSON: verbatim values, which json.dumps writes with \u escapes for controls.
    as_json = run("ask", "--json", "when did the harbour authority close the old pier?")
    first = json.loads(as_json.stdout)["citations"][0]
    assert first["title"] == "Pier closed \x1b[2J\x1b]0;pwned\x07 \u202eexe.txt tab" and "\x1b" in first["text"]
    assert "\x1b" not in as_json.stdout and "\\u001b" in as_json.stdout


def test_ask_says_on_stderr_that_articles_changed_since_the_build(project: Path) -> None:
    assert run("build").exit_code == 0
    seed = project / "corpus" / SEED.name
    seed.write_text(seed.read_text(encoding="utf-8") + "\nOne more paragraph came in later.\n", encoding="utf-8")
    result = run("ask", "who led the protest?")
    assert result.exit_code == 0 and "Bushra Bibi" in result.stdout  # still answered, from the old index
    assert "1 article changed" in result.stderr and "`citebot build`" in result.stderr
    assert "changed" not in result.stdout


def test_ask_takes_filters_and_json_says_which_applied(project: Path) -> None:
    assert run("build").exit_code == 0
    within = run("ask", "--json", "--since", "2024-11-01", "--source", f"{SEED_ID}.txt", "who led the protest?")
    answer = json.loads(within.output)
    assert answer["filters"] == {"since": "2024-11-01", "source": f"{SEED_ID}.txt"}
    assert answer["citations"][0]["sentence"] == 5
    human = run("ask", "--until", "2024-11-27", "who led the protest?")
    assert "(within: until 2024-11-27)" in human.output and "Bushra Bibi" in human.output
    none = CliRunner().invoke(main, ["ask", "--since", "2025-01-01", "who led the protest?"])
    assert none.exit_code == 5
    assert none.output.strip() == "error: no indexed article matches since 2025-01-01"
    bad = CliRunner().invoke(main, ["ask", "--since", "last tuesday", "who?"])
    assert bad.exit_code == 5 and "YYYY-MM-DD" in bad.output


def test_chat_remembers_the_conversation_and_ends_cleanly(project: Path) -> None:
    assert run("build").exit_code == 0
    lines = "who led the protest?\nwhat did she say next?\nsince:2030-01-01 who led it\nwhen?\n/quit\nnever asked\n"
    result = CliRunner().invoke(main, ["chat"], input=lines)
    assert result.exit_code == 0
    answers = [block for block in result.output.split("Q: ") if block.strip()]
    assert answers[0].startswith("who led the protest?") and "sentence 5]" in answers[0]
    assert answers[1].startswith("what did she say next?")
    assert f"(read as: the sentence after sentence 5 of {SEED_ID})" in answers[1] and "sentence 6]" in answers[1]
    assert "error: no indexed article matches since 2030-01-01" in result.output  # and the chat goes on
    assert answers[2].startswith("when?") and "(read as: when? led protest)" in answers[2]
    assert "never asked" not in result.output  # /quit ended it
    assert CliRunner().invoke(main, ["chat"], input="who led the protest?\n").exit_code == 0  # Ctrl-D ends it too
