"""Reading articles: metadata out of the text, everything that is not an article refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import article_to_markdown, check_id, id_for_name, parse_article, read_article_file, scan_corpus
from index.errors import ArticleError
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
