"""Fetching an article by URL, safely: http(s) only, public addresses only, a timeout and a size cap.

Every hop of a redirect is checked again, and the connection goes to the address that was checked
(not to a second DNS answer), so a name that resolves to a public address for the check and to a
private one for the request cannot slip through.

The timeout is one deadline for the whole fetch, not a limit per read: a server that sends a byte a
second cannot hold it open. URLs with a user name or password are refused, and no message shows
one, because messages end up in logs, terminals and Discord channels.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..errors import FetchError

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
        url: An http or https URL, without a user name or password.
        timeout: Seconds for the whole download, redirects included, however slowly the server sends.
            Name lookups count against it but are not cut short (the system resolver bounds them).
        max_bytes: Larger bodies are refused (by Content-Length before reading, or while reading).
        allowed_hosts: Hosts that may be private or loopback (an intranet, a test server), each
            ``host`` (any port) or ``host:port`` (that port only); an IPv6 address as ``::1``,
            ``[::1]`` or ``[::1]:8080``. A host is a name as written in the URL or the IP address
            it resolves to; names match case-insensitively.

    Raises:
        FetchError: The URL is not http(s) or holds credentials, its host resolves to a refused
            address, it times out, answers with an error, is too large or is not text/HTML; or an
            allowed_hosts entry is malformed.
    """
    deadline = time.monotonic() + timeout
    rules = [parse_allowed_host(entry) for entry in allowed_hosts]
    if _has_userinfo(url):
        # Refused before anything else: such a URL would be saved as the article's source and
        # shown in every citation of it.
        raise FetchError(
            f"URLs with a user name or password are not fetched: remove the 'name:password@' part from {_shown(url)}"
        )
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body_or_location = _request(current, deadline, timeout, max_bytes, rules)
        if status in (301, 302, 303, 307, 308):
            target = urljoin(current, body_or_location.decode("latin-1"))
            if _has_userinfo(target):
                raise FetchError(
                    f"{_shown(current)} redirects to a URL with a user name or password, which is not followed"
                )
            current = target
            continue
        if status != 200:
            raise FetchError(f"{_shown(current)} answered HTTP {status}")
        return _page(current, headers, body_or_location)
    raise FetchError(f"{_shown(url)} redirects more than {MAX_REDIRECTS} times")


