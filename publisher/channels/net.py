"""Outbound HTTP that cannot be turned against the inside network (SSRF guard).

URLs are checked when saved (scheme, no credentials, every resolved address
public) and again at connect time on the address actually connected to, so
DNS rebinding cannot slip through. Redirects are never followed. Tests that
run their own receiver on 127.0.0.1 pass allow_loopback=True explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ALLOWED_SCHEMES = ("http", "https")
# (connect, read) for an adapter built without the configured CHANNEL_*_TIMEOUT pair.
DEFAULT_TIMEOUT = (5.0, 10.0)


class UnsafeURLError(ValueError):
    """The URL points somewhere Herald must not connect to (or, `unresolved`, nowhere yet)."""

    def __init__(self, message: str, unresolved: bool = False):
        super().__init__(message)
        self.unresolved = unresolved


def check_url(url: str, allow_loopback: bool = False) -> str:
    """Refuse a URL unless it is http(s), has no credentials, and resolves only to public
    addresses. Returns the URL unchanged."""
    parts = _parse(url)
    for address in _resolve(parts.hostname, parts.port or _default_port(parts.scheme)):
        check_address(address, allow_loopback)
    return url


def check_address(address: str, allow_loopback: bool = False) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return
    if not ip.is_global or ip.is_multicast:
        raise UnsafeURLError(f"{address} is not a public address")


def guarded_session(allow_loopback: bool = False) -> requests.Session:
    """A requests session that checks every connection's peer and never follows redirects."""
    session = requests.Session()
    adapter = _GuardedAdapter(allow_loopback)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = 0
    session.trust_env = False  # no proxy from the environment may bypass the guard
    return session


def _parse(url: str):
    if not isinstance(url, str) or len(url) > 2048 or any(c in url for c in "\r\n\t "):
        raise UnsafeURLError("not a URL")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise UnsafeURLError("not a URL") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURLError("URLs with credentials are not allowed")
    if not parts.hostname:
        raise UnsafeURLError("the URL has no host")
    return parts


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"the host {host!r} does not resolve", unresolved=True) from exc
    return sorted({info[4][0] for info in infos})


def _guard_socket(sock: socket.socket, allow_loopback: bool) -> None:
    try:
        check_address(sock.getpeername()[0], allow_loopback)
    except UnsafeURLError:
        sock.close()
        raise


class _GuardedHTTPConnection(HTTPConnection):
    allow_loopback = False

    def _new_conn(self):
        sock = super()._new_conn()
        _guard_socket(sock, self.allow_loopback)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    allow_loopback = False

    def _new_conn(self):
        sock = super()._new_conn()
        _guard_socket(sock, self.allow_loopback)
        return sock


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_loopback: bool):
        self._allow_loopback = allow_loopback
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        allow = self._allow_loopback
        http_conn = type("Conn", (_GuardedHTTPConnection,), {"allow_loopback": allow})
        https_conn = type("Conns", (_GuardedHTTPSConnection,), {"allow_loopback": allow})
        http_pool = type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
        https_pool = type("Pools", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)
