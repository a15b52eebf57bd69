"""One outlet's server misbehaves while an update goes out to five: the others deliver once,
the failing one backs off and recovers when its server does, and nothing is posted twice.

Every outlet talks to its own loopback stand-in (tests/channels/ fakes and mastodon-mock)
through the real delivery engine: publishing enqueues the batches after commit (the queue
runs jobs at once in tests), and the sweeper sends what is due. "The backoff has passed" is
done by moving the row's next attempt time, not the clock: the fakes run in this process,
and a moved clock leaks into their headers (mastodon-mock's Date, hence Mastodon.py's
rate-limit reset).
One fake at a time is broken until healed:

- 500 and 429 with Retry-After: retried with backoff (Retry-After honoured) on every outlet;
- a hang past the client timeout and a closed connection: the request went out, so only
  outlets with an idempotency key (webhook, Mastodon) retry; X, Bluesky and Slack become
  `unknown` and are never resent;
- a malformed (2xx) body: webhook and Slack never read the body, so it counts as sent;
  X and Bluesky cannot tell whether the post exists (unknown), Mastodon retries by its key.

mastodon-mock has no "close the connection" fault, so Mastodon runs four of the five.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from mastodon_mock.testing.server import MockServer
from sqlalchemy import update

from publisher.channels import mastodon as mastodon_module
from publisher.channels import net
from publisher.extensions import db
from publisher.jobs.delivery import sweep_deliveries
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
from publisher.services import channel_config, delivery

from ..channels import fake_http
from ..channels.fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from ..channels.fake_x import FakeX
from ..services.test_delivery_engine import publish
from ..staff import make_user

RETRY_AFTER = 120  # seconds, well past the first step of the schedule (10 s)
# Seconds given to every outlet by the engine: every healthy post must answer within them on
# a loaded machine (0.5 s left mastodon-mock behind; 2 s was close for Bluesky's two calls).
CONNECT_TIMEOUT, READ_TIMEOUT = 2.0, 5.0
MASTODON_TOKEN = "alice_token"  # seeded by mastodon-mock's default seed
MASTODON_HANG_MS = 12000  # well past the client read timeout
X_SECRETS = {"consumer_key": "ck", "consumer_secret": "cs",
             "access_token": "at", "access_token_secret": "ats"}  # fmt: skip
KINDS = ("webhook", "slack", "x", "bluesky", "mastodon")


class _CountingReceiver(fake_http.FakeHTTPServer):
    """fake_http's receiver, remembering which reply each request got; broken until healed."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[fake_http.Reply] = []

    def next_reply(self) -> fake_http.Reply:
        reply = super().next_reply()
        self.answers.append(reply)
        return reply


class _RetryAfter:
    """Adds a "retry_after" fault to the X/Bluesky fakes: 429 with a plain Retry-After."""

    def _fault_answer(self, fault):
        if fault == "retry_after":
            return 429, {"Retry-After": str(RETRY_AFTER)}, self.error(429)
        return super()._fault_answer(fault)

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()


class _X(_RetryAfter, FakeX):
    pass


class _Bluesky(_RetryAfter, FakeBluesky):
    pass