def _request(
    url: str, deadline: float, timeout: float, max_bytes: int, rules: Sequence[AllowRule]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    shown = _shown(url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed '[' of an IPv6 address
        raise FetchError(f"{shown} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be added, not '{parts.scheme or shown}'")
    if _has_userinfo(url):  # fetch_url checks every hop first; this keeps _request safe on its own
        raise FetchError(f"URLs with a user name or password are not fetched ({shown})")
    host = parts.hostname
    if not host:
        raise FetchError(f"{shown} has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{shown} has an invalid port") from None
    address = _public_address(host, port, rules)
    timed_out = f"{shown} timed out after {timeout:g} s (articles.fetch_timeout)"
    if deadline - time.monotonic() <= 0:
        raise FetchError(timed_out)
    conn = (
        _PinnedHTTPS(host, address, port, deadline)
        if parts.scheme == "https"
        else _PinnedHTTP(host, address, port, deadline)
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    response: http.client.HTTPResponse | None = None
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9"})
        response = conn.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location") or ""
            if not location:
                raise FetchError(f"{shown} redirects without a Location")
            return response.status, response.headers, location.encode("latin-1", "replace")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"{shown} is {int(length):,} bytes, over the limit of {max_bytes:,} (articles.max_bytes)")
        chunks: list[bytes] = []
        total = 0
        while True:
            # Every receive below waits at most until the deadline (_DeadlineSocket), so this
            # loop cannot outlive it either.
            block = response.read(65536)
            if not block:
                break
            total += len(block)
            if total > max_bytes:
                raise FetchError(f"{shown} is over the limit of {max_bytes:,} bytes (articles.max_bytes)")
            chunks.append(block)
        return response.status, response.headers, b"".join(chunks)
    except TimeoutError:
        raise FetchError(timed_out) from None
    except ssl.SSLError as exc:
        raise FetchError(f"{shown}: TLS failed ({exc.reason or exc})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{shown} could not be fetched ({getattr(exc, 'strerror', None) or exc})") from None
    finally:
        # A response to "Connection: close" is detached from the connection (http.client closes the
        # connection as soon as the headers are read), so close it as well to free the socket now.
        if response is not None:
            response.close()
        conn.close()


# --- credentials -----------------------------------------------------------------------------------

# The user-info of a URL: after the scheme and its slashes, everything up to the last "@" before
# the path. Wider than urlsplit on purpose: backslashes count as slashes and one slash is enough
# (as browsers read such URLs), so "http:\\name:pw@host" is refused and never printed either.
# A regular expression, so that a URL too broken for urlsplit is redacted as well.
_USERINFO = re.compile(r"^([^/\\?#]*[/\\]+)[^/\\?#]*@")
# urlsplit deletes these anywhere in a URL, so "http:/<tab>/name:pw@host" has user-info: delete
# them before looking for it.
_DROPPED = str.maketrans("", "", "\t\r\n")


def _has_userinfo(url: str) -> bool:
    url = url.translate(_DROPPED)
    if _USERINFO.match(url):
        return True
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:  # not a URL at all; the caller reports that
        return False


def _shown(url: str) -> str:
    """The URL as messages may print it: any user name and password replaced by '…'."""
    return _USERINFO.sub(r"\1…@", url.translate(_DROPPED), count=1)


# --- the private-host allow-list -------------------------------------------------------------------

AllowRule = tuple[str, int | None]  # a normalized host, and its one allowed port or None for any


def _normal_host(host: str) -> str:
    """A host for comparison: lower case, no trailing dot, an IP address in its canonical form."""
    host = host.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


# The forms of an allow-list entry: "[IPv6]" or "[IPv6]:port"; "name", "IPv4", "name:port" or
# "IPv4:port". Anything else must be a bare IPv6 address (its colons leave no room for a port).
_BRACKETED = re.compile(r"\[([^\]]+)\](?::(\d+))?")
_NAMED = re.compile(r"([A-Za-z0-9._-]+)(?::(\d+))?")


def parse_allowed_host(entry: str) -> AllowRule:
    """Parse one ``articles.allowed_private_hosts`` entry: host, host:port, ::1, [::1] or [::1]:port."""
    text = entry.strip()
    bracketed = _BRACKETED.fullmatch(text)
    match = bracketed or _NAMED.fullmatch(text)
    host, port_text = match.groups() if match else (text, None)
    port = int(port_text) if port_text else None
    must_be_ipv6 = bracketed is not None or match is None
    if (must_be_ipv6 and not _is_ipv6(host)) or (port is not None and not 0 < port < 65536):
        raise FetchError(
            f"the articles.allowed_private_hosts entry '{entry}' is not a host, host:port, [IPv6] or [IPv6]:port"
        )
    return _normal_host(host), port


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _public_address(host: str, port: int, rules: Sequence[AllowRule]) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"the host {host} cannot be resolved ({exc.strerror})") from None
    # Only the first answer matters: it is the address the connection is pinned to.
    for info in infos:
        ip = str(info[4][0])
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if addr.is_global:
            return ip
        # An entry names the host as the URL writes it, or the address it resolves to: both
        # reach the same machine, and the port must be the one listed, when one is.
        names = {_normal_host(host), _normal_host(ip)}
        if any(name in names and (allowed is None or allowed == port) for name, allowed in rules):
            return ip
        kind = "loopback" if addr.is_loopback else "link-local" if addr.is_link_local else "private or reserved"
        message = f"{host} resolves to a {kind} address ({ip}); citebot only fetches public addresses"
        ports = sorted({allowed for name, allowed in rules if name in names and allowed is not None})
        if ports:  # say why an allowed host was refused: the port is not the one listed
            listed = ", ".join(str(p) for p in ports)
            message += f", and articles.allowed_private_hosts allows {host} only on port {listed}, not {port}"
        raise FetchError(message)
    raise FetchError(f"the host {host} has no address")


# --- connections ------------------------------------------------------------------------------------


def _remaining(deadline: float) -> float:
    """Seconds left before the deadline; TimeoutError when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose every send and receive ends by one deadline.

    http.client only knows a socket timeout, which bounds each receive on its own: a server that
    sends a byte just before each timeout runs out holds the request for ever, in the status line,
    the headers or the body. Here each receive is given only the time left, so reading a whole
    response, headers included, ends by the deadline. http.client uses ``sendall``, ``makefile``
    and ``close`` of its socket, and nothing else once connected.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_remaining(self._deadline))
        self._sock.sendall(data)

    def recv_into(self, buffer: memoryview) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"only 'rb' is supported, not {mode!r}")
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        # Like socket.socket: the connection stays open while a file made from it is, because
        # http.client closes the connection of a "Connection: close" response before reading its body.
        self._closed = True
        if self._readers <= 0:
            self._sock.close()

    def _reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """The raw stream under http.client's response file: receives through a _DeadlineSocket."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner._reader_closed()
        super().close()


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to the address that was checked, with one deadline for everything."""

    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        super().__init__(host, port)  # no timeout here: connect() gives every step the time left
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), _remaining(self._deadline))
        self.sock = _DeadlineSocket(sock, self._deadline)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to the address that was checked; the certificate is checked for the host."""

    def __init__(self, host: str, address: str, port: int, deadline: float) -> None:
        # No timeout here: connect() gives every step the time left.
        super().__init__(host, port, context=ssl.create_default_context())
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), _remaining(self._deadline))
        try:
            # The handshake as a whole is bounded by the socket timeout (the ssl module keeps its
            # own deadline across the handshake's reads), so give it the time left.
            sock.settimeout(_remaining(self._deadline))
            tls = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(tls, self._deadline)


def _page(url: str, headers: http.client.HTTPMessage, body: bytes) -> Page:
    content_type = (headers.get_content_type() or "").lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        is_html = True
    elif content_type in ("text/plain", "text/markdown", "text/x-markdown"):
        is_html = False
    else:
        raise FetchError(f"{_shown(url)} is {content_type or 'of no stated type'}, not an HTML or text article")
    charset = headers.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise FetchError(f"{_shown(url)} is not valid {charset} text") from None
    article_id = article_id_for_url(url)
    return Page(
        url=url,
        article_id=article_id,
        name=article_id + (".html" if is_html else ".txt"),
        body=text.encode("utf-8"),
        is_html=is_html,
    )
