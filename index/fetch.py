"""Fetching an article by URL, safely: http(s) only, public addresses only, a timeout and a size cap.

Every hop of a redirect is checked again, and the connection goes to the address that was checked
(not to a second DNS answer), so a name that resolves to a public address for the check and to a
private one for the request cannot slip through.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .errors import FetchError

MAX_REDIRECTS = 5
USER_AGENT = "citebot/0.1 (+https://github.com/citebot)"


@dataclass(frozen=True)
class Page:
    """A fetched document, its body re-encoded as UTF-8."""

    url: str  # after redirects
    article_id: str
    name: str  # a file name for messages: <article_id>.html or .txt
    body: bytes
    is_html: bool


def article_id_for_url(url: str) -> str:
    """A stable, file-safe id for a URL: host and path as a slug, with a short hash when too long."""
    parts = urlsplit(url)
    raw = f"{parts.hostname or ''}{parts.path or ''}" + (f"-{parts.query}" if parts.query else "")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")
    slug = re.sub(r"\.(html?|php|aspx?)$", "", slug)
    if len(slug) > 100:
        slug = slug[:90].rstrip("-.") + "-" + hashlib.sha256(url.encode()).hexdigest()[:8]
    return slug or hashlib.sha256(url.encode()).hexdigest()[:16]


def fetch_url(url: str, *, timeout: float, max_bytes: int, allowed_hosts: Sequence[str] = ()) -> Page:
    """Download one page.

    Args:
        url: An http or https URL.
        timeout: Seconds for the whole download, redirects included.
        max_bytes: Larger bodies are refused (by Content-Length before reading, or while reading).
        allowed_hosts: Host names or IPs that may be private or loopback (an intranet, a test server).

    Raises:
        FetchError: The URL is not http(s), its host resolves to a refused address, it times out,
            answers with an error, is too large or is not text/HTML.
    """
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body_or_location = _request(current, deadline, max_bytes, allowed_hosts)
        if status in (301, 302, 303, 307, 308):
            current = urljoin(current, body_or_location.decode("latin-1"))
            continue
        if status != 200:
            raise FetchError(f"{current} answered HTTP {status}")
        return _page(current, headers, body_or_location)
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times")


def _request(
    url: str, deadline: float, max_bytes: int, allowed_hosts: Sequence[str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be added, not '{parts.scheme or url}'")
    host = parts.hostname
    if not host:
        raise FetchError(f"{url} has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{url} has an invalid port") from None
    address = _public_address(host, port, allowed_hosts)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{url} timed out")
    conn = (
        _PinnedHTTPS(host, address, port, remaining)
        if parts.scheme == "https"
        else _PinnedHTTP(host, address, port, remaining)
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9"})
        response = conn.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location") or ""
            if not location:
                raise FetchError(f"{url} redirects without a Location")
            return response.status, response.headers, location.encode("latin-1", "replace")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"{url} is {int(length):,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)")
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"{url} timed out")
            block = response.read(65536)
            if not block:
                break
            total += len(block)
            if total > max_bytes:
                raise FetchError(f"{url} is over the limit of {max_bytes:,} bytes (articles.max_bytes)")
            chunks.append(block)
        return response.status, response.headers, b"".join(chunks)
    except TimeoutError:
        raise FetchError(f"{url} timed out") from None
    except ssl.SSLError as exc:
        raise FetchError(f"{url}: TLS failed ({exc.reason or exc})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url} could not be fetched ({getattr(exc, 'strerror', None) or exc})") from None
    finally:
        conn.close()


def _public_address(host: str, port: int, allowed_hosts: Sequence[str]) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"the host {host} cannot be resolved ({exc.strerror})") from None
    allowed = {h.lower().strip("[]") for h in allowed_hosts}
    for info in infos:
        ip = str(info[4][0])
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if host.lower() in allowed or ip in allowed or addr.is_global:
            return ip
        kind = "loopback" if addr.is_loopback else "link-local" if addr.is_link_local else "private or reserved"
        raise FetchError(f"{host} resolves to a {kind} address ({ip}); citebot only fetches public addresses")
    raise FetchError(f"the host {host} has no address")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _page(url: str, headers: http.client.HTTPMessage, body: bytes) -> Page:
    content_type = (headers.get_content_type() or "").lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        is_html = True
    elif content_type in ("text/plain", "text/markdown", "text/x-markdown"):
        is_html = False
    else:
        raise FetchError(f"{url} is {content_type or 'of no stated type'}, not an HTML or text article")
    charset = headers.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise FetchError(f"{url} is not valid {charset} text") from None
    article_id = article_id_for_url(url)
    return Page(
        url=url,
        article_id=article_id,
        name=article_id + (".html" if is_html else ".txt"),
        body=text.encode("utf-8"),
        is_html=is_html,
    )
