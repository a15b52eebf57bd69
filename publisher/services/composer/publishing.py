"""Publishing: now, at a scheduled time, or in an emergency; deliveries in the same transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, insert, or_, select

from ...extensions import db
from ...models import (
    Audience,
    Channel,
    ChannelKind,
    Component,
    Delivery,
    DeliveryState,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    Message,
    MessageState,
    ReviewAction,
    Subscriber,
    SubscriberKind,
    User,
    utcnow,
)
from .. import delivery, dispatch
from ..components import apply_status
from ..errors import Conflict, InvalidInput
from ..permissions import Can, require
from ..updates import apply_incident_status
from .common import check_state, check_version, commit_or_conflict, one_winner, record
from .content import content_hash

log = logging.getLogger(__name__)

# When the next update is promised by default, by impact.
NEXT_UPDATE_AFTER = {
    Impact.CRITICAL: timedelta(minutes=30),
    Impact.MAJOR: timedelta(minutes=60),
    Impact.MINOR: timedelta(hours=2),
    Impact.NONE: timedelta(hours=4),
    Impact.MAINTENANCE: timedelta(hours=4),
}
# Outlets that cannot edit a post: a revision goes out there as a correction post.
# (Mastodon edits its post in place; a webhook receiver just gets the new payload.)
CANNOT_EDIT = frozenset({ChannelKind.X, ChannelKind.BLUESKY, ChannelKind.EMAIL, ChannelKind.SLACK})
# Channels that send to each matching subscriber rather than to one place.
FAN_OUT = {ChannelKind.EMAIL: SubscriberKind.EMAIL, ChannelKind.WEBHOOK: SubscriberKind.WEBHOOK}
CLOSING_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, MaintenanceStatus.COMPLETED)
MAX_REASON = 2000


@one_winner
def publish(
    actor: User,
    message: Message,
    *,
    expected_version: int | None = None,
    next_update_in: timedelta | None = None,
) -> Message:
    """Publish an approved update whose content is still exactly what was approved."""
    require(actor, Can.PUBLISH, message.incident)
    check_version(message, expected_version)
    check_state(message, (MessageState.APPROVED,), _("published"))
    _check_approval(message)
    _publish(message, actor, utcnow(), next_update_in)
    commit_or_conflict()
    return message


@one_winner
def schedule(
    actor: User, message: Message, publish_at: datetime, *, expected_version: int | None = None
) -> Message:
    require(actor, Can.PUBLISH, message.incident)
    check_version(message, expected_version)
    check_state(message, (MessageState.APPROVED,), _("scheduled"))
    _check_approval(message)
    if publish_at.tzinfo is None or publish_at <= utcnow():
        raise InvalidInput(_("Choose a time in the future."), field="publish_at")
    message.state, message.publish_at = MessageState.SCHEDULED, publish_at
    record(message, actor, ReviewAction.SCHEDULED)
    commit_or_conflict()
    return message


@one_winner
def emergency_publish(
    actor: User, message: Message, *, reason: str, expected_version: int | None = None
) -> Message:
    """An incident manager publishes without a second person; the reason goes on record."""
    require(actor, Can.EMERGENCY_PUBLISH, message.incident)
    check_version(message, expected_version)
    check_state(
        message,
        (
            MessageState.DRAFT,
            MessageState.CHANGES_REQUESTED,
            MessageState.IN_REVIEW,
            MessageState.APPROVED,
        ),
        _("published"),
    )
    reason = " ".join((reason or "").split())
    if len(reason) < 10 or len(reason) > MAX_REASON:
        raise InvalidInput(
            _(
                "Give the reason for publishing without review (10 to %(n)d characters).",
                n=MAX_REASON,
            ),
            field="reason",
        )
    message.emergency_reason = reason
    _publish(message, actor, utcnow(), None, ReviewAction.EMERGENCY_PUBLISHED, reason)
    commit_or_conflict()
    return message


def publish_announcement(message: Message, actor: User | None) -> Message:
    """Publish an update that announces content approved elsewhere (a postmortem): it goes
    through the same engine (page, feeds, one delivery per outlet) in the caller's unit of
    work, without a review of its own. No commit."""
    message.approved_hash = content_hash(message)
    _publish(message, actor, utcnow(), None)
    return message


def publish_due(now: datetime) -> list[Message]:
    """Publish scheduled updates whose time has come (the periodic job), one transaction
    each, so one contested update cannot hold up the others."""
    due_ids = db.session.scalars(
        select(Message.id).where(Message.state == MessageState.SCHEDULED, Message.publish_at <= now)
    ).all()
    published = [m for m in (_publish_if_due(message_id, now) for message_id in due_ids) if m]
    return published


def _publish_if_due(message_id: int, now: datetime) -> Message | None:
    try:
        return _publish_scheduled(message_id, now)
    except Conflict as error:
        log.info("scheduled update %s not published: %s", message_id, error.message)
        return None


@one_winner
def _publish_scheduled(message_id: int, now: datetime) -> Message | None:
    message = db.session.scalar(
        select(Message)
        .where(Message.id == message_id, Message.state == MessageState.SCHEDULED)
        .with_for_update(skip_locked=True)
    )
    if message is None or message.approved_hash != content_hash(message):
        db.session.rollback()
        return None
    _publish(message, None, now, None)
    commit_or_conflict()
    return message


def _check_approval(message: Message) -> None:
    if message.approved_hash != content_hash(message):
        raise Conflict(_("The update changed after it was approved; it needs approval again."))


def _publish(message, actor, now, next_update_in, action=ReviewAction.PUBLISHED, comment=None):
    incident = message.incident
    message.state, message.published_at = MessageState.PUBLISHED, now
    if _speaks_for_now(message):
        _apply_announced_changes(message, now)
        closing = message.incident_status in CLOSING_STATUSES
        after = next_update_in or NEXT_UPDATE_AFTER.get(incident.impact, timedelta(hours=1))
        incident.next_update_due_at = None if closing else now + after
    if message.revision_of_id is not None:
        message.revision_of.superseded_at = now
        message.published_at = message.revision_of.published_at
    write_deliveries(message)
    record(message, actor, action, comment)


def _speaks_for_now(message: Message) -> bool:
    """Whether this update's statuses describe the present: a new update does, and so does a
    revision of the incident's latest update; a revision of an older one corrects its text
    only (fixing a typo in the first update must not reopen a resolved incident)."""
    if message.revision_of_id is None:
        return True
    latest = db.session.scalar(
        select(Message.id)
        .where(
            Message.incident_id == message.incident_id,
            Message.audience == message.audience,
            Message.state == MessageState.PUBLISHED,
            Message.superseded_at.is_(None),
            Message.id != message.id,
        )
        .order_by(Message.published_at.desc(), Message.id.desc())
        .limit(1)
    )
    return latest == message.revision_of_id


def _apply_announced_changes(message: Message, now: datetime) -> None:
    if message.audience != Audience.PUBLIC:
        return  # internal updates inform stakeholders; they do not move the public page
    for change in message.component_changes:
        change.old_status = change.component.status
        apply_status(change.component, change.new_status, now, message.incident)
    apply_incident_status(message.incident, message.incident_status, now)


def write_deliveries(message: Message) -> None:
    """One row per channel, or per matching subscriber for fan-out channels (bulk insert);
    each (message, channel) is queued after the commit, which is the caller's."""
    db.session.flush()
    reached = _replace_original(message)
    for channel in db.session.scalars(select(Channel).where(Channel.enabled.is_(True))):
        if not _channel_takes(channel, message):
            continue
        subscribers = _subscribers_for(channel, message)
        targets = [None] if subscribers is None else subscribers
        rows = [_delivery_row(message, channel, subscriber, reached) for subscriber in targets]
        if rows:
            db.session.execute(insert(Delivery), rows)
            dispatch.after_commit(message.id, channel.id, len(rows))