@dataclass
class Outlet:
    """One outlet's stand-in: break it, heal it, count the posts it was asked for and took."""

    kind: str
    channel: Channel
    server: object
    retry_after: float = RETRY_AFTER  # what its 429 asks for
    idempotent: bool = False
    reads_body: bool = True
    # Mastodon: the Idempotency-Key of each POST /api/v1/statuses put on the wire (the mock
    # keeps no request log, so the channel's session counts them).
    wire: list[str] = field(default_factory=list)

    def break_with(self, fault: str) -> None:
        if isinstance(self.server, _CountingReceiver):
            self.server.default = {
                "500": fake_http.SERVER_ERROR,
                "429": fake_http.rate_limited(RETRY_AFTER),
                "hang": fake_http.HANG,
                "malformed": fake_http.MALFORMED,
                "close": fake_http.CLOSE,
            }[fault]
        elif self.kind == "mastodon":
            effect = {
                "500": {"type": "status", "status": 500},
                "429": {"type": "ratelimit"},
                "hang": {"type": "latency", "delay_ms": MASTODON_HANG_MS},
                "malformed": {"type": "malformed"},
            }[fault]
            rule = {"match": {"path": "/api/v1/statuses", "methods": ["POST"]}, "effect": effect}
            _mastodon_api(self.server, "POST", "/api/v1/_mock/faults", json=rule)  # until healed
        else:
            wanted = {"429": "retry_after", "500": 500}.get(fault, fault)
            self.server.fail_next(wanted, times=1000, path=self._post_path)

    def heal(self) -> None:
        if isinstance(self.server, _CountingReceiver):
            self.server.default = fake_http.Reply()
        elif self.kind == "mastodon":
            _mastodon_api(self.server, "DELETE", "/api/v1/_mock/faults")
        else:
            self.server.heal()

    @property
    def _post_path(self) -> str:
        return {"x": "/2/tweets", "bluesky": "/xrpc/com.atproto.repo.createRecord"}[self.kind]

    def requests(self) -> int:
        """How many times Herald asked this outlet to post."""
        if isinstance(self.server, _CountingReceiver):
            return len(self.server.requests)
        if self.kind == "mastodon":
            return len(self.wire)
        return sum(1 for seen in self.server.requests if seen.path == self._post_path)

    def keys(self) -> set[str]:
        """The idempotency keys the outlet's requests carried (webhook-id, Idempotency-Key)."""
        if self.kind == "webhook":
            return {r.headers["webhook-id"] for r in self.server.requests}
        return set(self.wire) if self.kind == "mastodon" else set()

    def posts(self) -> int:
        """How many posts the outlet ended up with."""
        if isinstance(self.server, _CountingReceiver):
            if self.kind == "webhook":  # a receiver dedupes on webhook-id
                return len({r.headers["webhook-id"] for r in self._taken()})
            return len(self._taken())
        if self.kind == "mastodon":
            return len(_mastodon_statuses(self.server))
        return len(self.server.tweets if self.kind == "x" else self.server.posts)

    def _taken(self):
        pairs = zip(self.server.requests, self.server.answers, strict=True)
        return [r for r, a in pairs if a.fault is None and 200 <= a.status < 300]

    def expected(self, fault: str) -> DeliveryState:
        """The row's state after the first try against this fault."""
        if fault in ("500", "429"):
            return DeliveryState.RETRYING
        if fault == "malformed" and not self.reads_body:
            return DeliveryState.SENT
        return DeliveryState.RETRYING if self.idempotent else DeliveryState.UNKNOWN


