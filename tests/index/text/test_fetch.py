"""Adding by URL: a real HTTP server on loopback, and every address citebot must refuse."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.engine import Engine
from index.errors import FetchError
from index.store import current_build
from index.text.fetch import article_id_for_url, fetch_url
from tests.conftest import SEED

PAGE = b"""<html><head><title>Ferry strike ends | Coast News</title>
<meta property="article:published_time" content="2026-06-02"></head><body>
<nav>Home</nav><article><h1>Ferry strike ends after nine days</h1>
<p>Ferry crews on the Skarn crossing returned to work on Tuesday after nine days on strike.</p>
<p>Union leader Petra Holm said members had accepted a pay rise of 6 percent over two years.</p>
<p>The operator said full timetables would resume on Thursday.</p></article></body></html>"""

fetched: list[str] = []

SECRET = "s3cr3t-pw"  # a password that must never appear in a message

# Each trickled part lasts 27 x 0.3 s = 8 s, far longer than the timeouts the tests give.
TRICKLE_GAP = 0.3
TRICKLES = {
    "/trickle-status": (b"", b"HTTP/1.1 200 " + b"O" * 12 + b"\r\n", b"Content-Type: text/plain\r\n\r\nlate"),
    "/trickle-headers": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
        b"X-Slow: " + b"z" * 17 + b"\r\n",
        b"\r\nlate",
    ),
    "/trickle-body": (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n", b"x" * 27, b""),
}


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
        elif self.path in TRICKLES:
            head, slow, tail = TRICKLES[self.path]
            self.wfile.write(head)
            for byte in slow:  # each byte comes well within any per-read timeout
                self.wfile.write(bytes([byte]))
                time.sleep(TRICKLE_GAP)
            self.wfile.write(tail)
        elif self.path.startswith("/to-port/"):
            self._redirect(f"http://127.0.0.1:{self.path.rsplit('/', 1)[1]}/news/ferry-strike.html")
        elif self.path == "/to-credentials":
            port = self.server.server_address[1]
            self._redirect(f"http://reader:{SECRET}@127.0.0.1:{port}/news/ferry-strike.html")
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


class QuietServer6(QuietServer):
    address_family = socket.AF_INET6


def serve(httpd: QuietServer, url: str) -> Iterator[str]:
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    yield from serve(httpd, f"http://127.0.0.1:{httpd.server_address[1]}")


@pytest.fixture(scope="module")
def other_server() -> Iterator[str]:
    """A second loopback server, on another port."""
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    yield from serve(httpd, f"http://127.0.0.1:{httpd.server_address[1]}")


@pytest.fixture(scope="module")
def server6() -> Iterator[str]:
    try:
        httpd = QuietServer6(("::1", 0), Handler)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    yield from serve(httpd, f"http://[::1]:{httpd.server_address[1]}")


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
    command += " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run([*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def tls_server(tls_cert: tuple[Path, Path]) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    # The handshake happens in the handler's thread, so a client that gives up does not stall accept().
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    yield from serve(httpd, f"https://127.0.0.1:{httpd.server_address[1]}")


@pytest.fixture
def trust_tls_cert(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test certificate trusted by the default TLS context, as a real CA's would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))


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


# --- a total deadline -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(TRICKLES))
def test_a_server_that_trickles_cannot_hold_the_fetch_past_its_timeout(server: str, path: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as info:
        get(server + path, timeout=1.5)
    assert time.monotonic() - start < 1.5 + 2  # the deadline, with slack for a busy machine
    assert "\n" not in str(info.value)


@pytest.mark.usefixtures("trust_tls_cert")
def test_https_is_fetched_from_the_pinned_address_and_has_the_same_deadline(tls_server: str) -> None:
    page = get(f"{tls_server}/news/ferry-strike.html")
    assert page.url == f"{tls_server}/news/ferry-strike.html" and page.is_html
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        get(f"{tls_server}/trickle-body", timeout=1.5)
    assert time.monotonic() - start < 1.5 + 2


def test_https_with_an_untrusted_certificate_is_refused(tls_server: str) -> None:
    with pytest.raises(FetchError, match="TLS failed") as info:
        get(f"{tls_server}/news/ferry-strike.html")
    assert "\n" not in str(info.value)


# --- credentials in URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("userinfo", [f"reader:{SECRET}@", f"{SECRET}@", f"reader:{SECRET}:more@", "@"])
def test_a_url_with_credentials_is_refused_before_connecting(server: str, userinfo: str) -> None:
    fetched.clear()
    url = server.replace("http://", f"http://{userinfo}") + "/news/ferry-strike.html"
    with pytest.raises(FetchError, match="user name or password") as info:
        get(url)
    assert SECRET not in str(info.value) and "\n" not in str(info.value)
    assert fetched == []


def test_credentials_hidden_by_a_tab_are_refused_too(server: str) -> None:
    # urlsplit drops tabs and line breaks, so "http:/<tab>/user:pw@host" is a URL with credentials.
    fetched.clear()
    url = server.replace("http://", f"http:/\t/reader:{SECRET}@") + "/news/ferry-strike.html"
    with pytest.raises(FetchError, match="user name or password") as info:
        get(url)
    assert SECRET not in str(info.value)
    assert fetched == []


def test_a_redirect_to_a_url_with_credentials_is_refused(server: str) -> None:
    fetched.clear()
    with pytest.raises(FetchError, match="user name or password") as info:
        get(f"{server}/to-credentials")
    assert SECRET not in str(info.value)
    assert fetched == ["/to-credentials"]


@pytest.mark.parametrize(
    "url",
    [
        f"//reader:{SECRET}@example.org/x",
        f"ftp://reader:{SECRET}@example.org/x",
        f"http://reader:{SECRET}@example.org:99999/x",
        f"http://reader:{SECRET}@example.org:port/x",
        f"http://reader:{SECRET}@[::1/x",
        f"https://reader:{SECRET}@10.0.0.8/x",
        f"http:\\\\reader:{SECRET}@example.org/x",
        f"http:/reader:{SECRET}@example.org/x",
        f"http://reader:{SECRET}\n@example.org/x",
    ],
)
def test_no_message_echoes_a_password(url: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch_url(url, timeout=2, max_bytes=1000)
    assert SECRET not in str(info.value) and "\n" not in str(info.value)


# --- the private-host allow-list: host and port as written -----------------------------------------


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_an_allowed_host_with_a_port_allows_only_that_port(server: str, other_server: str) -> None:
    allowed = [f"127.0.0.1:{port_of(server)}"]
    assert get(f"{server}/news/ferry-strike.html", allowed=allowed).is_html
    with pytest.raises(FetchError, match=rf"loopback .* allows 127.0.0.1 only on port {port_of(server)}"):
        get(f"{other_server}/news/ferry-strike.html", allowed=allowed)


def test_an_allowed_host_without_a_port_allows_any_port(server: str, other_server: str) -> None:
    assert get(f"{server}/news/ferry-strike.html", allowed=["127.0.0.1"]).is_html
    assert get(f"{other_server}/news/ferry-strike.html", allowed=["127.0.0.1"]).is_html


def test_a_redirect_to_a_port_not_allowed_is_refused_before_connecting(server: str, other_server: str) -> None:
    fetched.clear()
    path = f"/to-port/{port_of(other_server)}"
    with pytest.raises(FetchError, match="loopback"):
        get(server + path, allowed=[f"127.0.0.1:{port_of(server)}"])
    assert fetched == [path]  # the first hop was fetched, the second server never asked
    # Both ports listed: the same redirect is followed.
    both = [f"127.0.0.1:{port_of(server)}", f"127.0.0.1:{port_of(other_server)}"]
    assert get(server + path, allowed=both).is_html


def test_host_names_in_the_allow_list_match_case_insensitively(server: str) -> None:
    if socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)[0][4][0] != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 first here")
    port = port_of(server)
    assert get(f"http://LocalHost:{port}/news/ferry-strike.html", allowed=[f"LOCALHOST:{port}"]).is_html
    assert get(f"http://localhost:{port}/news/ferry-strike.html", allowed=["Localhost."]).is_html
    with pytest.raises(FetchError, match="loopback"):
        get(f"http://localhost:{port}/news/ferry-strike.html", allowed=[f"localhost:{port + 1}"])


@pytest.mark.parametrize("entry", ["[::1]:{port}", "[0:0:0:0:0:0:0:1]:{port}", "::1", "[::1]"])
def test_ipv6_entries_are_written_in_brackets_with_a_port_or_bare(server6: str, entry: str) -> None:
    port = port_of(server6)
    assert get(f"{server6}/news/ferry-strike.html", allowed=[entry.format(port=port)]).is_html


def test_an_ipv6_entry_with_another_port_is_refused(server6: str) -> None:
    port = port_of(server6)
    with pytest.raises(FetchError, match=rf"loopback .* only on port {port + 1}"):
        get(f"{server6}/news/ferry-strike.html", allowed=[f"[::1]:{port + 1}"])


@pytest.mark.parametrize("entry", ["127.0.0.1:http", "http://127.0.0.1/", "[::1", "127.0.0.1:0", "[::1]x"])
def test_a_malformed_allow_list_entry_is_reported(server: str, entry: str) -> None:
    with pytest.raises(FetchError, match=r"articles.allowed_private_hosts .* not a host") as info:
        get(f"{server}/news/ferry-strike.html", allowed=[entry])
    assert "\n" not in str(info.value)
