"""A worker killed with SIGKILL in the middle of a fan-out loses nothing.

Real processes: `flask herald worker` consumes the file-backed queue, a local HTTP
receiver stands in for webhook subscribers and dedupes on webhook-id (as the
Standard Webhooks scheme asks receivers to). The test kills the worker while it is
sending, starts another, and checks every row ends sent and every subscriber got
its update, with repeats only for rows the killed worker had in hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from publisher.extensions import db
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Role,
    Subscriber,
    SubscriberKind,
    utcnow,
)
from publisher.services import composer

from ..staff import make_user

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 150
# Long enough that a loaded machine does not expire a live worker's lease mid-batch (an
# expired lease is retried by design, which would blur what these tests prove).
LEASE = 6
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver(BaseHTTPRequestHandler):
    seen: list[str] = []
    delay = 0.03

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        Receiver.seen.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def worker_env(app, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        HERALD_INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        CHANNELS_ALLOW_LOOPBACK="1",
        DELIVERY_LEASE_SECONDS=str(LEASE),
        BASE_URL="http://status.test",
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)  # the queue is the file in tmp_path, shared by both commands
    return env


def flask(env, *args):
    """A long-running `flask herald` process; its log goes to a file (a pipe could fill)."""
    log = open(Path(env["HERALD_INSTANCE_DIR"]) / f"{args[0]}.log", "ab")  # noqa: SIM115
    command = [sys.executable, "-m", "flask", "--app", "app", "herald", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def run(env, *args) -> None:
    command = [sys.executable, "-m", "flask", "--app", "app", "herald", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def states() -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.query(Delivery.state, db.func.count()).group_by(Delivery.state).all()
    return {str(state): count for state, count in rows}


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def published_fan_out(make, receiver) -> None:
    db.session.add(Channel(kind=ChannelKind.WEBHOOK, name="webhook subscribers"))
    db.session.add_all(
        Subscriber(
            kind=SubscriberKind.WEBHOOK,
            target=f"{receiver}/hook/{n}",
            signing_secret=SECRET,
            confirmed_at=utcnow(),
        )
        for n in range(SUBSCRIBERS)
    )
    db.session.commit()
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    message = composer.create_draft(
        comms, make.incident(), incident_status="identified", body="We found the cause."
    )
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    composer.publish(comms, message)  # DELIVERY_AUTOSTART is off: rows wait for the sweeper


def test_a_worker_killed_mid_fan_out_is_replaced_and_every_row_is_delivered_once(
    app, make, receiver, worker_env
):
    published_fan_out(make, receiver)
    keys = {d.idempotency_key for d in db.session.query(Delivery)}
    first = flask(worker_env, "worker", "--workers", "1")
    try:
        run(worker_env, "sweep")  # enqueue the due batch into the worker's queue
        assert wait_for(lambda: len(Receiver.seen) >= SUBSCRIBERS // 3, 60), "no progress"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert 0 < len(set(Receiver.seen)) < SUBSCRIBERS, "the kill came too late to prove much"

    second = flask(worker_env, "worker", "--workers", "1")
    try:
        time.sleep(LEASE + 0.5)  # past the lease the killed worker held
        run(worker_env, "sweep")
        finished = wait_for(lambda: states() == {"sent": SUBSCRIBERS}, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert finished, f"deliveries left: {states()}"
    assert set(Receiver.seen) == keys  # every subscriber got the update
    repeats = len(Receiver.seen) - len(keys)
    assert repeats <= 2, f"{repeats} repeats: only a row in hand at the kill may repeat"
    rows = db.session.query(Delivery).all()
    assert all(d.state == DeliveryState.SENT and d.sent_at for d in rows)
