"""A worker killed with SIGKILL in the middle of a fan-out loses nothing.

Real processes: `flask herald worker` consumes the file-backed queue, a local HTTP
receiver stands in for webhook subscribers and dedupes on webhook-id (as the
Standard Webhooks scheme asks receivers to). The test kills the worker while it is
sending, starts another, and checks every row ends sent and every subscriber got
its update, with repeats only for rows the killed worker had in hand.
"""

from __future__ import annotations

import signal
import time

import pytest

from publisher.extensions import db
from publisher.models import Delivery, DeliveryState, Role
from publisher.services import composer

from ..processes import (
    Receiver,
    base_environment,
    flask,
    run,
    states,
    stop,
    wait_for,
    webhook_receiver,
    webhook_subscribers,
)
from ..staff import make_user

SUBSCRIBERS = 150
# Long enough that a loaded machine does not expire a live worker's lease mid-batch (an
# expired lease is retried by design, which would blur what these tests prove).
LEASE = 6


@pytest.fixture
def receiver():
    with webhook_receiver(delay=0.05) as url:  # 120 rows left at the kill: 6 s to spare
        yield url


@pytest.fixture
def worker_env(app, tmp_path):
    env = base_environment(app, tmp_path, DELIVERY_LEASE_SECONDS=str(LEASE))
    env.pop("REDIS_URL", None)  # the queue is the file in tmp_path, shared by both commands
    return env


def publish_one(make) -> None:
    """One approved update published; DELIVERY_AUTOSTART is off, so rows wait for the sweeper."""
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    message = composer.create_draft(
        comms, make.incident(), incident_status="identified", body="We found the cause."
    )
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    composer.publish(comms, message)


def published_fan_out(make, receiver) -> None:
    webhook_subscribers(receiver, SUBSCRIBERS)
    publish_one(make)


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def finish_with_a_new_worker(env, expected: dict[str, int]) -> bool:
    """Start a second worker past the killed one's lease, sweep, and wait for `expected`."""
    second = flask(env, "worker", "--workers", "1")
    try:
        time.sleep(LEASE + 0.5)  # past the lease the killed worker held
        run(env, "sweep")
        return wait_for(lambda: states() == expected, 90)
    finally:
        stop([second])


def test_a_worker_killed_mid_fan_out_is_replaced_and_every_row_is_delivered_once(
    app, make, receiver, worker_env
):
    published_fan_out(make, receiver)
    keys = {d.idempotency_key for d in db.session.query(Delivery)}
    first = flask(worker_env, "worker", "--workers", "1")
    try:
        run(worker_env, "sweep")  # enqueue the due batch into the worker's queue
        assert wait_for(lambda: len(Receiver.seen) >= SUBSCRIBERS // 5, 60), "no progress"
    finally:
        kill(first)
    assert 0 < len(set(Receiver.seen)) < SUBSCRIBERS, "the kill came too late to prove much"

    finished = finish_with_a_new_worker(worker_env, {"sent": SUBSCRIBERS})
    assert finished, f"deliveries left: {states()}"
    assert set(Receiver.seen) == keys  # every subscriber got the update
    repeats = len(Receiver.seen) - len(keys)
    assert repeats <= 2, f"{repeats} repeats: only a row in hand at the kill may repeat"
    rows = db.session.query(Delivery).all()
    assert all(d.state == DeliveryState.SENT and d.sent_at for d in rows)
