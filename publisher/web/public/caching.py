"""Cache of rendered public responses, keyed by the page version.

Every public request reads the page version (one query). A hit returns the
stored bytes; a publish bumps the version, so the next request renders anew in
every process, and nothing stale is served after a publish has returned.
Responses carry ETag and Last-Modified and answer conditional GETs with 304.
While the database cannot be reached, the last good copy is served with a
notice (last_good.py). A cached page's CSP nonce is swapped for the current
request's when it is served.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps

from flask import Response, current_app, g, make_response, request
from flask_babel import get_locale
from sqlalchemy.exc import DBAPIError

from ...services.public import page_state
from ..security import csp_nonce
from . import last_good

CACHE_CONTROL = "public, no-cache"
# In the WSGI environ of a cacheable 200: (page version, unix time it expires or None).
FAST_PATH_KEY = "herald.public_cache"


@dataclass(frozen=True)
class _Entry:
    body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    etag: str
    last_modified: datetime
    nonce: str | None = None  # the CSP nonce inside `body`, replaced when served


class ResponseCache:
    """A bounded, thread-safe LRU of rendered responses for one process."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._render_locks: dict[tuple, threading.Lock] = {}
        self._version = 0

    def get(self, key: tuple, version: int) -> _Entry | None:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
                return None
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry, limit: int, version: int | None = None) -> None:
        with self._lock:
            if version is not None and version != self._version:
                return  # rendered before a publish that another request has already seen
            self._entries[key] = entry
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def render_lock(self, key: tuple) -> threading.Lock:
        """A lock per key, so threads that miss together wait for one render, not make four."""
        with self._lock:
            if len(self._render_locks) > 4096:
                self._render_locks.clear()
            return self._render_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        last_good.store.clear()


cache = ResponseCache()


def cached_public(freshness: int | None = None) -> Callable:
    """Cache a public GET view; `freshness` seconds bound content that ages with time."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                state = page_state()
                bucket = int(time.time() // freshness) if freshness else 0
                key = (request.path, request.query_string, str(get_locale()), bucket)
                entry = cache.get(key, state.version) if _enabled() else None
                if entry is None:
                    with cache.render_lock(key):  # one render per URL at a time per process
                        entry = cache.get(key, state.version) if _enabled() else None
                        if entry is None:
                            entry = _render(view, args, kwargs, state, key, bucket, freshness)
            except DBAPIError as error:  # the database is unreachable: the last good copy
                return last_good.serve_stale(_url_key(), error, _body)
            if entry.status == 200:
                limit = current_app.config["PUBLIC_CACHE_ENTRIES"]
                last_good.store.remember(_url_key(), entry, limit)
                if _enabled():  # fastpath.py may answer the next identical request itself
                    until = (bucket + 1) * freshness if freshness else None
                    request.environ[FAST_PATH_KEY] = (state.version, until)
            return _respond(entry)

        return wrapper

    return decorator


def _enabled() -> bool:
    return current_app.config.get("PUBLIC_CACHE_ENABLED", True)


def _render(view, args, kwargs, state, key, bucket, freshness) -> _Entry:
    response = make_response(view(*args, **kwargs))
    modified = state.updated_at
    if freshness:
        modified = max(modified, datetime.fromtimestamp(bucket * freshness, UTC))
    entry = _Entry(
        body=response.get_data(),
        status=response.status_code,
        headers=tuple((k, v) for k, v in response.headers.items() if k != "Content-Length"),
        # The same in every process (hash() is salted per process), so 304s work across them.
        etag=f"{state.version}-{bucket}-{zlib.crc32(repr(key).encode()):x}",
        last_modified=modified.replace(microsecond=0),
        nonce=g.get("csp_nonce"),
    )
    if response.status_code == 200:
        cache.put(key, entry, current_app.config["PUBLIC_CACHE_ENTRIES"], state.version)
    return entry


def _url_key() -> tuple:
    return (request.path, request.query_string, str(get_locale()))


def _body(entry: _Entry) -> bytes:
    """The stored bytes, with the nonce they were rendered with replaced by this request's."""
    if entry.nonce is None:
        return entry.body
    return entry.body.replace(entry.nonce.encode(), csp_nonce().encode())


def _respond(entry: _Entry) -> Response:
    response = Response(_body(entry), status=entry.status, headers=list(entry.headers))
    if entry.status == 200:
        response.set_etag(entry.etag)
        response.last_modified = entry.last_modified
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response.make_conditional(request)
    return response
