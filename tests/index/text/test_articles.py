"""Reading articles: metadata out of the text, everything that is not an article refused in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from index.errors import ArticleError
from index.text.articles import (
    article_to_markdown,
    check_id,
    id_for_name,
    parse_article,
    read_article_file,
    scan_corpus,
)
from tests.conftest import SEED, SEED_ID

MAX = 100_000


def parse(data: bytes, name: str = "a.txt"):
    return parse_article(data, name=name, article_id=id_for_name(name), source=name, max_bytes=MAX)


def test_the_seed_date_prefix_is_metadata_not_text() -> None:
    article = read_article_file(SEED, max_bytes=MAX)
    assert article.id == SEED_ID
    assert article.date == "2024-11-27"
    assert article.text.startswith("Pakistani security forces have launched")
    assert "date 2024" not in article.text
    assert article.title.startswith("Pakistani security forces")
    assert len(article.title) <= 91


def test_front_matter_gives_title_date_and_source() -> None:
    data = b"---\ntitle: Storm hits coast\ndate: 2026-03-14\nsource: https://example.org/storm\n---\nThe storm hit.\n"
    article = parse(data, "storm.md")
    assert (article.title, article.date, article.source, article.text) == (
        "Storm hits coast",
        "2026-03-14",
        "https://example.org/storm",
        "The storm hit.",
    )


def test_markdown_written_for_the_corpus_reads_back_the_same() -> None:
    article = parse(b"---\ntitle: 'Colon: yes # hash'\ndate: 2026-01-02\n---\nBody text here.", "x.md")
    again = parse(article_to_markdown(article).encode(), "x.md")
    assert again == article


def test_hash_changes_with_text_and_metadata_but_not_line_endings() -> None:
    a = parse(b"date 2024-01-01 Hello world.\n")
    assert parse(b"date 2024-01-01 Hello world.\r\n").sha256 == a.sha256
    assert parse(b"date 2024-01-02 Hello world.\n").sha256 != a.sha256
    assert parse(b"date 2024-01-01 Hello there.\n").sha256 != a.sha256


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.txt", "empty.txt has no article text"),
        (b"  \n\t\n  ", "blank.txt", "blank.txt has no article text"),
        (b"---\ntitle: Only metadata\n---\n", "meta.md", "has no article text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "image.txt looks like a binary file"),
        (b"caf\xe9 au lait", "latin1.txt", "latin1.txt is not valid UTF-8 text"),
        (b"\x01\x02\x03\x04 text", "ctl.txt", "ctl.txt looks like a binary file"),
        (b"hello", "doc.pdf", "unsupported file type '.pdf'"),
        (b"---\ndate: 14 March\n---\nText.", "d.md", "date must be YYYY-MM-DD"),
        (b"---\n- a list\n---\nText.", "l.md", "front matter must be 'key: value' lines"),
    ],
)
def test_bad_articles_are_refused_in_one_line(data: bytes, name: str, message: str) -> None:
    with pytest.raises(ArticleError, match=message) as info:
        parse(data, name)
    assert "\n" not in str(info.value)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 50_000)
    with pytest.raises(ArticleError, match=r"big.txt is 250,000 bytes, over the limit of 100,000"):
        read_article_file(big, max_bytes=MAX)


def test_html_is_reduced_to_its_article_text() -> None:
    html = b"""<html><head><title>Dam opens | Daily News</title>
    <meta property="article:published_time" content="2026-05-01T10:00:00Z"></head>
    <body><nav>Home | World | Sport</nav><article><h1>Dam opens after ten years</h1>
    <p>The Karvel dam opened on Friday after ten years of construction, officials said.</p>
    <p>Engineer Mara Tolv led the project, which cost 2.1 billion euros.</p></article>
    <footer>Copyright Daily News</footer></body></html>"""
    article = parse(html, "dam.html")
    assert "Mara Tolv led the project" in article.text
    assert "Copyright" not in article.text
    assert article.date == "2026-05-01"
    assert "Dam opens" in article.title


def test_an_html_headline_repeated_in_the_body_is_not_a_sentence_of_it() -> None:
    html = b"""<html><head><title>Dam opens after ten years</title></head>
    <body><article><h1>Dam opens after ten years</h1>
    <p>The Karvel dam opened on Friday after ten years of construction, officials said.</p>
    <p>Engineer Mara Tolv led the project, which cost 2.1 billion euros.</p></article></body></html>"""
    article = parse(html, "dam.html")
    assert article.title == "Dam opens after ten years"
    assert article.text.startswith("The Karvel dam opened on Friday")
    assert "Dam opens after ten years" not in article.text


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a/b", ".hidden", "x" * 200, "a b"])
def test_ids_that_could_leave_the_corpus_are_refused(bad: str) -> None:
    with pytest.raises(ArticleError, match="not a valid article id"):
        check_id(bad)


def test_ids_come_from_file_names() -> None:
    assert id_for_name("My Story (final).md") == "My-Story-final"
    assert id_for_name("/tmp/x/report.2024.txt") == "report.2024"


def test_scan_finds_articles_and_reports_what_it_passes_over(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("A.")
    (corpus / "sub" / "a.md").write_text("Also a.")
    (corpus / "b.md").write_text("B.")
    (corpus / "notes.pdf").write_text("not an article")
    (corpus / ".removed").mkdir()
    (corpus / ".removed" / "c.txt").write_text("C.")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (corpus / "link.txt").symlink_to(outside)
    files, skipped = scan_corpus(corpus)
    assert [f.id for f in files] == ["a", "b"]
    reasons = dict(skipped)
    assert "points outside the corpus" in reasons["link.txt"]
    assert "same id 'a'" in reasons["sub/a.md"]


# --- front matter is data, parsed with bounded memory ---------------------------------------------

# The classic "billion laughs": 9 levels of 9 aliases, a few hundred bytes that name 9**9 strings.
# Loaded with yaml.safe_load and turned into a title with str(), it would need gigabytes.
ALIAS_BOMB = (
    "---\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "title: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    "---\n"
    "The text.\n"
)

# Run in a child process whose address space is capped: if the bomb ever went off again it would
# fail there with MemoryError instead of taking the memory of the machine that runs the tests.
_BOMB_CHILD = """
import resource, sys, tracemalloc
from index.text.articles import parse_article
from index.errors import ArticleError
data = sys.stdin.buffer.read()
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
tracemalloc.start()
try:
    parse_article(data, name="bomb.md", article_id="bomb", source="bomb.md", max_bytes=100_000)
