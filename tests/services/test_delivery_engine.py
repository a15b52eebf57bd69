"""The delivery engine's rules, with an in-memory outlet standing in for a network."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event, update

from publisher import channels
from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    Receipt,
    TransientChannelError,
)
from publisher.channels.base import Payload
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch, sweep_deliveries
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
from publisher.services import composer, delivery, outlet_admin

from ..desk import publish_revision
from ..staff import make_user


class FakeOutlet:
    """Records what it is asked to send; `script` decides each call's outcome."""

    kind = "x"
    settings_schema = ()
    idempotent = True
    fan_out = False
    sent: list = []
    script: list = []

    def __init__(self, settings, secrets, **options):
        pass

    def render(self, update):
        return Payload(
            data={
                "text": update.variants["x"],
                "reply_to": update.reply_to,
                "recipient": update.recipient,
            }
        )

    def send(self, payload, idempotency_key):
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        FakeOutlet.sent.append((payload.data, idempotency_key))
        return Receipt(external_id=f"post-{len(FakeOutlet.sent)}")


class FakeEmail(FakeOutlet):
    kind = "email"
    fan_out = True


@pytest.fixture
def outlets(monkeypatch):
    FakeOutlet.sent, FakeOutlet.script = [], []
    monkeypatch.setitem(channels.REGISTRY, "x", FakeOutlet)
    monkeypatch.setitem(channels.REGISTRY, "email", FakeEmail)
    monkeypatch.setattr(channels, "_load_all", lambda: None)
    return FakeOutlet


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}


def email_subscribers(count: int) -> Channel:
    """An email channel and `count` confirmed subscribers (p0@example.com, ...)."""
    email = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    db.session.add(email)
    db.session.add_all(
        Subscriber(kind=SubscriberKind.EMAIL, target=f"p{n}@example.com", confirmed_at=utcnow())
        for n in range(count)
    )
    db.session.commit()
    return email


def publish(team, incident, body="Update", **kwargs):
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(
        comms, incident, incident_status="identified", body=body, **kwargs
    )
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)


def rows(channel=None):
    db.session.expire_all()
    query = db.session.query(Delivery).order_by(Delivery.id)
    return query.filter_by(channel_id=channel.id).all() if channel else query.all()


