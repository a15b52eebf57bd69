"""What the console shows about deliveries, and the hand actions on stuck ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Channel, Delivery, DeliveryState, Message, User, utcnow
from . import audit, dispatch
from .errors import Conflict, InvalidInput, NotFound
from .permissions import Can, require

STUCK = (DeliveryState.DEAD, DeliveryState.UNKNOWN)


@dataclass
class ChannelProgress:
    channel: Channel
    counts: Counter = field(default_factory=Counter)
    last_error: str | None = None
    external_id: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def sent(self) -> int:
        return self.counts[DeliveryState.SENT]

    @property
    def percent(self) -> int:
        return int(100 * self.sent / self.total) if self.total else 0


def progress(message: Message) -> list[ChannelProgress]:
    """Per channel: counts by state, the latest error, the post id (two queries)."""
    rows = db.session.execute(
        select(Delivery.channel_id, Delivery.state, func.count())
        .where(Delivery.message_id == message.id)
        .group_by(Delivery.channel_id, Delivery.state)
    ).all()
    channels = {
        c.id: ChannelProgress(c)
        for c in db.session.scalars(select(Channel).where(Channel.id.in_({r[0] for r in rows})))
    }
    for channel_id, state, count in rows:
        channels[channel_id].counts[DeliveryState(state)] = count
    _add_latest_details(message, channels)
    return sorted(channels.values(), key=lambda p: (p.channel.kind, p.channel.name))


def stuck(limit: int = 200) -> list[Delivery]:
    """Dead and unknown deliveries, newest first, for people to retry or settle."""
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.state.in_(STUCK))
            .options(joinedload(Delivery.channel), joinedload(Delivery.message))
            .order_by(Delivery.updated_at.desc())
            .limit(limit)
        )
    )


def retry(actor: User, delivery_id: int) -> Delivery:
    """Send a dead or unknown delivery again (its idempotency key still applies)."""
    require(actor, Can.PUBLISH)
    delivery = _get(delivery_id)
    if delivery.state not in STUCK:
        raise Conflict(_("Only dead or unknown deliveries can be retried."))
    before = delivery.state
    delivery.state, delivery.next_attempt_at = DeliveryState.RETRYING, utcnow()
    delivery.attempts, delivery.lease_until = 0, None
    audit.record(
        actor,
        "delivery.retried",
        delivery,
        incident=delivery.message.incident,
        before={"state": before},
        after={"state": delivery.state},
    )
    dispatch.after_commit(delivery.message_id, delivery.channel_id)
    db.session.commit()
    return delivery


def settle(actor: User, delivery_id: int, went_out: bool, note: str = "") -> Delivery:
    """A person checked the outlet: record whether the post went out, with a note."""
    require(actor, Can.PUBLISH)
    delivery = _get(delivery_id)
    if delivery.state not in STUCK:
        raise Conflict(_("Only dead or unknown deliveries can be settled by hand."))
    note = " ".join((note or "").split())[:500]
    if not note:
        raise InvalidInput(_("Say what you found."), field="note")
    before = delivery.state
    delivery.state = DeliveryState.SENT if went_out else DeliveryState.DEAD
    delivery.last_error = _("Settled by %(name)s: %(note)s", name=actor.name, note=note)
    audit.record(
        actor,
        "delivery.settled",
        delivery,
        incident=delivery.message.incident,
        before={"state": before},
        after={"state": delivery.state, "note": note},
    )
    db.session.commit()
    return delivery


def _get(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(_("There is no such delivery."))
    return delivery


def _add_latest_details(message: Message, channels: dict[int, ChannelProgress]) -> None:
    rows = db.session.execute(
        select(Delivery.channel_id, Delivery.last_error, Delivery.external_id).where(
            Delivery.message_id == message.id, Delivery.subscriber_id.is_(None)
        )
    ).all()
    errors = db.session.execute(
        select(Delivery.channel_id, func.max(Delivery.last_error))
        .where(Delivery.message_id == message.id, Delivery.last_error.is_not(None))
        .group_by(Delivery.channel_id)
    ).all()
    for channel_id, _error, external_id in rows:
        channels[channel_id].external_id = external_id
    for channel_id, error in errors:
        channels[channel_id].last_error = error
