"""A second Herald app whose database can really become unreachable, and a real HTTP server.

PostgreSQL: the app connects through a loopback TCP proxy that the test cuts (the
shared server keeps running). SQLite: the database file is moved aside and a
directory put in its place, so opening it fails as an unreadable file would (the app
opens it read-write only, never creating it); the app opens a fresh connection per
checkout (NullPool), and the cut disposes its engine (which also closes the public
fast path's own connection), so nothing reads the moved file through a descriptor it
already held.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

from publisher import create_app
from publisher.extensions import db

from .tcp_proxy import TcpProxy


@dataclass
class Outage:
    """`url` reaches the test database; `cut()` makes it unreachable, `restore()` undoes it."""

    url: str
    engine_options: dict
    _cut: Callable[[], None]
    restore: Callable[[], None]
    apps: list = field(default_factory=list)

    def cut(self) -> None:
        self._cut()
        if self.engine_options.get("poolclass") is NullPool:
            for app in self.apps:
                with app.app_context():
                    db.engine.dispose()


@contextmanager
def database_outage(database_url: str, tmp_path) -> Iterator[Outage]:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with TcpProxy(url.port or 5432, url.host or "127.0.0.1") as proxy:
            proxied = url.set(host="127.0.0.1", port=proxy.port)
            options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}}
            yield Outage(proxied.render_as_string(hide_password=False), options,
                         proxy.cut, proxy.restore)  # fmt: skip
        return
    path = url.database
    aside = str(tmp_path / "moved-aside.db")

    def cut() -> None:
        os.rename(path, aside)
        os.mkdir(path)  # opening a directory as a database fails: "unable to open"

    def restore() -> None:
        os.rmdir(path)
        os.rename(aside, path)

    # mode=rw: a connection opened between restore()'s two steps fails like the outage,
    # rather than creating an empty database file that the rename then hides from it.
    read_write = f"sqlite:///file:{path}?mode=rw&uri=true"
    try:
        yield Outage(read_write, {"poolclass": NullPool}, cut, restore)
    finally:
        if os.path.isdir(path):
            restore()


def outage_app(outage: Outage, **config):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": outage.url,
            "SQLALCHEMY_ENGINE_OPTIONS": outage.engine_options,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "BASE_URL": "http://status.test",
            "DELIVERY_AUTOSTART": False,
            **config,
        }
    )
    outage.apps.append(app)
    return app


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 with a thread per request; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
