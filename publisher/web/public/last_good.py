"""The last good public responses, served with a notice while the database is unreachable.

The response cache forgets its entries whenever the page version moves; this
store keeps, per URL and language, the last response that rendered fine, so a
visitor still sees the page (and a client still gets the JSON) during a
database outage. HTML gets a visible notice; every stale answer also carries
the `Herald-Stale` header: the last time the database confirmed the copy current.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy.exc import DBAPIError

from ...extensions import db

log = logging.getLogger(__name__)

STALE_HEADER = "Herald-Stale"
_MAIN_TAG = re.compile(rb"<main\b[^>]*>")


class LastGood:
    """A bounded, thread-safe map of (path, query, locale) to the last 200 served, and when."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: tuple, entry: Any, limit: int) -> None:
        """Keep `entry` as this URL's copy, confirmed current now (the database just said so)."""
        with self._lock:
            self._entries[key] = (entry, datetime.now(UTC))
            self._entries.move_to_end(key)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def get(self, key: tuple) -> tuple[Any, datetime] | None:
        with self._lock:
            return self._entries.get(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


store = LastGood()


def serve_stale(key: tuple, error: DBAPIError, body_of: Callable[[Any], bytes]) -> Response:
    """The last good copy of this URL with a notice, or re-raise (the error page says 503)."""
    _forget_connection()
    found = store.get(key)
    if found is None:
        raise error
    entry, confirmed_at = found
    log.warning("database unreachable; serving the last good copy of %s", key[0])
    body = body_of(entry)
    if dict(entry.headers).get("Content-Type", "").startswith("text/html"):
        body = with_notice(body, confirmed_at)
    response = Response(body, status=200, headers=list(entry.headers))
    response.headers[STALE_HEADER] = confirmed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = "30"
    return response


def with_notice(body: bytes, as_of: datetime) -> bytes:
    """Put a visible, screen-reader-announced notice at the top of the page's main content."""
    text = _(
        "We cannot refresh this page just now. It shows the status as of %(time)s UTC.",
        time=as_of.strftime("%Y-%m-%d %H:%M"),
    )
    notice = f'<p class="stale-notice" role="status">{escape(text)}</p>'.encode()
    match = _MAIN_TAG.search(body)
    if match is None:
        return body.replace(b"<body>", b"<body>" + notice, 1)
    return body[: match.end()] + notice + body[match.end() :]


def _forget_connection() -> None:
    """Drop the broken transaction so the next request starts clean."""
    try:
        db.session.rollback()
    except DBAPIError:
        current_app.logger.debug("rollback failed on a broken connection", exc_info=True)
