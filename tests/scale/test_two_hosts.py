"""Scale out: two web processes and two workers share PostgreSQL and Redis.

Real processes on loopback, as two hosts would run them (each with its own
instance folder, so nothing is shared through local files): 50 updates are
published alternately through both web processes; every webhook delivery must
arrive exactly once, and both web processes must answer the same summary.
Skipped unless DATABASE_URL names PostgreSQL and REDIS_URL is set (CI sets both).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from huey import RedisHuey

from publisher.extensions import db
from publisher.models import Delivery, DeliveryState, Role

from ..processes import (
    Receiver,
    base_environment,
    flask,
    free_port,
    start,
    stop,
    wait_for,
    webhook_receiver,
    webhook_subscribers,
)
from ..staff import bearer, make_user

UPDATES = 50
SUBSCRIBERS = 4

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql")
    or not os.environ.get("REDIS_URL"),
    reason="needs DATABASE_URL on PostgreSQL and REDIS_URL",
)


@pytest.fixture
def receiver():
    with webhook_receiver() as url:
        yield url


@pytest.fixture
def empty_queue():
    """The Redis queue the processes share, emptied before and after (tests own their db)."""
    queue = RedisHuey("herald", url=os.environ["REDIS_URL"])
    queue.flush()
    yield
    queue.flush()


def environment(app, folder: Path) -> dict[str, str]:
    """A "host" of its own (nothing shared on disk), on the shared database and Redis."""
    return base_environment(
        app,
        folder,
        REDIS_URL=os.environ["REDIS_URL"],
        SECRET_KEY="scale-test-secret-key-shared-by-every-host",
    )


def web(env, port: int):
    from publisher import serve

    return start(env, "web", *serve.web_command(port, 1))


def worker(env):
    return flask(env, "worker", "--workers", "2")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def publish(base: str, headers: dict, incident: str, n: int) -> None:
    draft = requests.post(
        f"{base}/api/v1/incidents/{incident}/messages",
        json={"incident_status": "identified", "body": f"Update {n} from {base}."},
        headers=headers,
        timeout=30,
    )
    assert draft.status_code == 201, draft.text
    published = requests.post(
        f"{base}/api/v1/messages/{draft.json()['id']}/emergency-publish",
        json={"reason": "scale-out test, no second person"},
        headers=headers,
        timeout=30,
    )
    assert published.status_code == 200, published.text


def sent_count() -> int:
    db.session.expire_all()
    return db.session.query(Delivery).filter(Delivery.state == DeliveryState.SENT).count()


def test_two_web_processes_and_two_workers_deliver_everything_exactly_once(
    app, make, receiver, empty_queue, tmp_path
):
    webhook_subscribers(receiver, SUBSCRIBERS)
    manager = make_user(Role.INCIDENT_MANAGER)
    headers = bearer(manager)
    db.session.commit()
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    envs = [environment(app, tmp_path / f"host{n}") for n in range(2)]
    processes = [web(envs[n], ports[n]) for n in range(2)]
    processes += [worker(envs[n]) for n in range(2)]
    try:
        assert all(wait_for(lambda b=b: answers(f"{b}/api/v2/status.json"), 60) for b in bases)
        declared = requests.post(
            f"{bases[0]}/api/v1/incidents",
            json={"name": "Checkout failing", "impact": "major", "components": []},
            headers=headers,
            timeout=30,
        )
        assert declared.status_code == 201, declared.text
        incident = declared.json()["id"]
        for n in range(UPDATES):
            publish(bases[n % 2], headers, incident, n)
        expected = UPDATES * SUBSCRIBERS
        finished = wait_for(
            lambda: sent_count() == expected and len(Receiver.seen) >= expected, 120
        )
        time.sleep(1)  # a duplicate would arrive now
    finally:
        stop(processes)
    assert finished, f"{sent_count()} of {expected} sent, {len(Receiver.seen)} received"
    keys = {d.idempotency_key for d in db.session.query(Delivery)}
    repeated = [key for key, count in Counter(Receiver.seen).items() if count > 1]
    assert repeated == [] and set(Receiver.seen) == keys and len(keys) == expected


def test_both_web_processes_show_the_same_current_state(app, make, tmp_path):
    api = make.component("API")
    make.incident(name="Checkout failing", components=[api], component_status="major_outage")
    ports = [free_port(), free_port()]
    envs = [environment(app, tmp_path / f"host{n}") for n in range(2)]
    processes = [web(envs[n], ports[n]) for n in range(2)]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        assert all(wait_for(lambda b=b: answers(f"{b}/api/v2/status.json"), 60) for b in bases)
        first = [requests.get(f"{b}/api/v2/summary.json", timeout=10).json() for b in bases]
        api.name = "Public API"
        db.session.commit()  # a change made elsewhere: both must show it on the next request
        second = [requests.get(f"{b}/api/v2/summary.json", timeout=10).json() for b in bases]
    finally:
        stop(processes)
    assert first[0] == first[1] and second[0] == second[1]
    assert first[0]["status"]["indicator"] == "critical"  # a major outage
    assert second[0]["components"][0]["name"] == "Public API"
