"""The delivery engine's rules: claim rows, send through the channel, record what happened.

The Delivery rows are the truth; the queue only wakes workers. A row is claimed
with a lease by an atomic conditional UPDATE, so two workers never send the same
row. A crash after sending but before recording leaves the row `sending` until its
lease expires; the sweeper then retries it where the channel is idempotent and
marks it `unknown` (reconcile by hand, never blindly repost) where it is not.

Only one claimed row is ever `in_flight`: the flag moves to the next row in the same
commit that records the previous row's outcome (and the claim marks the first), so it
costs no extra commit. After a crash, only that row can have reached a non-idempotent
outlet; the batch's other rows were never started and are simply retried.

Withdrawing an update, or publishing a revision of it, cancels its rows not sent yet
(`cancel_unsent`): those waiting, and those claimed but not in flight. So does
unsubscribing, for that subscriber's rows (`cancel_for_subscriber`), and switching an
outlet off, for its rows (`cancel_for_channel`; a batch that finds its outlet off cancels
its own rows too). Cancelling takes only rows not in flight and marking takes only rows
still `sending`, so each row is either sent or cancelled, never both.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from ..channels import (
    AmbiguousChannelError,
    ChannelError,
    OutgoingUpdate,
    PermanentChannelError,
    Receipt,
    TransientChannelError,
    channel_class,
)
from ..extensions import db
from ..models import Channel, Delivery, DeliveryState, Message, Subscriber, utcnow
from . import channel_config
from .outgoing import base_update, for_delivery

log = logging.getLogger(__name__)

# Waits before the 2nd, 3rd, ... attempt; after the last the row is dead.
RETRY_SCHEDULE = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.2  # ±20% so many failing rows do not retry in lockstep
THREAD_WAIT = timedelta(seconds=5)  # wait for the previous post of a thread to go out
# Networks forget idempotency keys after a while (Mastodon: about an hour); after this, an
# ambiguous failure is left for a person even where the channel honours keys.
IDEMPOTENCY_WINDOW = timedelta(minutes=45)
CLAIMABLE = (DeliveryState.PENDING, DeliveryState.RETRYING)
# Why rows were cancelled, kept in their last_error as these stable words (the console
# says them in the reader's language: delivery_status.CANCEL_REASONS).
WITHDRAWN = "withdrawn with the postmortem"
REPLACED = "replaced by a revision"
UNSUBSCRIBED = "unsubscribed"
SWITCHED_OFF = "outlet switched off"


@dataclass(frozen=True)
class Work:
    """One claimed row, as plain data."""

    id: int
    key: str
    attempts: int
    created_at: datetime
    kind: str
    update: OutgoingUpdate


@dataclass(frozen=True)
class BatchResult:
    sent: int = 0
    failed: int = 0
    claimed: int = 0


def run_batch(message_id: int, channel_id: int, limit: int) -> BatchResult:
    """Claim up to `limit` due rows of one (message, channel) and send them on one connection."""
    channel = db.session.get(Channel, channel_id)
    if channel is None:
        return BatchResult()
    batch = and_(Delivery.message_id == message_id, Delivery.channel_id == channel_id)
    if not channel.enabled:  # switched off after this update fanned out to it
        _cancel(batch, SWITCHED_OFF)
        db.session.commit()
        return BatchResult()
    if _waiting_for_thread(message_id, channel_id):
        return BatchResult()
    if channel_class(channel.kind).fan_out:
        _cancel_for_those_who_left(batch)
    adapter, problem = _adapter(channel)  # before claiming: setting up may be slow
    claimed_at = utcnow()
    ids = claim(message_id, channel_id, limit, claimed_at)
    if not ids:
        _close(adapter)
        return BatchResult()
    work = _prepare(message_id, ids)  # plain data: nothing reloads after each commit
    if problem is not None:
        for row in work:
            _save(row.id, failure_values(row, problem))
        return BatchResult(failed=len(ids), claimed=len(ids))
    try:
        sent = _send_in_turn(adapter, work, claimed_at)
    finally:
        _close(adapter)
    return BatchResult(sent=sent, failed=len(ids) - sent, claimed=len(ids))


def _send_in_turn(adapter, work: list[Work], claimed_at: datetime) -> int:
    """Send the rows in id order while this worker holds them; returns how many went out.

    The batch's rows share one lease, checked (and renewed at half-time) just before each
    send, so a row is never sent with less than half a lease left; once the sweeper has taken
    the batch back, the rest is someone else's. Each outcome's commit marks the next row in
    flight (the claim marked the first); a row cancelled meanwhile is not marked, and the
    next one still held is marked instead.
    """
    leases = _Leases(work, claimed_at)
    sent, row = 0, work[0]
    while row is not None and leases.hold(row.id):
        following = leases.after(row)
        went, marked = _deliver_one(adapter, row, following)
        sent += went
        row = following if marked else leases.mark_next(row)
    return sent


class _Leases:
    """The claimed rows this worker still holds, renewed at half of each lease."""

    def __init__(self, work: list[Work], claimed_at: datetime) -> None:
        self.work = work
        self.position = {row.id: n for n, row in enumerate(work)}
        self.held = {row.id for row in work}
        self.until = claimed_at + lease()  # as claim() wrote it

    def hold(self, delivery_id: int) -> bool:
        if utcnow() >= self.until - lease() / 2:
            self.renew()
        return delivery_id in self.held

    def renew(self) -> None:
        self.held, self.until = renew_lease(sorted(self.held), self.until)

    def after(self, row: Work) -> Work | None:
        """The next row of the batch this worker still holds, as far as it knows."""
        start = self.position[row.id] + 1  # reads on from there, copying nothing
        held = (self.work[n] for n in range(start, len(self.work)))
        return next((r for r in held if r.id in self.held), None)

    def mark_next(self, row: Work) -> Work | None:
        """The row after `row` could not be marked (cancelled, or the batch taken back):
        mark the next one still held, in a commit of its own; None when none is left."""
        self.renew()
        following = self.after(row)
        while following is not None and not _mark_in_flight(following.id):
            self.held.discard(following.id)  # cancelled since the renewal
            following = self.after(following)
        db.session.commit()
        return following


def renew_lease(ids: list[int], until: datetime) -> tuple[set[int], datetime]:
    """Extend the lease this worker holds (ending at `until`, not yet past); returns the rows
    it still holds and their new end. A row whose lease is another one was taken back by the
    sweeper and maybe claimed by another worker: it is theirs now, never renewed from here."""
    now = utcnow()
    renewed = now + lease()
    kept = db.session.scalars(
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            Delivery.state == DeliveryState.SENDING,
            Delivery.lease_until == until,
            Delivery.lease_until >= now,
        )
        .values(lease_until=renewed, updated_at=now)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return set(kept), renewed


def claim(message_id: int, channel_id: int, limit: int, now: datetime) -> list[int]:
    """Atomically mark due rows `sending` with a lease; returns the ids this worker owns."""
    due = (
        select(Delivery.id)
        .where(
            Delivery.message_id == message_id,
            Delivery.channel_id == channel_id,
            Delivery.state.in_(CLAIMABLE),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = db.session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.state.in_(CLAIMABLE))
        .values(
            state=DeliveryState.SENDING,
            lease_until=now + lease(),
            attempts=Delivery.attempts + 1,
            in_flight=False,
            updated_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    if claimed:
        _mark_in_flight(min(claimed))  # rows go out in id order: the first starts now
    db.session.commit()
    return sorted(claimed)


def _mark_in_flight(delivery_id: int) -> bool:
    """Mark a claimed row as the one being sent; False when it is no longer `sending`."""
    marked = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.SENDING)
        .values(in_flight=True)
        .execution_options(synchronize_session=False)
    )
    return marked.rowcount == 1


def cancel_unsent(message_ids: list[int], reason: str) -> int:
    """Cancel the rows of these messages not sent yet: waiting ones, and claimed ones no
    worker has started (not in flight). The caller commits. Returns how many."""
    if not message_ids:
        return 0
    return _cancel(Delivery.message_id.in_(message_ids), reason)


def cancel_for_subscriber(subscriber_id: int, reason: str) -> int:
    """Cancel what is still to go to this subscriber (retries included), as cancel_unsent
    does for a message: nothing reaches an address after it unsubscribed. The caller
    commits. Returns how many."""
    return _cancel(Delivery.subscriber_id == subscriber_id, reason)


def cancel_for_channel(channel_id: int, reason: str) -> int:
    """Cancel what is still to go out through this outlet (switched off): nothing is posted
    there later, not even a retry, when someone switches it on again. The caller commits."""
    return _cancel(Delivery.channel_id == channel_id, reason)


def _cancel_for_those_who_left(batch) -> None:
    """Rows of this batch for subscribers who unsubscribed after they were written (an
    unsubscribe racing the publish, whose cancel ran before the rows existed): never sent.
    Committed with the claim that follows."""
    left = select(Subscriber.id).where(Subscriber.unsubscribed_at.is_not(None))
    _cancel(and_(batch, Delivery.subscriber_id.in_(left)), UNSUBSCRIBED)


def _cancel(rows, reason: str) -> int:
    unsent = or_(
        Delivery.state.in_(CLAIMABLE),
        and_(Delivery.state == DeliveryState.SENDING, ~Delivery.in_flight),
    )
    return db.session.execute(
        update(Delivery)
        .where(rows, unsent)
        .values(
            state=DeliveryState.CANCELLED,
            lease_until=None,
            next_attempt_at=None,
            last_error=reason[:2000],
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])


def sent_values(receipt: Receipt) -> dict:
    values = {
        "state": DeliveryState.SENT,
        "sent_at": utcnow(),
        "lease_until": None,
        "external_id": receipt.external_id,
        "last_error": None,
    }
    if receipt.duplicate:
        values["last_error"] = "the network already had this post; counted as sent"
    return values


def failure_values(row: Work, error: ChannelError, idempotent: bool = False) -> dict:
    values = {"lease_until": None, "last_error": error.message[:2000]}
    if isinstance(error, AmbiguousChannelError) and not _key_still_honoured(row, idempotent):
        values["state"] = DeliveryState.UNKNOWN
    elif isinstance(error, PermanentChannelError) or row.attempts >= MAX_ATTEMPTS:
        values["state"] = DeliveryState.DEAD
    else:
        values["state"] = DeliveryState.RETRYING
        values["next_attempt_at"] = utcnow() + retry_delay(row.attempts, error)
    return values


def _key_still_honoured(row: Work, idempotent: bool) -> bool:
    """A resend with the same key cannot post twice while the network still remembers it."""
    return idempotent and utcnow() - row.created_at < IDEMPOTENCY_WINDOW


def retry_delay(attempts: int, error: ChannelError) -> timedelta:
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    wanted = getattr(error, "retry_after", None)
    if wanted is not None:
        base = max(base, timedelta(seconds=wanted))
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def expire_leases(now: datetime) -> int:
    """Rows left `sending` past their lease: the one in flight is retried where the channel
    is idempotent and marked unknown where it is not; rows never started are retried.

    Each change is one conditional UPDATE, so a row its worker renewed or recorded in the
    meantime is left alone (never turned back from sent to retrying).
    """
    expired = and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now)
    idempotent = _idempotent_channel_ids()
    retry = {"state": DeliveryState.RETRYING, "next_attempt_at": now}
    changes = [
        (  # claimed (so counted) but never started: this attempt did not happen
            ~Delivery.in_flight,
            {**retry, "attempts": Delivery.attempts - 1},
        ),
        (Delivery.in_flight & Delivery.channel_id.in_(idempotent), retry),
        (
            Delivery.in_flight & Delivery.channel_id.not_in(idempotent),
            {
                "state": DeliveryState.UNKNOWN,
                "last_error": "the worker stopped while sending; check the outlet",
            },
        ),
    ]
    taken = 0
    for which, values in changes:
        taken += db.session.execute(
            update(Delivery)
            .where(expired, which)
            .values(**values, lease_until=None, in_flight=False, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    return taken


def _idempotent_channel_ids() -> list[int]:
    channels = db.session.execute(select(Channel.id, Channel.kind)).all()
    return [id_ for id_, kind in channels if _idempotent(kind)]


def _idempotent(kind: str) -> bool:
    try:
        return channel_class(kind).idempotent
    except ChannelError:  # no module for it: never assume a resend is safe
        return False


def due_batches(now: datetime) -> list[tuple[int, int]]:
    """(message, channel) pairs with rows ready to send: the sweeper re-enqueues these."""
    rows = db.session.execute(
        select(Delivery.message_id, Delivery.channel_id)
        .where(
            Delivery.state.in_(CLAIMABLE),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        .distinct()
    ).all()
    return [(m, c) for m, c in rows]


def _prepare(message_id: int, ids: list[int]) -> list[Work]:
    """Each claimed row with the update its channel will get, built before anything is sent."""
    deliveries = db.session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
    wanted = {d.subscriber_id for d in deliveries if d.subscriber_id}
    subscribers = (
        {s.id: s for s in db.session.scalars(select(Subscriber).where(Subscriber.id.in_(wanted)))}
        if wanted
        else {}
    )
    base = base_update(db.session.get(Message, message_id))
    return [
        Work(
            d.id,
            d.idempotency_key,
            d.attempts,
            d.created_at,
            d.channel.kind,
            for_delivery(base, d, subscribers.get(d.subscriber_id)),
        )
        for d in sorted(deliveries, key=lambda d: d.id)
    ]


def _save(delivery_id: int, values: dict, starting: Work | None = None) -> bool:
    """Record one row's outcome; in the same commit, mark the row that starts next.
    Returns False when that row could not be marked (it is no longer `sending`)."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values, in_flight=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    marked = starting is None or _mark_in_flight(starting.id)
    db.session.commit()
    return marked