def test_a_published_update_is_sent_and_its_post_id_kept(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    message = publish(team, make.incident())
    deliver_batch(message.id, x.id)
    [row] = rows(x)
    assert row.state == DeliveryState.SENT and row.external_id == "post-1"
    assert outlets.sent[0][1] == row.idempotency_key


def test_later_updates_of_an_incident_reply_to_its_earlier_post(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    incident = make.incident()
    first = publish(team, incident, "First")
    second = publish(team, incident, "Second")
    deliver_batch(second.id, x.id)  # waits: the first post of the thread is not out yet
    assert outlets.sent == []
    deliver_batch(first.id, x.id)
    with time_machine.travel(utcnow() + timedelta(seconds=6)):
        deliver_batch(second.id, x.id)
    assert [data["reply_to"] for data, _key in outlets.sent] == [None, "post-1"]


def test_a_transient_failure_backs_off_honouring_retry_after(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    outlets.script = [TransientChannelError("429 Too Many Requests", retry_after=600)]
    message = publish(team, make.incident())
    before = utcnow()
    deliver_batch(message.id, x.id)
    [row] = rows(x)
    assert row.state == DeliveryState.RETRYING and row.attempts == 1
    assert row.next_attempt_at >= before + timedelta(seconds=600 * (1 - delivery.JITTER))
    assert "429" in row.last_error


def test_after_the_last_try_a_row_is_dead(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    outlets.script = [TransientChannelError("500")] * delivery.MAX_ATTEMPTS
    message = publish(team, make.incident())
    now = utcnow()
    for attempt in range(delivery.MAX_ATTEMPTS):
        with time_machine.travel(now + timedelta(days=attempt + 1), tick=False):
            deliver_batch(message.id, x.id)
    [row] = rows(x)
    assert row.state == DeliveryState.DEAD and row.attempts == delivery.MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("error", "idempotent", "state"),
    [
        (PermanentChannelError("401 bad credentials"), True, DeliveryState.DEAD),
        (AmbiguousChannelError("timed out after sending"), False, DeliveryState.UNKNOWN),
        (AmbiguousChannelError("timed out after sending"), True, DeliveryState.RETRYING),
    ],
)
def test_permanent_errors_die_and_ambiguous_ones_retry_only_under_an_idempotency_key(
    app, make, team, outlets, monkeypatch, error, idempotent, state
):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    monkeypatch.setattr(outlets, "idempotent", idempotent)
    outlets.script = [error]
    message = publish(team, make.incident())
    deliver_batch(message.id, x.id)
    assert rows(x)[0].state == state


def test_an_expired_lease_is_retried_only_where_resending_is_safe(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    message = publish(team, make.incident())
    delivery.claim(message.id, x.id, 10, utcnow())  # a worker took it and died
    with time_machine.travel(utcnow() + delivery.lease() + timedelta(seconds=1), tick=False):
        sweep_deliveries()
    assert rows(x)[0].state == DeliveryState.SENT
    outlets.idempotent = False
    try:
        second = publish(team, make.incident(name="Other"))
        delivery.claim(second.id, x.id, 10, utcnow())
        with time_machine.travel(utcnow() + delivery.lease() + timedelta(seconds=1), tick=False):
            sweep_deliveries()
    finally:
        outlets.idempotent = True
    assert rows(x)[1].state == DeliveryState.UNKNOWN


def test_two_workers_never_claim_the_same_row(app, make, team, outlets):
    email = email_subscribers(30)
    message = publish(team, make.incident())
    first = delivery.claim(message.id, email.id, 20, utcnow())
    second = delivery.claim(message.id, email.id, 20, utcnow())
    assert len(first) == 20 and len(second) == 10 and not set(first) & set(second)


def test_fan_out_reaches_only_confirmed_subscribers_of_touched_components(app, make, team, outlets):
    api, web = make.component("API"), make.component("Web", position=1)
    email = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    people = {
        "all": Subscriber(
            kind=SubscriberKind.EMAIL, target="all@example.com", confirmed_at=utcnow()
        ),
        "api": Subscriber(
            kind=SubscriberKind.EMAIL,
            target="api@example.com",
            confirmed_at=utcnow(),
            components=[api],
        ),
        "web": Subscriber(
            kind=SubscriberKind.EMAIL,
            target="web@example.com",
            confirmed_at=utcnow(),
            components=[web],
        ),
        "unconfirmed": Subscriber(kind=SubscriberKind.EMAIL, target="new@example.com"),
        "left": Subscriber(
            kind=SubscriberKind.EMAIL,
            target="gone@example.com",
            confirmed_at=utcnow(),
            unsubscribed_at=utcnow(),
        ),
    }
    db.session.add_all([email, *people.values()])
    db.session.commit()
    message = publish(team, make.incident(components=[api]))
    deliver_batch(message.id, email.id)
    reached = sorted(data["recipient"]["address"] for data, _key in outlets.sent)
    assert reached == ["all@example.com", "api@example.com"]
    assert all(
        "/subscriptions/" in data["recipient"]["unsubscribe_url"] for data, _key in outlets.sent
    )


def test_one_failing_outlet_does_not_hold_up_another(app, make, team, outlets):
    x = Channel(kind=ChannelKind.X, name="@x")
    broken = Channel(kind=ChannelKind.MASTODON, name="no module yet")
    db.session.add_all([x, broken])
    message = publish(team, make.incident())
    deliver_batch(message.id, broken.id)
    deliver_batch(message.id, x.id)
    states = {d.channel.name: d.state for d in rows()}
    assert states == {"@x": DeliveryState.SENT, "no module yet": DeliveryState.DEAD}


def test_publishing_enqueues_the_deliveries_after_commit(app, make, team, outlets):
    app.config["DELIVERY_AUTOSTART"] = True
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    publish(team, make.incident())
    assert rows(x)[0].state == DeliveryState.SENT


def test_a_worker_keeps_its_rows_by_renewing_and_loses_those_the_sweeper_took(
    app, make, team, outlets
):
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    first = publish(team, make.incident())
    second = publish(team, make.incident(name="Other"))
    claimed_at = utcnow()
    held = delivery.claim(first.id, x.id, 10, claimed_at)
    lost = delivery.claim(second.id, x.id, 10, claimed_at)
    until = claimed_at + delivery.lease()
    with time_machine.travel(claimed_at + delivery.lease() / 2, tick=False):
        kept, renewed = delivery.renew_lease(held, until)  # renewed in time
        assert kept == set(held) and renewed > until
    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        delivery.expire_leases(utcnow())  # the sweeper takes back the row not renewed
        assert delivery.renew_lease(lost, until)[0] == set()
        assert delivery.renew_lease(held, renewed)[0] == set(held)


class Killed(BaseException):
    """A worker dying in the middle of a send: nothing in the engine catches it."""


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_worker_dying_mid_batch_leaves_only_the_row_in_flight_in_doubt(
    app, make, team, outlets, monkeypatch, idempotent
):
    """Only the row being sent can have reached the outlet: on a non-idempotent outlet it alone
    becomes unknown; the rows claimed but never started are retried, their attempt not counted."""
    monkeypatch.setattr(FakeEmail, "idempotent", idempotent)
    email = email_subscribers(5)
    message = publish(team, make.incident())
    outlets.script = [None, None, Killed()]
    with pytest.raises(Killed):
        delivery.run_batch(message.id, email.id, 10)
    S = DeliveryState
    assert [d.state for d in rows(email)] == [S.SENT, S.SENT, S.SENDING, S.SENDING, S.SENDING]
    assert [d.in_flight for d in rows(email)] == [False, False, True, False, False]

    later = time_machine.travel(utcnow() + delivery.lease() + timedelta(seconds=1), tick=False)
    with later:
        delivery.expire_leases(utcnow())
        in_doubt = S.RETRYING if idempotent else S.UNKNOWN
        states = [d.state for d in rows(email)]
        assert states == [S.SENT, S.SENT, in_doubt, S.RETRYING, S.RETRYING]
        assert [d.attempts for d in rows(email)] == [1, 1, 1, 0, 0]
        assert not any(d.in_flight for d in rows(email))
        deliver_batch(message.id, email.id)
    final = S.SENT if idempotent else S.UNKNOWN
    assert [d.state for d in rows(email)] == [S.SENT, S.SENT, final, S.SENT, S.SENT]
    assert not any(d.in_flight for d in rows(email))


def test_each_recorded_outcome_moves_the_in_flight_mark_to_the_next_row(
    app, make, team, outlets, monkeypatch
):
    """While a batch runs, exactly one row is marked in flight: the one being sent."""
    email = email_subscribers(4)
    message = publish(team, make.incident())
    seen = []
    original = FakeOutlet.send

    def send(self, payload, key):
        marked = db.session.execute(
            db.select(Delivery.idempotency_key).where(Delivery.in_flight.is_(True))
        ).scalars()
        seen.append((key, list(marked)))
        return original(self, payload, key)

    monkeypatch.setattr(FakeEmail, "send", send)
    delivery.run_batch(message.id, email.id, 10)
    assert [marked for _key, marked in seen] == [[key] for key, _marked in seen]
    assert len(seen) == 4 and not any(d.in_flight for d in rows(email))


def test_the_sweeper_never_turns_a_row_its_worker_just_recorded_back_to_retrying(
    app, make, team, outlets
):
    """The worker records its send between the sweeper's look and its write (its lease had
    run out): the sweeper writes only where the row is still `sending`, so `sent` stays."""
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    message = publish(team, make.incident())
    [row_id] = delivery.claim(message.id, x.id, 10, utcnow())
    recorded = []

    def worker_records_first(conn, cursor, statement, parameters, context, executemany):
        if recorded or not statement.lstrip().upper().startswith("UPDATE DELIVERY"):
            return
        recorded.append(row_id)  # once: the worker's own UPDATE passes through here too
        with db.engine.begin() as worker:  # the worker's connection, committed first
            worker.execute(
                update(Delivery)
                .where(Delivery.id == row_id)
                .values(**delivery.sent_values(Receipt(external_id="post-1")), in_flight=False)
            )

    with time_machine.travel(utcnow() + delivery.lease() + timedelta(seconds=1), tick=False):
        event.listen(db.engine, "before_cursor_execute", worker_records_first)
        try:
            taken = delivery.expire_leases(utcnow())
        finally:
            event.remove(db.engine, "before_cursor_execute", worker_records_first)
    [row] = rows(x)
    assert recorded == [row_id]
    assert (row.state, row.external_id) == (DeliveryState.SENT, "post-1") and taken == 0


def test_a_worker_that_outlived_its_lease_leaves_the_rows_another_worker_claimed(
    app, make, team, outlets, monkeypatch
):
    """A send outlasts the lease; the sweeper takes the batch back and a second worker claims
    the rest. The first worker's renewal must not take those rows back: each goes out once."""
    monkeypatch.setattr(FakeEmail, "idempotent", False)
    email = email_subscribers(3)
    message = publish(team, make.incident())
    late = time_machine.travel(utcnow() + delivery.lease() + timedelta(seconds=1), tick=False)
    second_worker: list[int] = []
    original = FakeOutlet.send

    def slow_send(self, payload, key):
        if not second_worker:  # the first send: meanwhile the sweeper, then another worker
            late.start()
            delivery.expire_leases(utcnow())
            second_worker.extend(delivery.claim(message.id, email.id, 10, utcnow()))
        return original(self, payload, key)

    monkeypatch.setattr(FakeEmail, "send", slow_send)
    try:
        result = delivery.run_batch(message.id, email.id, 10)
    finally:
        late.stop()
    ids = [d.id for d in rows(email)]
    assert second_worker == ids[1:]
    assert result.sent == 1 and len(outlets.sent) == 1
    assert [d.state for d in rows(email)] == [DeliveryState.SENT, *[DeliveryState.SENDING] * 2]


def cancel_during_first_send(monkeypatch, cancel) -> None:
    """While the batch's first row is being sent, `cancel` runs and commits (as a person
    withdrawing the update would, in their own request)."""
    original, done = FakeOutlet.send, []

    def send(self, payload, key):
        if not done:
            done.append(cancel())
            db.session.commit()
        return original(self, payload, key)

    monkeypatch.setattr(FakeEmail, "send", send)


def test_withdrawing_mid_batch_cancels_the_rows_not_started_and_lets_the_one_in_flight_finish(
    app, make, team, outlets, monkeypatch
):
    """Cancelling takes every row not in flight, claimed or waiting; the row being sent is
    recorded sent; the worker sends none of the cancelled ones, and no row is both."""
    email = email_subscribers(5)
    message = publish(team, make.incident())
    cancel_during_first_send(
        monkeypatch, lambda: delivery.cancel_unsent([message.id], delivery.WITHDRAWN)
    )
    result = delivery.run_batch(message.id, email.id, 3)  # 3 claimed, 2 still waiting
    S = DeliveryState
    assert [d.state for d in rows(email)] == [S.SENT, *[S.CANCELLED] * 4]
    assert result.sent == 1 and len(outlets.sent) == 1
    assert not any(d.in_flight or d.lease_until for d in rows(email))
    assert {d.last_error for d in rows(email)[1:]} == {delivery.WITHDRAWN}
    assert delivery.due_batches(utcnow()) == []
    deliver_batch(message.id, email.id)
    assert len(outlets.sent) == 1


def test_a_row_cancelled_mid_batch_is_skipped_and_the_next_one_is_marked_instead(
    app, make, team, outlets, monkeypatch
):
    email = email_subscribers(4)
    message = publish(team, make.incident())
    second = rows(email)[1].id

    def cancel_second():
        return db.session.execute(
            update(Delivery).where(Delivery.id == second).values(state=DeliveryState.CANCELLED)
        )

    cancel_during_first_send(monkeypatch, cancel_second)
    marked = []
    sending = FakeEmail.send

    def watch(self, payload, key):
        marked.append(db.session.scalars(db.select(Delivery.id).where(Delivery.in_flight)).all())
        return sending(self, payload, key)

    monkeypatch.setattr(FakeEmail, "send", watch)
    result = delivery.run_batch(message.id, email.id, 10)
    S = DeliveryState
    ids = [d.id for d in rows(email)]
    assert [d.state for d in rows(email)] == [S.SENT, S.CANCELLED, S.SENT, S.SENT]
    assert result.sent == 3 and marked == [[ids[0]], [ids[2]], [ids[3]]]
    assert not any(d.in_flight for d in rows(email))


def test_switching_an_outlet_off_cancels_what_it_had_still_to_post_retries_included(
    app, make, team, outlets
):
    """An admin switches an outlet off mid-incident (a leaked token, a wrong channel): the
    retry waiting for it is cancelled and never posted, even once it is switched on again."""
    x = Channel(kind=ChannelKind.X, name="@x")
    db.session.add(x)
    admin = make_user(Role.ADMIN)
    outlets.script = [TransientChannelError("503 Service Unavailable")]
    message = publish(team, make.incident())
    deliver_batch(message.id, x.id)
    assert rows(x)[0].state == DeliveryState.RETRYING
    outlet_admin.save_channel(admin, kind="x", name="@x", enabled=False, channel=x)
    [row] = rows(x)
    assert row.state == DeliveryState.CANCELLED and row.last_error == delivery.SWITCHED_OFF
    outlet_admin.save_channel(admin, kind="x", name="@x", enabled=True, channel=x)
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        assert delivery.due_batches(utcnow()) == []
        deliver_batch(message.id, x.id)
    assert outlets.sent == []


def test_a_batch_whose_outlet_was_switched_off_cancels_its_rows_and_sends_nothing(
    app, make, team, outlets
):
    """However an outlet came to be off after the fan-out, its batch posts nothing."""
    email = email_subscribers(3)
    message = publish(team, make.incident())
    db.session.execute(update(Channel).where(Channel.id == email.id).values(enabled=False))
    db.session.commit()
    assert delivery.run_batch(message.id, email.id, 10) == delivery.BatchResult()
    assert outlets.sent == []
    assert {d.state for d in rows(email)} == {DeliveryState.CANCELLED}


def test_a_revision_mid_fan_out_corrects_only_those_who_got_the_old_text(app, make, team, outlets):
    """A revision published while an email fan-out is half done: the readers still waiting
    get the new text once, as a plain update; only those the old text reached get it as a
    correction."""
    email = email_subscribers(3)
    incident = make.incident()
    first = publish(team, incident, "Fixed in ten minutes.")
    delivery.run_batch(first.id, email.id, 1)  # one reader has it; two are still waiting
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    revision = publish_revision(comms, im, first, body="Fixed in an hour.")
    deliver_batch(first.id, email.id)
    deliver_batch(revision.id, email.id)
    S = DeliveryState
    old, new = rows(email)[:3], rows(email)[3:]
    assert [d.state for d in old] == [S.SENT, S.CANCELLED, S.CANCELLED]
    assert [(d.state, d.is_correction) for d in new] == [
        (S.SENT, True),
        (S.SENT, False),
        (S.SENT, False),
    ]
    texts = [(data["recipient"], data["text"]) for data, _key in outlets.sent]
    assert len(texts) == 4 and sum("ten minutes" in text for _r, text in texts) == 1


def test_a_batch_never_sends_to_someone_who_unsubscribed_after_the_rows_were_written(
    app, make, team, outlets
):
    """An unsubscribe that raced the publish (its cancel ran before the rows were there)."""
    email = email_subscribers(3)
    message = publish(team, make.incident())
    db.session.execute(
        update(Subscriber)
        .where(Subscriber.target == "p1@example.com")
        .values(unsubscribed_at=utcnow())
    )
    db.session.commit()
    deliver_batch(message.id, email.id)
    sent_to = [data["recipient"]["address"] for data, _key in outlets.sent]
    assert sent_to == ["p0@example.com", "p2@example.com"]
    assert [d.state for d in rows(email)].count(DeliveryState.CANCELLED) == 1
