"""Shared fixtures: a real database (SQLite file, or PostgreSQL via DATABASE_URL)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# The job queue is built from the environment at import: give tests their own folder.
_INSTANCE = tempfile.mkdtemp(prefix="herald-test-")
os.environ.setdefault("HERALD_INSTANCE_DIR", _INSTANCE)

import pytest  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from hypothesis import settings  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from publisher import create_app  # noqa: E402
from publisher.extensions import db  # noqa: E402
from publisher.jobs import huey  # noqa: E402
from publisher.models import PAGE_STATE_ID, Base, PageState, utcnow  # noqa: E402
from publisher.services import users  # noqa: E402
from publisher.web.public.caching import cache  # noqa: E402

from .factories import Factory  # noqa: E402

# Property tests are judged by what they find, never by time: a loaded machine can pause
# any example past hypothesis's default 200 ms deadline.
settings.register_profile("herald", deadline=None)
settings.load_profile("herald")

# With REDIS_URL set, rate limits count in Redis: a slow answer on a loaded machine must
# not send the limiter to its per-process fallback (which starts counting from zero).
PATIENT_REDIS = {"socket_timeout": 10, "socket_connect_timeout": 5}

huey.immediate = True
# Argon2's production cost makes every account creation ~100 ms; tests need no such cost.
users.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{_INSTANCE}/test.db"


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own `g`, own DB session), as in production.

    Flask reuses an app context already pushed for the same app, and the `app`
    fixture keeps one pushed for the test's own use; without this, requests
    would share `g` (Flask-Login's cached user) and the test's DB session.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def _schema():
    """Create the schema once per run (fresh), from the models."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": _database_url()})
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        db.engine.dispose()
    return True


@pytest.fixture
def app(_schema):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": _database_url(),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "BASE_URL": "http://status.test",
            "PAGE_NAME": "Example Status",
            # Rows stay pending for tests to inspect; engine tests run the jobs themselves.
            "DELIVERY_AUTOSTART": False,
            **({"RATELIMIT_STORAGE_OPTIONS": PATIENT_REDIS} if os.environ.get("REDIS_URL") else {}),
        }
    )
    app.test_client_class = IsolatedClient
    cache.clear()
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    db.session.add(
        PageState(id=PAGE_STATE_ID, page_id="testpage0001", version=1, updated_at=utcnow())
    )
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def cold_get(client, count_queries):
    """`cold_get(path)`: the response to a GET of `path` with a cold cache, and the SQL
    statements it cost."""

    def get(path: str):
        cache.clear()
        db.session.expire_all()
        with count_queries() as counter:
            response = client.get(path)
        return response, counter.statements

    return get


@pytest.fixture
def uncached_queries(cold_get):
    """`uncached_queries(path)`: how many SQL statements a GET of `path` costs with a cold
    cache."""

    def measure(path: str) -> int:
        response, statements = cold_get(path)
        assert response.status_code == 200
        return len(statements)

    return measure


@pytest.fixture
def count_queries(app):
    """`with count_queries() as counter:` counts SQL statements sent to the database."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(conn, cursor, statement, parameters, context, executemany):
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting
