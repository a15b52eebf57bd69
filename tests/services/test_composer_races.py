"""Two people acting on the same update at once: exactly one wins, the other is told why.

Each racer is a real thread with its own app context, hence its own database session,
as two web requests or a web request and a job worker would be. Every racer reads the
message before a barrier and acts after it, so all of them act on the same version.
Run on SQLite by default and on PostgreSQL when DATABASE_URL points there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import (
    Channel,
    ChannelKind,
    ComponentStatusChange,
    Delivery,
    Message,
    MessageState,
    ReviewAction,
    ReviewEvent,
    Role,
    User,
    utcnow,
)
from publisher.services import composer
from publisher.services.errors import ServiceError

from ..staff import make_user

# A racer reads what it needs (in its own session) and returns the action to take at the gun.
Racer = Callable[[], Callable[[], object]]
WON = "won"
ROUNDS = 3  # each race is run a few times: the interleaving differs from run to run
# Until the services turn a flush's StaleDataError into Conflict (audit.record and
# write_deliveries flush before commit_or_conflict runs), the loser gets a raw error.


@pytest.fixture
def desk(app, make):
    """An incident with a component, two channels, an author and four approvers."""
    app.config["DELIVERY_AUTOSTART"] = False  # the rows are what we check; nothing is sent
    api = make.component("API")
    incident = make.incident(components=[api])
    db.session.add_all([Channel(kind=ChannelKind.X, name="@x"),
                        Channel(kind=ChannelKind.MASTODON, name="@m@example.test")])  # fmt: skip
    db.session.commit()
    author = make_user(Role.COMMS_MANAGER)
    approvers = [
        make_user(Role.INCIDENT_MANAGER, email=f"im{n}@example.com", name=f"IM {n}")
        for n in range(4)
    ]
    return {"incident": incident, "component": api, "author": author, "approvers": approvers}


def race(app, racers: list[Racer]) -> list[tuple[str, object]]:
    """Run the racers in threads released together: (WON, result) or (error, its message)."""
    db.session.commit()
    db.session.close()  # the test's own session holds nothing while the racers run
    gun = threading.Barrier(len(racers))

    def run(racer: Racer) -> tuple[str, object]:
        with app.app_context():
            try:
                action = racer()
                gun.wait(timeout=30)
                return WON, action()
            except ServiceError as error:
                return type(error).__name__, error.message
            except Exception as error:  # any other error is an outcome too, for the asserts
                return type(error).__name__, str(error)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(racers)) as pool:
        return list(pool.map(run, racers))


# ---------------------------------------------------------------- racers


def approver(user_id: int, public_id: str) -> Racer:
    def ready():
        user, message = db.session.get(User, user_id), composer.get_message(public_id)
        digest = composer.content_hash(message)
        return lambda: composer.approve(user, message, expected_hash=digest)

    return ready


def editor(user_id: int, public_id: str, body: str) -> Racer:
    def ready():
        user, message = db.session.get(User, user_id), composer.get_message(public_id)
        return lambda: composer.edit_message(user, message, body=body)

    return ready


def publisher(user_id: int, public_id: str) -> Racer:
    def ready():
        user, message = db.session.get(User, user_id), composer.get_message(public_id)
        return lambda: composer.publish(user, message)

    return ready


def publisher_after_scheduling(user_id: int, public_id: str, scheduler_id: int) -> Racer:
    """Reads the update while approved; meanwhile someone else schedules it (due within the
    scheduler job's window)."""

    def ready():
        user, message = db.session.get(User, user_id), composer.get_message(public_id)
        with current_app.app_context():  # another person's request, with its own session
            composer.schedule(db.session.get(User, scheduler_id), composer.get_message(public_id),
                              utcnow() + timedelta(seconds=30))  # fmt: skip
            db.session.remove()
        return lambda: composer.publish(user, message)

    return ready


def scheduler_job(now) -> Racer:
    return lambda: lambda: composer.publish_due(now)


# ---------------------------------------------------------------- the message's stages


def in_review(desk) -> Message:
    author = desk["author"]
    message = composer.create_draft(
        author, desk["incident"], incident_status="identified", body="We found the cause.",
        component_statuses={desk["component"]: "partial_outage"},
    )  # fmt: skip
    return composer.submit(author, message)


def approved(desk) -> Message:
    message = in_review(desk)
    return composer.approve(
        desk["approvers"][0], message, expected_hash=composer.content_hash(message)
    )


def fresh(public_id: str) -> Message:
    db.session.expire_all()
    return composer.get_message(public_id)


def count(model, **where) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return db.session.scalar(query)


def review_actions(message: Message, action: ReviewAction) -> int:
    return count(ReviewEvent, message_id=message.id, action=action)


def assert_one_winner(outcomes: list[tuple[str, object]]) -> int:
    """Exactly one racer won; every other was told of a Conflict; the winner's index."""
    winners = [n for n, (outcome, _text) in enumerate(outcomes) if outcome == WON]
    assert len(winners) == 1, outcomes
    losers = [o for o in outcomes if o[0] != WON]
    assert all(kind == "Conflict" and text for kind, text in losers), outcomes
    return winners[0]


def assert_consistent(message: Message) -> None:
    """An approval is only ever standing for exactly the content it approved."""
    if message.state in (MessageState.APPROVED, MessageState.SCHEDULED):
        assert message.approved_hash == composer.content_hash(message)
        assert message.approved_by_id is not None
    if message.state in (MessageState.DRAFT, MessageState.IN_REVIEW):
        assert message.approved_hash is None and message.approved_by_id is None


# ---------------------------------------------------------------- the races


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_four_approvers_at_once_make_exactly_one_approval(app, desk, round_):
    message = in_review(desk)
    public_id, version = message.public_id, message.version
    ids = [user.id for user in desk["approvers"]]
    outcomes = race(app, [approver(user_id, public_id) for user_id in ids])
    winner = assert_one_winner(outcomes)
    message = fresh(public_id)
    assert message.state == MessageState.APPROVED
    assert message.approved_by_id == ids[winner]
    assert review_actions(message, ReviewAction.APPROVED) == 1
    assert message.version == version + 1
    assert_consistent(message)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_approval_and_an_edit_at_once_never_leave_a_stale_approval(app, desk, round_):
    message = in_review(desk)
    public_id, version = message.public_id, message.version
    edited = "We found the cause: a bad deploy."
    racers = [
        approver(desk["approvers"][0].id, public_id),
        editor(desk["author"].id, public_id, edited),
    ]
    winner = assert_one_winner(race(app, racers))
    message = fresh(public_id)
    assert message.version == version + 1
    if winner == 0:
        assert message.state == MessageState.APPROVED and message.body == "We found the cause."
        assert review_actions(message, ReviewAction.EDITED) == 0
    else:
        assert message.state == MessageState.DRAFT and message.body == edited
        assert review_actions(message, ReviewAction.APPROVED) == 0
    assert_consistent(message)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_publishing_twice_at_once_publishes_and_delivers_once(app, desk, round_):
    message = approved(desk)
    public_id, version, message_id = message.public_id, message.version, message.id
    people = [desk["author"].id, desk["approvers"][1].id, desk["approvers"][2].id]
    winner = assert_one_winner(race(app, [publisher(user_id, public_id) for user_id in people]))
    message = fresh(public_id)
    assert message.state == MessageState.PUBLISHED and message.version == version + 1
    assert review_actions(message, ReviewAction.PUBLISHED) == 1
    assert count(Delivery, message_id=message_id) == 2  # one per channel, written once
    assert count(ComponentStatusChange, incident_id=message.incident_id) == 1
    assert db.session.scalar(select(ReviewEvent.actor_id).where(
        ReviewEvent.message_id == message_id, ReviewEvent.action == ReviewAction.PUBLISHED
    )) == people[winner]  # fmt: skip


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_scheduled_job_and_a_manual_publish_publish_once(app, desk, round_):
    """Someone opened the approved update and presses publish as the job publishes it."""
    message = approved(desk)
    public_id, message_id = message.public_id, message.id
    manual = publisher_after_scheduling(desk["author"].id, public_id, desk["approvers"][1].id)
    outcomes = race(app, [scheduler_job(utcnow() + timedelta(minutes=1)), manual])
    assert assert_one_winner(outcomes) == 0
    message = fresh(public_id)
    assert message.state == MessageState.PUBLISHED
    assert review_actions(message, ReviewAction.PUBLISHED) == 1
    assert count(Delivery, message_id=message_id) == 2


# PostgreSQL's FOR UPDATE SKIP LOCKED keeps the second run away; SQLite has no row locks, so
# there the second run usually loses the race (whether it does depends on timing).
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_scheduler_runs_at_once_publish_once(app, desk, round_):
    """Two job consumers (two hosts) run the periodic task in the same instant."""
    message = approved(desk)
    public_id, message_id = message.public_id, message.id
    composer.schedule(desk["author"], message, utcnow() + timedelta(seconds=30))
    due = utcnow() + timedelta(minutes=1)
    outcomes = race(app, [scheduler_job(due), scheduler_job(due)])
    published = [result for outcome, result in outcomes if outcome == WON and result]
    assert len(published) == 1, outcomes  # the other found nothing due, or lost the race
    assert all(o == (WON, []) or (o[0] == "Conflict" and o[1]) for o in outcomes if o[0] != WON
               or not o[1]), outcomes  # fmt: skip
    message = fresh(public_id)
    assert message.state == MessageState.PUBLISHED
    assert review_actions(message, ReviewAction.PUBLISHED) == 1
    assert count(Delivery, message_id=message_id) == 2
