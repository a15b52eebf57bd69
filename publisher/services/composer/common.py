"""Shared steps of every composer action: loading, the review trail, committing safely."""

from __future__ import annotations

import functools

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import Message, MessageComponentChange, ReviewAction, ReviewEvent, User, utcnow
from .. import audit
from ..errors import Conflict, NotFound
from ..permissions import Forbidden
from .content import content_hash

_LOST_RACE = _l(
    "Someone else acted on this update at the same moment, and their action went first. "
    "Reload it to see where it stands."
)


def get_message(public_id: str) -> Message:
    message = db.session.scalar(
        select(Message)
        .where(Message.public_id == public_id)
        .options(
            selectinload(Message.variants),
            selectinload(Message.component_changes).joinedload(MessageComponentChange.component),
            selectinload(Message.review_events),
            selectinload(Message.translations),
        )
    )
    if message is None:
        raise NotFound(_("There is no update with that id."))
    return message


def check_version(message: Message, expected_version: int | None) -> None:
    """Refuse an action taken on a stale view of the message."""
    if expected_version is not None and expected_version != message.version:
        raise Conflict(
            _("Someone else changed this update since you opened it. Reload it and try again.")
        )


# The review states of updates and postmortems (the same values in both enums).
REVIEW_STATE_LABELS = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "changes_requested": _l("Changes requested"),
    "approved": _l("Approved"),
    "scheduled": _l("Scheduled"),
    "published": _l("Published"),
}


def review_state_label(state) -> str:
    return str(REVIEW_STATE_LABELS.get(str(state), state))


def check_state(message: Message, allowed, doing: str) -> None:
    if message.state not in allowed:
        raise Conflict(
            _(
                "This update is %(state)s, so it cannot be %(doing)s.",
                state=review_state_label(message.state).lower(),
                doing=doing,
            )
        )


def record(
    message: Message, actor: User | None, action: ReviewAction, comment: str | None = None
) -> None:
    """Add a step to the review trail and the incident's audit timeline."""
    add_review_step(message, ReviewEvent(), content_hash(message), actor, action, comment)


def add_review_step(thing, event, digest: str, actor: User | None, action, comment) -> None:
    """Fill `event` (a new review event row) and add it to the review trail of `thing` (an
    update or a postmortem), and the step to its incident's audit timeline."""
    event.actor_id = actor.id if actor else None
    event.action, event.comment, event.content_hash, event.at = action, comment, digest, utcnow()
    thing.review_events.append(event)
    audit.record(
        actor,
        f"{thing.__tablename__}.{action}",
        thing,
        incident=thing.incident,
        after={"state": thing.state, "hash": digest[:12], "comment": comment},
    )


def one_winner(action=None, *, lost_race=_LOST_RACE):
    """Any flush inside `action` may find that another person's action went first: then
    undo and say so (SQLAlchemy raises StaleDataError at the flush, not only at commit).
    `@one_winner` for updates; `@one_winner(lost_race=...)` says it about something else."""
    if action is None:
        return functools.partial(one_winner, lost_race=lost_race)

    @functools.wraps(action)
    def guarded(*args, **kwargs):
        try:
            return action(*args, **kwargs)
        except StaleDataError:
            db.session.rollback()
            raise Conflict(str(lost_race)) from None

    return guarded


def commit_or_conflict(lost_race=_LOST_RACE) -> None:
    """Commit; if another person's action won the race, say so instead of failing."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(str(lost_race)) from None


def check_reviewer(actor: User, item, digest: str, expected_hash: str, *, own, changed) -> None:
    """The approval rules for anything reviewed (an update, a postmortem): nobody approves
    what they wrote or last changed, and an approval covers exactly the content read."""
    if actor.id in (item.author_id, item.last_editor_id):
        raise Forbidden(str(own))
    if expected_hash != digest:
        raise Conflict(str(changed))
