"""A worker SIGKILLed at a chosen point of a send loses nothing, and repeats only that send.

Real processes, as in test_worker_crash.py. The stand-in webhook receiver holds one
request open and tells the test, which kills the worker right then:
- "before the answer": the receiver has the request but has not taken the update;
- "after the send": the receiver has taken the update, the worker has not recorded it.
Every other row the worker had claimed was killed before its own send. A second worker
then delivers every row; the only webhook-id the receiver may see twice is the held one
(webhooks are idempotent by webhook-id, so that repeat is the designed behaviour).
"""

from __future__ import annotations

import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from publisher.extensions import db
from publisher.models import Delivery, DeliveryState

from .test_worker_crash import (
    LEASE,
    SUBSCRIBERS,
    flask,
    published_fan_out,
    run,
    states,
    wait_for,
    worker_env,  # noqa: F401  (a fixture used below)
)

HOLD_AT = 5  # the fifth request is held open while the worker is killed


class HoldingReceiver(BaseHTTPRequestHandler):
    taken: list[str] = []
    requests = 0
    record_before_hold = False
    held = threading.Event()
    release = threading.Event()
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with HoldingReceiver.lock:
            HoldingReceiver.requests += 1
            hold = HoldingReceiver.requests == HOLD_AT
        if hold and HoldingReceiver.record_before_hold:
            HoldingReceiver.taken.append(self.headers["webhook-id"])
        if hold:
            HoldingReceiver.held.set()
            HoldingReceiver.release.wait(30)
            self.close_connection = True
            return  # the worker is dead by now; nobody reads an answer
        HoldingReceiver.taken.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(params=["before the answer", "after the send"])
def holding_receiver(request):
    HoldingReceiver.taken, HoldingReceiver.requests = [], 0
    HoldingReceiver.record_before_hold = request.param == "after the send"
    HoldingReceiver.held, HoldingReceiver.release = threading.Event(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HoldingReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", request.param
    HoldingReceiver.release.set()
    server.shutdown()


def test_a_worker_killed_at_a_send_repeats_at_most_that_send(
    app,
    make,
    holding_receiver,
    worker_env,  # noqa: F811
):
    """SIGKILL while one webhook is in flight (before or after the receiver took it): no row is
    lost, rows claimed but not yet sent go out once, only the in-flight one may repeat."""
    url, point = holding_receiver
    published_fan_out(make, url)
    keys = {d.idempotency_key for d in db.session.query(Delivery)}
    worker_env["DELIVERY_PARALLEL"] = "1"
    first = flask(worker_env, "worker", "--workers", "1")
    try:
        run(worker_env, "sweep")
        assert HoldingReceiver.held.wait(60), "the worker never reached the held send"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        HoldingReceiver.release.set()
    in_flight_taken = len(HoldingReceiver.taken) == HOLD_AT  # the held one counted as taken
    assert in_flight_taken == (point == "after the send")
    assert states().get("sending", 0) > 1  # the batch was claimed beyond the held row

    second = flask(worker_env, "worker", "--workers", "1")
    try:
        time.sleep(LEASE + 0.5)  # past the lease the killed worker held
        run(worker_env, "sweep")
        finished = wait_for(lambda: states() == {"sent": SUBSCRIBERS}, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert finished, f"deliveries left: {states()}"
    assert set(HoldingReceiver.taken) == keys  # nothing lost
    repeated = [k for k in set(HoldingReceiver.taken) if HoldingReceiver.taken.count(k) > 1]
    if point == "after the send":
        assert len(repeated) == 1  # the held update, sent again with the same webhook-id
    else:
        assert repeated == []  # the receiver never took the held one: it went out once
    assert all(d.state == DeliveryState.SENT for d in db.session.query(Delivery))