def _replace_original(message: Message) -> set[tuple[int, int | None]]:
    """For a revision: cancel what of the update it replaces has not gone out yet (nobody
    needs the old text any more), and return the (channel, subscriber) pairs the old text
    reached, or may have: only there is the revision a correction. Empty for a new update."""
    if message.revision_of_id is None:
        return set()
    delivery.cancel_unsent([message.revision_of_id], delivery.REPLACED)
    went_out = (DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.SENDING)
    rows = db.session.execute(
        select(Delivery.channel_id, Delivery.subscriber_id).where(
            Delivery.message_id == message.revision_of_id, Delivery.state.in_(went_out)
        )
    )
    return {(channel_id, subscriber_id) for channel_id, subscriber_id in rows}


def _delivery_row(
    message: Message, channel: Channel, subscriber_id: int | None, reached: set
) -> dict:
    key = f"{message.public_id}-{channel.id}" + (f"-{subscriber_id}" if subscriber_id else "")
    now = utcnow()
    correction = channel.kind in CANNOT_EDIT and (channel.id, subscriber_id) in reached
    return {
        "message_id": message.id,
        "channel_id": channel.id,
        "subscriber_id": subscriber_id,
        "is_correction": correction,
        "idempotency_key": key,
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _subscribers_for(channel: Channel, message: Message) -> list[int] | None:
    """Subscriber ids a fan-out channel sends this update to; None for single-target channels."""
    kind = FAN_OUT.get(channel.kind)
    if kind is None or (channel.settings or {}).get("recipients"):
        return None
    if message.audience != Audience.PUBLIC:
        return []
    incident = message.incident
    touched = {c.id for c in incident.components}
    touched |= {c.component_id for c in message.component_changes}
    chose_touched = Subscriber.components.any(Component.id.in_(touched))
    return list(
        db.session.scalars(
            select(Subscriber.id)
            .where(
                Subscriber.kind == kind,
                Subscriber.confirmed_at.is_not(None),
                Subscriber.unsubscribed_at.is_(None),
                or_(
                    Subscriber.incident_id == incident.id,
                    and_(
                        Subscriber.incident_id.is_(None),
                        or_(~Subscriber.components.any(), chose_touched),
                    ),
                ),
            )
            .order_by(Subscriber.id)
        )
    )


def _channel_takes(channel: Channel, message: Message) -> bool:
    audiences = channel.audiences or ["public"]
    statuses = channel.statuses or []
    return str(message.audience) in audiences and (
        not statuses or message.incident_status in statuses
    )