def _deliver_one(adapter, row: Work, following: Work | None = None) -> tuple[bool, bool]:
    """Send one row and record it: (whether it went out, whether `following` is marked)."""
    try:
        receipt = adapter.send(adapter.render(row.update), row.key)
    except ChannelError as error:
        log.warning("delivery %s to %s failed: %s", row.id, row.kind, error.message)
        return False, _save(row.id, failure_values(row, error, type(adapter).idempotent), following)
    except Exception as error:  # a bug must not lose the row: retry, then dead
        log.exception("delivery %s crashed", row.id)
        crash = TransientChannelError(f"internal error: {error!r}")
        return False, _save(row.id, failure_values(row, crash), following)
    return True, _save(row.id, sent_values(receipt), following)


def _adapter(channel: Channel):
    """(adapter, None), or (None, the error) when the channel cannot be set up."""
    try:
        return channel_config.adapter_for(channel), None
    except ChannelError as error:
        return None, error


def _close(adapter) -> None:
    close = getattr(adapter, "close", None) if adapter is not None else None
    if close is not None:
        close()


def _waiting_for_thread(message_id: int, channel_id: int) -> bool:
    """Hold a reply until the post it threads under has gone out (or failed for good)."""
    message = db.session.get(Message, message_id)
    earlier = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .join(Message, Delivery.message_id == Message.id)
        .where(
            Delivery.channel_id == channel_id,
            Delivery.subscriber_id.is_(None),
            Message.incident_id == message.incident_id,
            Message.id < message_id,
            Delivery.state.in_([*CLAIMABLE, DeliveryState.SENDING]),
        )
    )
    if earlier:
        db.session.execute(
            update(Delivery)
            .where(
                and_(
                    Delivery.message_id == message_id,
                    Delivery.channel_id == channel_id,
                    Delivery.state.in_(CLAIMABLE),
                )
            )
            .values(next_attempt_at=utcnow() + THREAD_WAIT)
        )
        db.session.commit()
    return bool(earlier)