except ArticleError as exc:
    print("refused:", exc)
else:
    print("accepted")
print("peak", tracemalloc.get_traced_memory()[1])
"""


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    data = ALIAS_BOMB.encode()
    assert len(data) < 450
    root = Path(__file__).resolve().parents[3]
    child = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD], input=data, capture_output=True, cwd=root, timeout=60, check=False
    )
    out = child.stdout.decode()
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    lines = out.splitlines()
    assert lines[0].startswith("refused: bomb.md: the front matter uses YAML anchors or aliases"), out
    assert "\n" not in lines[0]
    assert int(lines[1].split()[1]) < 2_000_000  # bytes allocated at the peak: the bomb never expanded


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("title: &t Storm\nsource: *t", "uses YAML anchors or aliases"),
        ("title: &t Storm", "uses YAML anchors or aliases"),
        ("base: &b {title: x}\n<<: *b", "uses YAML anchors or aliases"),
        ("title: [Storm, hits]", "'title' must be a single value, not a list or mapping"),
        ("title: Storm\ntags: [a, b]", "'tags' must be a single value, not a list or mapping"),
        ("source: {url: https://example.org}", "'source' must be a single value, not a list or mapping"),
        ("date:\n  - 2024-01-01", "'date' must be a single value, not a list or mapping"),
        ("? [a, b]\n: c", "front matter keys must be plain names"),
        ("title: Storm\n--- {title: Again}", "front matter must be one set of 'key: value' lines"),
        ("title: !!binary aGVsbG8=", "'title' must be text, a number or a date"),
        ("title: " + "x" * 301, "'title' is 301 characters long; the limit is 300"),
        ("title: |\n  Storm\n  hits", "'title' must be one line"),
        ("source: https://example.org/" + "x" * 2000, "'source' is 2,020 characters long; the limit is 2,000"),
        ("url: 'https://example.org/a\n\n  b'", "'url' must be one line"),
        ("notes: " + "x" * 17_000, "front matter is 17,007 bytes; the limit is 16,384"),
        # Values YAML reads into Python objects that cannot be built, or not turned back into text.
        ("date: 2024-13-45", "front matter has a value that cannot be read (month must be in 1..12)"),
        ("words: " + "1" * 5000, "front matter has a value that cannot be read"),
        ("title: 1" + ":59" * 3000, "front matter 'title' is a number too large to be metadata"),
    ],
)
def test_front_matter_that_is_not_plain_metadata_is_refused(front: str, message: str) -> None:
    with pytest.raises(ArticleError, match=re.escape(message)) as info:
        parse(f"---\n{front}\n---\nThe text.\n".encode(), "fm.md")
    assert "\n" not in str(info.value) and str(info.value).startswith("fm.md: ")


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        (
            'title: "Storm: hits coast"\ndate: "2026-03-14"\nurl: \'https://example.org/s\'',
            ("Storm: hits coast", "2026-03-14", "https://example.org/s"),
        ),
        ("title: Storm\ndate: 2026-03-14T10:00:00Z\nsource: local", ("Storm", "2026-03-14", "local")),
        (
            "title: Storm\n  hits coast\ndate: 2026-03-14\nauthor: Mara\nwords: 120\ndraft: false\nextra:",
            ("Storm hits coast", "2026-03-14", "fm.md"),
        ),
        ("title: 1984\n# a comment\n", ("1984", "", "fm.md")),
        ("", ("The text.", "", "fm.md")),
    ],
)
def test_ordinary_front_matter_still_works(front: str, expected: tuple[str, str, str]) -> None:
    article = parse(f"---\n{front}\n---\nThe text.\n".encode(), "fm.md")
    assert (article.title, article.date, article.source) == expected
    assert article.text == "The text."


# --- a path is judged by what it resolves to ------------------------------------------------------


def test_links_are_judged_by_their_targets(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "real").mkdir(parents=True)
    (corpus / "a.txt").write_text("A.")
    (corpus / "real" / "r.txt").write_text("R.")
    (corpus / "data.bin").write_bytes(b"\x00\x01binary")
    (corpus / ".removed").mkdir()
    (corpus / ".removed" / "old.txt").write_text("Removed.")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (corpus / "x.txt").symlink_to(corpus / "data.bin")  # an article name, an unsupported file
    (corpus / "chain.txt").symlink_to(corpus / "hop.txt")  # a link to a link that leaves
    (corpus / "hop.txt").symlink_to(outside / "secret.txt")
    (corpus / "ext").symlink_to(outside)  # a folder outside: never walked
    (corpus / "inner").symlink_to(corpus / "real")  # a folder inside: its files are found once anyway
    (corpus / "back.txt").symlink_to(corpus / ".removed" / "old.txt")
    (corpus / "broken.txt").symlink_to(corpus / "gone.txt")
    (corpus / "alias.md").symlink_to(corpus / "a.txt")  # inside, a supported type: read
    files, skipped = scan_corpus(corpus)
    assert [f.id for f in files] == ["a", "alias", "r"]
    reasons = dict(skipped)
    assert "data.bin" in reasons["x.txt"] and "not a .txt, .md or .html file" in reasons["x.txt"]
    assert "points outside the corpus" in reasons["chain.txt"]
    assert "points outside the corpus" in reasons["hop.txt"]
    assert "points outside the corpus" in reasons["ext"]
    assert "hidden" in reasons["back.txt"]
    assert "broken link" in reasons["broken.txt"]
    assert "inner" not in reasons and not any(name.startswith("ext/") for name in reasons)
    assert all("\n" not in r for r in reasons.values())


def test_reading_a_link_checks_the_type_of_its_target(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"plain words, but not an article file")
    (tmp_path / "x.txt").symlink_to(tmp_path / "data.bin")
    with pytest.raises(ArticleError, match=r"x.txt: unsupported file type '.bin'"):
        read_article_file(tmp_path / "x.txt", max_bytes=MAX)
    (tmp_path / "good.txt").write_text("Good text.")
    (tmp_path / "y.txt").symlink_to(tmp_path / "good.txt")
    assert read_article_file(tmp_path / "y.txt", max_bytes=MAX).text == "Good text."
