"""What the console shows about deliveries, and the hand actions on stuck ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Channel, Delivery, DeliveryState, Message, Subscriber, User, utcnow
from . import audit, delivery, dispatch
from .errors import Conflict, InvalidInput, NotFound
from .permissions import Can, require

STUCK = (DeliveryState.DEAD, DeliveryState.UNKNOWN)
CANCEL_REASONS = {
    delivery.WITHDRAWN: _l("Cancelled: withdrawn with the postmortem."),
    delivery.REPLACED: _l("Cancelled: a revision replaced it before it went out."),
    delivery.UNSUBSCRIBED: _l("Cancelled: the subscriber unsubscribed."),
    delivery.SWITCHED_OFF: _l("Cancelled: the outlet was switched off."),
}


@dataclass
class ChannelProgress:
    channel: Channel
    counts: Counter = field(default_factory=Counter)
    last_error: str | None = None
    external_id: str | None = None

    @property
    def total(self) -> int:
        """The deliveries meant to go out: cancelled ones (a withdrawn update) are not."""
        return sum(n for state, n in self.counts.items() if state != DeliveryState.CANCELLED)

    @property
    def sent(self) -> int:
        return self.counts[DeliveryState.SENT]

    @property
    def percent(self) -> int:
        return int(100 * self.sent / self.total) if self.total else 0


def progress(message: Message) -> list[ChannelProgress]:
    """Per channel: counts by state, the latest error, the post id (three queries)."""
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


def stuck(limit: int = 200, message_id: int | None = None) -> list[Delivery]:
    """Dead and unknown deliveries, newest first, for people to retry or settle."""
    query = select(Delivery).where(Delivery.state.in_(STUCK))
    if message_id is not None:
        query = query.where(Delivery.message_id == message_id)
    query = query.options(joinedload(Delivery.channel), joinedload(Delivery.message))
    return list(db.session.scalars(query.order_by(Delivery.updated_at.desc()).limit(limit)))


def retry(actor: User, delivery_id: int) -> Delivery:
    """Send a dead or unknown delivery again (its idempotency key still applies)."""
    delivery = get_delivery(delivery_id)
    require(actor, Can.PUBLISH, delivery.message.incident)
    if delivery.state not in STUCK:
        raise Conflict(_("Only dead or unknown deliveries can be retried."))
    if not delivery.channel.enabled:
        raise Conflict(_("This outlet is switched off: switch it on before retrying."))
    if _unsubscribed(delivery.subscriber_id):
        raise Conflict(_("This subscriber has unsubscribed, so nothing more is sent to them."))
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


def _unsubscribed(subscriber_id: int | None) -> bool:
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id else None
    return subscriber is not None and subscriber.unsubscribed_at is not None


def settle(actor: User, delivery_id: int, went_out: bool, note: str = "") -> Delivery:
    """A person checked the outlet: record whether the post went out, with a note."""
    delivery = get_delivery(delivery_id)
    require(actor, Can.PUBLISH, delivery.message.incident)
    if delivery.state not in STUCK:
        raise Conflict(_("Only dead or unknown deliveries can be settled by hand."))
    note = " ".join((note or "").split())[:500]
    if not note:
        raise InvalidInput(_("Say what you found."), field="note")
    before = {"state": delivery.state, "last_error": delivery.last_error}
    delivery.state = DeliveryState.SENT if went_out else DeliveryState.DEAD
    if went_out:
        delivery.sent_at = delivery.sent_at or utcnow()
    delivery.last_error = _("Settled by %(name)s: %(note)s", name=actor.name, note=note)
    audit.record(
        actor,
        "delivery.settled",
        delivery,
        incident=delivery.message.incident,
        before=before,
        after={"state": delivery.state, "note": note},
    )
    db.session.commit()
    return delivery


def get_delivery(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(_("There is no such delivery."))
    return delivery


def _add_latest_details(message: Message, channels: dict[int, ChannelProgress]) -> None:
    """The newest error and the newest post id per channel."""
    rows = db.session.execute(
        select(Delivery.channel_id, Delivery.last_error, Delivery.external_id, Delivery.state)
        .where(
            Delivery.message_id == message.id,
            or_(Delivery.last_error.is_not(None), Delivery.external_id.is_not(None)),
        )
        .order_by(Delivery.updated_at, Delivery.id)
    ).all()
    for channel_id, error, external_id, state in rows:  # later rows win: newest last
        if error:
            cancelled = state == DeliveryState.CANCELLED
            channels[channel_id].last_error = (
                str(CANCEL_REASONS.get(error, error)) if cancelled else error
            )
        if external_id and state == DeliveryState.SENT:
            channels[channel_id].external_id = external_id
