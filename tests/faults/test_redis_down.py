"""Redis disappears while REDIS_URL is set: web requests still answer, jobs wait and resume.

Herald talks to Redis through a loopback TCP proxy that the test cuts; the shared Redis
server keeps running. Runs where REDIS_URL is set (the PostgreSQL + Redis CI pass), or
wherever a Redis answers on 127.0.0.1:6379.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import redis
from huey.storage import RedisStorage

from publisher.extensions import db, limiter
from publisher.jobs import huey
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role
from publisher.services import composer

from ..staff import PASSWORD, make_user
from .tcp_proxy import TcpProxy

# Flask-Limiter keeps its storage and "storage is dead" flag on the shared extension object.
LIMITER_STATE = ("enabled", "_storage", "_limiter", "_storage_dead", "_fallback_storage",
                 "_fallback_limiter")  # fmt: skip
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"


def _redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_answers() and not os.environ.get("HERALD_REQUIRE_SERVICES"),
    reason="no Redis on 127.0.0.1 (the CI's PostgreSQL + Redis pass runs this)",
)


@pytest.fixture
def proxied_redis():
    """(proxy, a redis:// URL through it to the same database number)."""
    parts = urlsplit(REDIS_URL)
    with TcpProxy(parts.port or 6379, parts.hostname or "127.0.0.1") as proxy:
        yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"


@pytest.fixture
def limited_app(app, proxied_redis):
    """The app with rate limits on, kept in Redis behind the proxy."""
    _proxy, url = proxied_redis
    # The limiter is one object shared by every app of the run: put back what it had after.
    saved = {name: getattr(limiter, name) for name in LIMITER_STATE}
    saved["_storage_options"] = dict(limiter._storage_options)
    timeouts = {"socket_timeout": 1, "socket_connect_timeout": 1}
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=url,
                      RATELIMIT_STORAGE_OPTIONS=timeouts)  # fmt: skip
    limiter.init_app(app)
    yield app
    for name, value in saved.items():
        setattr(limiter, name, value)


def test_with_redis_gone_sign_in_and_subscribe_still_answer_and_limits_fall_back(
    limited_app, proxied_redis
):
    """Redis outage: rate-limited forms degrade to per-process limits, never to a 500."""
    proxy, _url = proxied_redis
    client = limited_app.test_client()
    user = make_user(Role.ADMIN)
    assert client.post("/console/login", data={"email": "x@example.com", "password": "y"}
                       ).status_code == 422  # fmt: skip
    proxy.cut()
    answers = [client.post("/console/login", data={"email": "x@example.com", "password": "y"})
               for _ in range(12)]  # fmt: skip
    codes = [r.status_code for r in answers]
    assert all(code in (422, 429) for code in codes), codes
    assert 429 in codes  # the in-memory fallback still limits guessing
    subscribed = limited_app.test_client().post("/subscribe", data={"email-email": "a@example.com"})
    assert subscribed.status_code in (200, 302)
    other = limited_app.test_client()  # another visitor is not locked out by the guesser
    signed_in = other.post("/console/login", data={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"})  # fmt: skip
    assert signed_in.status_code == 302
    proxy.restore()


def test_a_publish_while_redis_is_gone_commits_and_its_deliveries_start_when_it_returns(
    app, make, proxied_redis, monkeypatch
):
    """Redis outage during a publish: the update is out, the deliveries wait, nothing is lost."""
    proxy, url = proxied_redis
    pool = redis.ConnectionPool.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    storage = RedisStorage("herald-fault-test", connection_pool=pool)
    storage.flush_queue()
    monkeypatch.setattr(huey, "_immediate", False)
    monkeypatch.setattr(huey, "storage", storage)
    app.config["DELIVERY_AUTOSTART"] = True
    db.session.add(Channel(kind=ChannelKind.SLACK, name="#status"))
    db.session.commit()
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    message = composer.create_draft(comms, make.incident(), incident_status="identified",
                                    body="We found the cause.")  # fmt: skip
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    proxy.cut()
    composer.publish(comms, message)  # the enqueue after commit fails; the publish does not
    assert not _reachable(storage)
    rows = db.session.query(Delivery).filter_by(message_id=message.id).all()
    assert [r.state for r in rows] == [DeliveryState.PENDING]
    proxy.restore()
    from publisher.jobs.delivery import sweep_deliveries

    sweep_deliveries.call_local()  # what the consumer's periodic sweeper does every minute
    assert storage.queue_size() == 1  # the batch is queued again once Redis is back
    storage.flush_queue()


def _reachable(storage) -> bool:
    try:
        storage.queue_size()
        return True
    except redis.RedisError:
        return False
