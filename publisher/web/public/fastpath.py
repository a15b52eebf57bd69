"""Answer repeated public GETs before Flask runs: a WSGI layer over the response cache.

During an incident everyone reloads the same few URLs. Once `cached_public` has
served a URL at page version V, this layer keeps the finished response (status,
headers, body) and answers the next identical request itself after one indexed
read of the version on a connection it keeps. Nothing is stale after a publish
returns: the publish committed version V+1, so the next read misses and Flask
renders. Requests with cookies or credentials, other methods, and anything
Flask did not mark as cacheable always go through Flask. A failing version read
also goes through Flask (which then serves its last good copy, if it has one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import event
from werkzeug.http import http_date, is_resource_modified, parse_date

from ...models import PAGE_STATE_ID
from ..i18n import resolve_locale
from ..security import NONCE_BYTES
from .caching import FAST_PATH_KEY, cache

log = logging.getLogger(__name__)

_NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")
_NOT_KEPT = {"set-cookie", "content-length", "date"}
_FOREVER = float("inf")


@dataclass(frozen=True)
class Kept:
    """A finished response: what Flask sent, minus per-request headers."""

    version: int
    status: str
    headers: tuple[tuple[str, str], ...]
    parts: tuple[bytes, ...]  # the body, split where the nonce stands
    etag: str | None
    last_modified: datetime | None
    nonce: str | None  # the CSP nonce in the body and header, replaced on every answer
    expires_at: float


class VersionProbe:
    """Reads the page version on one connection per process, outside the ORM and the pool."""

    SQL = f"SELECT version FROM page_state WHERE id = {PAGE_STATE_ID}"

    def __init__(self, engine_factory: Callable) -> None:
        self._engine_factory = engine_factory
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None

    def read(self) -> int | None:
        """The current version, or None when the database cannot be asked."""
        with self._lock:
            try:
                return self._read()
            except Exception as error:  # the request falls through to Flask, which reports it
                log.debug("page version probe failed: %s", error)
                self._close()
                return None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _read(self) -> int | None:
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = self._connect(), os.getpid()
        cursor = self._connection.cursor()
        try:
            cursor.execute(self.SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row[0] if row else None

    def _connect(self):
        proxy = self._engine_factory().raw_connection()
        proxy.detach()  # ours for the life of the process, not the pool's
        connection = proxy.dbapi_connection
        connection.rollback()
        if hasattr(connection, "autocommit"):
            connection.autocommit = True  # PostgreSQL: each read sees the latest commit
        return connection

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):  # already broken; nothing more to release
                connection.close()


class FastPath:
    """The WSGI layer; `app.wsgi_app` is wrapped by `init_app`."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.probe = VersionProbe(lambda: _engine(app))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        key = request_key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        version = self.probe.read()
        if version is not None:
            kept = cache.get(key, version)
            if kept is not None and kept.version == version and time.time() < kept.expires_at:
                return answer(kept, environ, start_response)
        return self._through_flask(key, environ, start_response)

    def _through_flask(self, key: tuple, environ: dict, start_response: Callable):
        seen: dict = {}

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        mark = environ.get(FAST_PATH_KEY)
        if mark is None or not seen.get("status", "").startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = _keep(seen["status"], seen["headers"], body, mark)
        if kept is not None and environ["REQUEST_METHOD"] == "GET":
            cache.put(key, kept, self.app.config["PUBLIC_CACHE_ENTRIES"], kept.version)
        return [body]


def init_app(app: Flask) -> None:
    """Wrap the app (unless PUBLIC_FAST_PATH is off); the probe closes with the engine."""
    if not app.config.get("PUBLIC_FAST_PATH", True):
        return
    fast = FastPath(app, app.wsgi_app)
    event.listen(_engine(app), "engine_disposed", lambda engine: fast.probe.close())
    app.wsgi_app = fast


def request_key(environ: dict) -> tuple | None:
    """What makes two requests the same to the public cache; None: let Flask decide."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    if environ.get("HTTP_COOKIE") or environ.get("HTTP_AUTHORIZATION"):
        return None  # a signed-in person or a language choice: Flask reads the cookie
    return (
        "fast",
        environ.get("wsgi.url_scheme"),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        # The language the page is rendered in, not the raw header: one entry per language.
        resolve_locale(None, environ.get("HTTP_ACCEPT_LANGUAGE")),
    )


def answer(kept: Kept, environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The kept response for this request: 304 if the client has it, fresh nonce and date."""
    nonce = secrets.token_urlsafe(NONCE_BYTES) if kept.nonce else None
    headers = [(k, _swap(v, kept.nonce, nonce)) for k, v in kept.headers]
    headers.append(("Date", http_date()))
    if not is_resource_modified(environ, kept.etag, last_modified=kept.last_modified):
        start_response("304 NOT MODIFIED", headers)
        return []
    body = _with_nonce(kept, nonce)
    headers.append(("Content-Length", str(sum(map(len, body)))))
    start_response(kept.status, headers)
    return [] if environ["REQUEST_METHOD"] == "HEAD" else body


def _with_nonce(kept: Kept, nonce: str | None) -> list[bytes]:
    """The body as chunks around each nonce (no copy of a large page per request)."""
    if nonce is None:
        return list(kept.parts)
    new = nonce.encode()
    chunks = [kept.parts[0]]
    for part in kept.parts[1:]:
        chunks += (new, part)
    return chunks


def _keep(status: str, headers: list, body: bytes, mark: tuple) -> Kept | None:
    if any(k.lower() == "set-cookie" for k, _v in headers):
        return None  # never share a response that hands out a cookie
    version, expires_at = mark
    found = {k.lower(): v for k, v in headers}
    found_nonce = _NONCE.search(found.get("content-security-policy", ""))
    nonce = found_nonce.group(1) if found_nonce else None
    return Kept(
        version=version,
        status=status,
        headers=tuple((k, v) for k, v in headers if k.lower() not in _NOT_KEPT),
        parts=tuple(body.split(nonce.encode())) if nonce else (body,),
        etag=found.get("etag"),
        last_modified=parse_date(found.get("last-modified")),
        nonce=nonce,
        expires_at=expires_at if expires_at is not None else _FOREVER,
    )


def _swap(value: str, old: str | None, new: str | None) -> str:
    return value if old is None else value.replace(old, new)


def _engine(app: Flask):
    from ...extensions import db

    with app.app_context():
        return db.engine
