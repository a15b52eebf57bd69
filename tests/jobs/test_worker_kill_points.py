"""A worker SIGKILLed at a chosen point of a send loses nothing, and repeats only that send.

Real processes, as in test_worker_crash.py. The stand-in receiver (a webhook server, or
an SMTP server for email) holds one send open and tells the test, which kills the worker
right then:
- "before the answer": the receiver has the request but has not taken the update;
- "after the send": the receiver has taken the update, the worker has not recorded it.
Every other row the worker had claimed was killed before its own send.

Webhooks are idempotent by webhook-id: a second worker delivers every row, and the only
webhook-id the receiver may see twice is the held one. Email is not idempotent: the held
row alone is left `unknown` for a person to settle, and every other claimed row (never
started) goes out once.
"""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from publisher.extensions import db
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Subscriber,
    SubscriberKind,
    utcnow,
)
from publisher.services import delivery_status

from ..channels.smtp_sink import SmtpSink, running_sink
from ..processes import flask, run, serving, states
from .test_worker_crash import (
    SUBSCRIBERS,
    finish_with_a_new_worker,
    kill,
    publish_one,
    published_fan_out,
    worker_env,  # noqa: F401  (a fixture used below)
)

HOLD_AT = 5  # the fifth send is held open while the worker is killed
POINTS = ["before the answer", "after the send"]


class Hold:
    """What the receivers share with the test: one held send, and when to let it go."""

    def __init__(self, point: str) -> None:
        self.record_before_hold = point == "after the send"
        self.held, self.release = threading.Event(), threading.Event()
        self.count, self.lock = 0, threading.Lock()

    def this_one(self) -> bool:
        with self.lock:
            self.count += 1
            return self.count == HOLD_AT


class HoldingReceiver(BaseHTTPRequestHandler):
    hold: Hold
    taken: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        hold = self.hold.this_one()
        if hold and self.hold.record_before_hold:
            HoldingReceiver.taken.append(self.headers["webhook-id"])
        if hold:
            self.hold.held.set()
            self.hold.release.wait(30)
            self.close_connection = True
            return  # the worker is dead by now; nobody reads an answer
        HoldingReceiver.taken.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class HoldingSmtpSink(SmtpSink):
    """Keeps mail like SmtpSink, but holds the HOLD_AT-th message before answering."""

    def __init__(self, hold: Hold) -> None:
        super().__init__()
        self.hold = hold

    async def handle_DATA(self, server, session, envelope):
        if not self.hold.this_one():
            return await super().handle_DATA(server, session, envelope)
        if self.hold.record_before_hold:
            await super().handle_DATA(server, session, envelope)
        self.hold.held.set()
        while not self.hold.release.is_set():
            await asyncio.sleep(0.05)
        return "421 closing"  # the worker is dead by now; nobody reads an answer


@pytest.fixture(params=POINTS)
def hold(request):
    hold = Hold(request.param)
    yield request.param, hold
    hold.release.set()


@pytest.fixture
def holding_receiver(hold):
    point, held = hold
    HoldingReceiver.hold, HoldingReceiver.taken = held, []
    with serving(HoldingReceiver) as url:
        yield url, point, held
        held.release.set()


def worker_log(env) -> str:
    return (Path(env["HERALD_INSTANCE_DIR"]) / "worker.log").read_text()[-4000:]


def killed_at_the_held_send(env, held: Hold) -> None:
    """Start a worker, let it reach the held send, SIGKILL it there."""
    first = flask(env, "worker", "--workers", "1")
    try:
        run(env, "sweep")
        reached = held.held.wait(120)
        assert reached, "the worker never reached the held send:\n" + worker_log(env)
    finally:
        kill(first)
        held.release.set()


def test_a_worker_killed_at_a_webhook_send_repeats_at_most_that_send(
    app,
    make,
    holding_receiver,
    worker_env,  # noqa: F811
):
    """SIGKILL while one webhook is in flight (before or after the receiver took it): no row is
    lost, rows claimed but not yet sent go out once, only the in-flight one may repeat."""
    url, point, held = holding_receiver
    published_fan_out(make, url)
    keys = {d.idempotency_key for d in db.session.query(Delivery)}
    worker_env["DELIVERY_PARALLEL"] = "1"
    killed_at_the_held_send(worker_env, held)
    in_flight_taken = len(HoldingReceiver.taken) == HOLD_AT  # the held one counted as taken
    assert in_flight_taken == (point == "after the send")
    assert states().get("sending", 0) > 1  # the batch was claimed beyond the held row

    finished = finish_with_a_new_worker(worker_env, {"sent": SUBSCRIBERS})
    assert finished, f"deliveries left: {states()}"
    assert set(HoldingReceiver.taken) == keys  # nothing lost
    repeated = [k for k in set(HoldingReceiver.taken) if HoldingReceiver.taken.count(k) > 1]
    if point == "after the send":
        assert len(repeated) == 1  # the held update, sent again with the same webhook-id
    else:
        assert repeated == []  # the receiver never took the held one: it went out once
    assert all(d.state == DeliveryState.SENT for d in db.session.query(Delivery))


EMAIL_SUBSCRIBERS = 12


def test_a_worker_killed_at_an_email_send_leaves_only_that_one_for_a_person(
    app,
    make,
    hold,
    worker_env,  # noqa: F811
):
    """SIGKILL while one email is in flight on a non-idempotent outlet: that row alone is left
    `unknown` and listed for reconciliation; every other claimed row goes out exactly once."""
    point, held = hold
    with running_sink(HoldingSmtpSink(held)) as sink:
        worker_env.update(SMTP_HOST=sink.host, SMTP_PORT=str(sink.port), SMTP_SECURITY="none")
        db.session.add(Channel(kind=ChannelKind.EMAIL, name="email subscribers"))
        db.session.add_all(
            Subscriber(kind=SubscriberKind.EMAIL, target=f"p{n}@example.com", confirmed_at=utcnow())
            for n in range(EMAIL_SUBSCRIBERS)
        )
        db.session.commit()
        publish_one(make)
        killed_at_the_held_send(worker_env, held)
        assert states() == {"sent": HOLD_AT - 1, "sending": EMAIL_SUBSCRIBERS - HOLD_AT + 1}
        in_flight = db.session.query(Delivery).filter_by(in_flight=True).all()
        assert len(in_flight) == 1  # the held one, and only it

        expected = {"sent": EMAIL_SUBSCRIBERS - 1, "unknown": 1}
        finished = finish_with_a_new_worker(worker_env, expected)
        assert finished, f"deliveries: {states()}"
        received = [address for m in sink.messages for address in m.rcpt_tos]
    unknown = [d for d in delivery_status.stuck() if d.state == DeliveryState.UNKNOWN]
    assert [d.id for d in unknown] == [in_flight[0].id]  # listed for a person to settle
    held_address = db.session.get(Subscriber, in_flight[0].subscriber_id).target
    for n in range(EMAIL_SUBSCRIBERS):
        address = f"p{n}@example.com"
        wanted = 1 if address != held_address or point == "after the send" else 0
        assert received.count(address) == wanted, address  # nobody got it twice
