"""The Huey instance: SqliteHuey in the instance folder by default, RedisHuey with REDIS_URL.

It is built from the environment alone (not the app) so task modules can be
imported without creating an app; tasks push the app context themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey

from ..config import _redis_url, instance_dir

_app: Flask | None = None


def build_huey(environ=os.environ) -> Huey:
    redis_url = _redis_url(environ.get("REDIS_URL") or None)
    if redis_url:
        return RedisHuey("herald", url=redis_url)
    path = instance_dir(environ)
    path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("herald", filename=str(path / "huey.db"))


huey = build_huey()


def bind_app(app: Flask) -> None:
    """Remember the app whose context tasks run in (called by create_app)."""
    global _app
    _app = app


@contextmanager
def app_context() -> Iterator[Flask]:
    if _app is None:
        raise RuntimeError("publisher.create_app() must run before jobs execute")
    with _app.app_context():
        yield _app


def with_app_context(func: Callable) -> Callable:
    """Run a task body inside the bound app's context, with its own DB session."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        with app_context():
            from ..extensions import db

            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
