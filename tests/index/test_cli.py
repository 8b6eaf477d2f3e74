"""The command line as a user meets it: output, --json, stdin, and one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import index.engine
from index.cli import main
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


def test_no_index_yet_says_how_to_build_one(project: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "who led the protest?"])
    assert result.exit_code == 4
    assert result.output.strip() == (
        f"error: no index in {project / 'index'} yet; run `python -m index build` to index the corpus"
    )


def test_a_config_error_names_the_key(project: Path) -> None:
    (project / "config.yaml").write_text("search:\n  top_k: many\n")
    result = CliRunner().invoke(main, ["ask", "x"])
    assert result.exit_code == 3 and "'search.top_k' must be a whole number, got 'many'" in result.output


def test_traceback_is_shown_only_when_asked(project: Path) -> None:
    result = CliRunner().invoke(main, ["--traceback", "ask", "who?"])
    assert isinstance(result.exception, index.errors.IndexMissingError)


def test_corpus_and_index_dir_options_override_the_config(project: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "articles").mkdir()
    shutil.copy(FIXTURES / "articles" / "orchard-festival.md", other / "articles")
    args = ["--corpus", str(other / "articles"), "--index-dir", str(other / "idx")]
    assert run(*args, "build").exit_code == 0
    assert [r.split("\t")[0] for r in run(*args, "list").stdout.splitlines()] == ["orchard-festival"]
    assert not (project / "index").exists()


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
    assert "1 article changed" in result.stderr and "python -m index build" in result.stderr
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
