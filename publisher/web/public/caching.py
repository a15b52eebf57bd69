"""Cache of rendered public responses, keyed by the page version.

Every public request reads the page version (one query). A hit returns the
stored bytes; a publish bumps the version, so the next request renders anew in
every process, and nothing stale is served after a publish has returned.
Responses carry ETag and Last-Modified and answer conditional GETs with 304.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps

from flask import Response, current_app, make_response, request
from flask_babel import get_locale

from ...services.public import page_state

CACHE_CONTROL = "public, no-cache"


@dataclass(frozen=True)
class _Entry:
    body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    etag: str
    last_modified: datetime


class ResponseCache:
    """A bounded, thread-safe LRU of rendered responses for one process."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
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

    def put(self, key: tuple, entry: _Entry, limit: int) -> None:
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = ResponseCache()


def cached_public(freshness: int | None = None) -> Callable:
    """Cache a public GET view; `freshness` seconds bound content that ages with time."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            state = page_state()
            bucket = int(time.time() // freshness) if freshness else 0
            key = (request.path, request.query_string, str(get_locale()), bucket)
            entry = cache.get(key, state.version) if _enabled() else None
            if entry is None:
                entry = _render(view, args, kwargs, state, key, bucket, freshness)
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
        etag=f"{state.version}-{bucket}-{abs(hash(key)) % 10**12:x}",
        last_modified=modified.replace(microsecond=0),
    )
    if response.status_code == 200:
        cache.put(key, entry, current_app.config["PUBLIC_CACHE_ENTRIES"])
    return entry


def _respond(entry: _Entry) -> Response:
    response = Response(entry.body, status=entry.status, headers=list(entry.headers))
    if entry.status == 200:
        response.set_etag(entry.etag)
        response.last_modified = entry.last_modified
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response.make_conditional(request)
    return response