def _mastodon_api(server, method: str, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {MASTODON_TOKEN}"}
    response = requests.request(
        method, server.base_url + path, headers=headers, timeout=5, **kwargs
    )
    response.raise_for_status()
    return response.json()


def _mastodon_statuses(server) -> list[dict]:
    me = _mastodon_api(server, "GET", "/api/v1/accounts/verify_credentials")
    return _mastodon_api(server, "GET", f"/api/v1/accounts/{me['id']}/statuses")


@pytest.fixture(scope="module")
def mastodon_server():
    with MockServer() as server:
        # Its first status takes about a second (lazy imports), past the short read timeout:
        # post one before the tests (each test resets the mock).
        _mastodon_api(server, "POST", "/api/v1/statuses", data={"status": "warming up"})
        yield server


def _counting_sessions(monkeypatch, wire: list[str]) -> None:
    """Mastodon's guarded session, noting each status POST as it goes out."""

    def session(allow_loopback: bool = False):
        made = net.guarded_session(allow_loopback)
        send = made.send

        def counted(request, **kwargs):
            if request.method == "POST" and urlsplit(request.url).path == "/api/v1/statuses":
                wire.append(request.headers.get("Idempotency-Key"))
            return send(request, **kwargs)

        made.send = counted
        return made

    monkeypatch.setattr(mastodon_module, "guarded_session", session)


@pytest.fixture
def outlets(app, mastodon_server, monkeypatch):
    """All five outlets configured, each on its own loopback fake; stopped after the test."""
    app.config.update(
        CHANNEL_SECRETS_KEY=Fernet.generate_key().decode(),
        CHANNELS_ALLOW_LOOPBACK=True,
        DELIVERY_AUTOSTART=True,  # publishing enqueues the batches after commit
        CHANNEL_CONNECT_TIMEOUT=CONNECT_TIMEOUT,
        CHANNEL_READ_TIMEOUT=READ_TIMEOUT,  # a hang costs five seconds, not ten
    )
    _mastodon_api(mastodon_server, "POST", "/api/v1/_mock/reset")
    hook_server, slack_server = _CountingReceiver().start(), _CountingReceiver().start()
    x_server, sky_server = _X().start(), _Bluesky().start()
    hooks = Channel(kind=ChannelKind.WEBHOOK, name="webhook subscribers")
    db.session.add(
        Subscriber(
            kind=SubscriberKind.WEBHOOK,
            target=hook_server.url("/hook"),
            signing_secret="whsec_" + base64.b64encode(os.urandom(24)).decode(),
            confirmed_at=utcnow(),
        )
    )
    chat = Channel(kind=ChannelKind.SLACK, name="#status")
    channel_config.store_secrets(chat, {"webhook_url": slack_server.url("/services/T/B/x")})
    x = Channel(kind=ChannelKind.X, name="@herald",
                settings={"account": "herald", "api_base_url": x_server.url})  # fmt: skip
    channel_config.store_secrets(x, X_SECRETS)
    sky = Channel(kind=ChannelKind.BLUESKY, name=HANDLE,
                  settings={"handle": HANDLE, "service_url": sky_server.url})  # fmt: skip
    channel_config.store_secrets(sky, {"app_password": APP_PASSWORD})
    toot = Channel(kind=ChannelKind.MASTODON, name="@status",
                   settings={"server_url": mastodon_server.base_url})  # fmt: skip
    channel_config.store_secrets(toot, {"access_token": MASTODON_TOKEN})
    db.session.add_all([hooks, chat, x, sky, toot])
    db.session.commit()
    built = {
        "webhook": Outlet("webhook", hooks, hook_server, idempotent=True, reads_body=False),
        "slack": Outlet("slack", chat, slack_server, reads_body=False),
        "x": Outlet("x", x, x_server),
        "bluesky": Outlet("bluesky", sky, sky_server),
        # mastodon-mock's 429 says X-RateLimit-Reset: now + 300, which Mastodon.py reads.
        "mastodon": Outlet("mastodon", toot, mastodon_server, retry_after=300, idempotent=True),
    }
    _counting_sessions(monkeypatch, built["mastodon"].wire)
    yield built
    for outlet in built.values():
        if outlet.kind == "mastodon":
            outlet.heal()
        else:
            outlet.server.stop()


def _row(outlet: Outlet) -> Delivery:
    db.session.expire_all()
    [row] = db.session.query(Delivery).filter_by(channel_id=outlet.channel.id).all()
    return row


def _make_due(outlet: Outlet):
    """The backoff has passed: move the row's next attempt to now (the fakes keep real time)."""
    now = utcnow()
    db.session.execute(
        update(Delivery)
        .where(Delivery.channel_id == outlet.channel.id)
        .values(next_attempt_at=now - timedelta(seconds=1))
    )
    db.session.commit()
    return now


def _backoff(attempts: int, wanted: float | None) -> tuple[timedelta, timedelta]:
    """The shortest and longest wait the engine may choose after `attempts` tries."""
    base = delivery.RETRY_SCHEDULE[attempts - 1]
    if wanted is not None:
        base = max(base, timedelta(seconds=wanted))
    return base * (1 - delivery.JITTER), base * (1 + delivery.JITTER)


def _outlets_for(fault: str) -> list[str]:
    if fault == "close":  # mastodon-mock cannot drop a connection
        return [kind for kind in KINDS if kind != "mastodon"]
    return list(KINDS)


@pytest.mark.parametrize("kind", _outlets_for("500"))
def test_a_server_error(app, make, outlets, kind):
    """A 500 from one outlet's server."""
    _one_outlet_fails(make, outlets, kind, "500")


@pytest.mark.parametrize("kind", _outlets_for("429"))
def test_a_rate_limit_with_retry_after(app, make, outlets, kind):
    """A 429 with Retry-After (X-RateLimit-Reset on Mastodon) from one outlet's server."""
    _one_outlet_fails(make, outlets, kind, "429")


@pytest.mark.parametrize("kind", _outlets_for("hang"))
def test_a_hang_past_the_client_timeout(app, make, outlets, kind):
    """One outlet's server takes the post and hangs past the client's read timeout."""
    _one_outlet_fails(make, outlets, kind, "hang")


@pytest.mark.parametrize("kind", _outlets_for("malformed"))
def test_a_malformed_body(app, make, outlets, kind):
    """One outlet's server answers 2xx with a malformed (truncated JSON) body."""
    _one_outlet_fails(make, outlets, kind, "malformed")


@pytest.mark.parametrize("kind", _outlets_for("close"))
def test_a_connection_closed_without_an_answer(app, make, outlets, kind):
    """One outlet's server reads the post and closes the connection without answering."""
    _one_outlet_fails(make, outlets, kind, "close")


def _one_outlet_fails(make, outlets: dict[str, Outlet], kind: str, fault: str) -> None:
    """Publish to all five with `kind` broken by `fault`; check the others, then the retry."""
    team = {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}
    failing = outlets[kind]
    healthy = [o for o in outlets.values() if o is not failing]
    failing.break_with(fault)

    before = utcnow()
    publish(team, make.incident(), "We found the cause.")  # sends to all five after commit
    after = utcnow()

    for outlet in healthy:  # delivered once, whatever happened next door
        row = _row(outlet)
        assert (row.state, row.attempts) == (DeliveryState.SENT, 1), (outlet.kind, row.last_error)
        assert outlet.requests() == 1 and outlet.posts() == 1, outlet.kind

    row = _row(failing)
    expected = failing.expected(fault)
    assert row.state == expected and row.attempts == 1, (row.state, row.last_error)
    assert failing.requests() == 1
    if expected == DeliveryState.RETRYING:
        _retries_with_backoff_then_recovers(failing, fault, before, after)
    else:
        landed = failing.posts()
        assert landed <= 1
        if expected == DeliveryState.UNKNOWN:
            assert row.last_error  # a person checks the outlet; the engine never reposts
        failing.heal()
        _make_due(failing)  # even if it were due, an unknown or sent row is never resent
        sweep_deliveries()
        row = _row(failing)
        assert row.state == expected and row.attempts == 1
        assert failing.requests() == 1 and failing.posts() == landed

    for outlet in healthy:  # the failing outlet's retries resent nothing elsewhere
        assert _row(outlet).attempts == 1 and outlet.posts() == 1, outlet.kind
        assert outlet.requests() == 1, outlet.kind


def _retries_with_backoff_then_recovers(failing: Outlet, fault: str, before, after) -> None:
    wanted = failing.retry_after if fault == "429" else None
    shortest, longest = _backoff(1, wanted)
    row = _row(failing)
    assert before + shortest <= row.next_attempt_at <= after + longest, row.next_attempt_at

    # Not yet due: the sweeper leaves it alone (Retry-After and the schedule are honoured).
    sweep_deliveries()
    assert _row(failing).attempts == 1 and failing.requests() == 1

    # Due, but the server is still broken: a second try, and a longer wait after it.
    second_try = _make_due(failing)
    sweep_deliveries()
    row = _row(failing)
    assert (row.state, row.attempts) == (DeliveryState.RETRYING, 2), row.last_error
    assert failing.requests() == 2
    shortest, longest = _backoff(2, wanted)
    assert second_try + shortest <= row.next_attempt_at <= utcnow() + longest

    # The server recovers; once the wait is over, the row goes out exactly once.
    failing.heal()
    # (mastodon-mock drops a held request once the client hangs up; were it to post it late,
    # the retry's Idempotency-Key would return that status instead of a second one.)
    sweep_deliveries()
    assert _row(failing).attempts == 2  # healed, but still waiting out its backoff
    _make_due(failing)
    sweep_deliveries()
    row = _row(failing)
    assert (row.state, row.attempts) == (DeliveryState.SENT, 3), row.last_error
    assert failing.requests() == 3
    assert failing.keys() in (set(), {row.idempotency_key})  # every resend under one key
    assert failing.posts() == 1

    sweep_deliveries()  # and nothing goes out again later
    assert _row(failing).attempts == 3 and failing.requests() == 3
    assert failing.posts() == 1
