"""Adding by URL: a real HTTP server on loopback, and every address citebot must refuse."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from index.engine import Engine
from index.errors import FetchError
from index.fetch import article_id_for_url, fetch_url
from index.store import current_build
from tests.conftest import SEED

PAGE = b"""<html><head><title>Ferry strike ends | Coast News</title>
<meta property="article:published_time" content="2026-06-02"></head><body>
<nav>Home</nav><article><h1>Ferry strike ends after nine days</h1>
<p>Ferry crews on the Skarn crossing returned to work on Tuesday after nine days on strike.</p>
<p>Union leader Petra Holm said members had accepted a pay rise of 6 percent over two years.</p>
<p>The operator said full timetables would resume on Thursday.</p></article></body></html>"""

fetched: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        fetched.append(self.path)
        if self.path == "/news/ferry-strike.html":
            self._send(200, "text/html; charset=utf-8", PAGE)
        elif self.path == "/plain.txt":
            self._send(200, "text/plain", b"date 2026-06-03 Plain text news about the Skarn ferry timetable.")
        elif self.path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/to-page":
            self._redirect("/news/ferry-strike.html")
        elif self.path == "/loop":
            self._redirect("/loop")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()
        elif self.path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x" * 10_000)
        elif self.path == "/image.png":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n")
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, "text/plain", b"late")
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # the client hangs up on /endless on purpose
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def get(url: str, **kw) -> object:
    return fetch_url(
        url,
        timeout=kw.get("timeout", 5),
        max_bytes=kw.get("max_bytes", 1_000_000),
        allowed_hosts=kw.get("allowed", ["127.0.0.1"]),
    )


def test_an_article_url_is_fetched_extracted_and_indexed(make_engine: Callable[..., Engine], server: str) -> None:
    engine = make_engine(SEED, config='articles:\n  allowed_private_hosts: ["127.0.0.1"]\n')
    report = engine.add(f"{server}/news/ferry-strike.html")
    [article_id] = report.added
    assert article_id == article_id_for_url(f"{server}/news/ferry-strike.html") == "127.0.0.1-news-ferry-strike"
    saved = (engine.config.corpus_dir / f"{article_id}.md").read_text()
    assert saved.startswith("---\n") and f"source: {server}/news/ferry-strike.html" in saved
    answer = engine.ask("what pay rise did the ferry union accept?")
    assert "Petra Holm" in answer.citations[0].text
    assert answer.citations[0].source == f"{server}/news/ferry-strike.html"
    assert answer.citations[0].date == "2026-06-02"


def test_redirects_are_followed_and_text_is_accepted(server: str) -> None:
    page = get(f"{server}/to-page")
    assert page.url.endswith("/news/ferry-strike.html") and page.is_html
    plain = get(f"{server}/plain.txt")
    assert not plain.is_html and plain.body.startswith(b"date 2026-06-03")


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/news/ferry-strike.html", {"allowed": []}, r"resolves to a loopback address \(127.0.0.1\)"),
        ("/to-metadata", {}, r"169.254.169.254 resolves to a link-local address"),
        ("/huge", {}, "50,000,000 bytes, over the limit of 1,000,000"),
        ("/endless", {}, "over the limit of 1,000,000 bytes"),
        ("/image.png", {}, "image/png, not an HTML or text article"),
        ("/slow", {"timeout": 0.5}, "timed out"),
        ("/missing", {}, "answered HTTP 404"),
        ("/loop", {}, "redirects more than 5 times"),
    ],
)
def test_refused_fetches_say_why_in_one_line(server: str, path: str, kwargs: dict, message: str) -> None:
    with pytest.raises(FetchError, match=message) as info:
        get(server + path, **kwargs)
    assert "\n" not in str(info.value)


def test_a_redirect_to_a_private_address_is_refused_before_connecting(server: str) -> None:
    fetched.clear()
    with pytest.raises(FetchError, match="link-local"):
        get(f"{server}/to-metadata")
    assert fetched == ["/to-metadata"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://10.0.0.8/wiki", r"private or reserved address \(10.0.0.8\)"),
        ("http://192.168.1.1/", "private or reserved"),
        ("http://[::1]/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http:///nohost", "has no host name"),
    ],
)
def test_non_public_or_non_web_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch_url(url, timeout=2, max_bytes=1000)


def test_a_refused_url_writes_nothing(seed_engine: Engine, server: str) -> None:
    before = sorted(p.name for p in seed_engine.config.corpus_dir.iterdir())
    build = current_build(seed_engine.config.index_dir)
    with pytest.raises(FetchError, match="loopback"):
        seed_engine.add(f"{server}/news/ferry-strike.html")
    assert sorted(p.name for p in seed_engine.config.corpus_dir.iterdir()) == before
    assert current_build(seed_engine.config.index_dir) == build
