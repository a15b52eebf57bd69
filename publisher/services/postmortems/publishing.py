"""Publishing a postmortem's public version: on the incident page, the JSON (status
postmortem) and the feeds, and, when the publisher chooses, to subscribers; and
withdrawing it from the public side again."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import (
    Audience,
    IncidentStatus,
    Message,
    MessageState,
    Postmortem,
    PostmortemState,
    ReviewAction,
    User,
    utcnow,
)
from .. import audit, delivery
from ..composer.common import commit_or_conflict, one_winner
from ..composer.common import record as record_message_step
from ..composer.content import incident_url, refresh_variants
from ..composer.publishing import publish_announcement
from ..errors import Conflict, InvalidInput
from ..permissions import Can, require
from ..updates import apply_incident_status
from .content import content_hash
from .documents import LOST_RACE, check_state, check_version, record
from .review import MAX_COMMENT

# The incident statuses after which its postmortem may go public.
PUBLISHABLE_AFTER = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
# A review step of postmortems only (updates are never withdrawn), so not a ReviewAction.
UNPUBLISHED = "unpublished"


@one_winner(lost_race=LOST_RACE)
def publish(
    actor: User,
    postmortem: Postmortem,
    *,
    notify: bool = False,
    expected_version: int | None = None,
) -> Postmortem:
    """Show the approved public version to visitors; with `notify`, also announce it through
    the publishing engine (an update of status postmortem, one delivery per outlet)."""
    incident = postmortem.incident
    require(actor, Can.PUBLISH_POSTMORTEM, incident)
    check_version(postmortem, expected_version)
    check_state(postmortem, (PostmortemState.APPROVED,), _("published"))
    if postmortem.approved_hash != content_hash(postmortem):
        raise Conflict(_("The postmortem changed after it was approved; it needs approval again."))
    if not postmortem.public_body.strip():
        raise InvalidInput(_("Write the public version before publishing it."), field="public_body")
    if incident.status not in PUBLISHABLE_AFTER:
        raise Conflict(_("Resolve the incident before publishing its postmortem."))
    _make_public(postmortem, actor)
    if notify:
        postmortem.announcement_id = _announce(postmortem, actor).id
    record(postmortem, actor, ReviewAction.PUBLISHED, _("Subscribers notified") if notify else None)
    commit_or_conflict(LOST_RACE)
    return postmortem


def _make_public(postmortem: Postmortem, actor: User) -> None:
    now = utcnow()
    republished = postmortem.published_at is not None
    postmortem.published_body = postmortem.public_body
    postmortem.published_at = postmortem.published_at or now
    postmortem.public_updated_at = now if republished else postmortem.published_at
    postmortem.published_by_id = actor.id
    postmortem.state = PostmortemState.PUBLISHED
    apply_incident_status(postmortem.incident, IncidentStatus.POSTMORTEM, now)


def _announce(postmortem: Postmortem, actor: User) -> Message:
    """A published update that points to the postmortem; the engine delivers it."""
    incident = postmortem.incident
    republished = postmortem.public_updated_at != postmortem.published_at
    text = (
        _("We have updated the postmortem of this incident.")
        if republished
        else _("We have published the postmortem of this incident.")
    )
    message = Message(
        incident=incident,
        audience=Audience.PUBLIC,
        incident_status=IncidentStatus.POSTMORTEM,
        body=f"{text} {_('Read it here:')} {incident_url(incident)}",
        author_id=postmortem.author_id,
        last_editor_id=actor.id,
        approved_by_id=postmortem.approved_by_id,
        state=MessageState.APPROVED,
    )
    db.session.add(message)
    refresh_variants(message, incident)
    db.session.flush()
    record_message_step(message, actor, ReviewAction.CREATED, _("Announces the postmortem."))
    return publish_announcement(message, actor)


@one_winner(lost_race=LOST_RACE)
def unpublish(
    actor: User, postmortem: Postmortem, *, reason: str, expected_version: int | None = None
) -> Postmortem:
    """Withdraw the public version (an incident manager or admin, with a reason): the page,
    the JSON, the feeds and the updates that announced it stop showing it, the incident goes
    back to resolved, and any approval is voided, so it is published again only after a
    new review. Emails and posts of the announcements not sent yet are cancelled; those
    already sent (or being sent) stay sent."""
    require(actor, Can.APPROVE, postmortem.incident)
    check_version(postmortem, expected_version)
    if not postmortem.is_published:
        raise Conflict(_("This postmortem is not published, so there is nothing to withdraw."))
    reason, now = _withdrawal_reason(reason), utcnow()
    withdrawn = announcements(postmortem)
    for message in withdrawn:
        message.superseded_at = now  # hidden like a replaced update
    delivery.cancel_unsent([m.id for m in withdrawn], delivery.WITHDRAWN)
    postmortem.announcement_id = None
    postmortem.published_body = postmortem.published_at = postmortem.public_updated_at = None
    postmortem.published_by_id = None
    if withdrawing_voids_approval(postmortem):
        postmortem.state = PostmortemState.DRAFT
        postmortem.approved_by_id = postmortem.approved_hash = None
    _back_to_resolved(postmortem, actor, now)
    record(postmortem, actor, UNPUBLISHED, reason)
    commit_or_conflict(LOST_RACE)
    return postmortem


def _withdrawal_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Say why the postmortem is withdrawn."), field="reason")
    if len(reason) > MAX_COMMENT:
        raise InvalidInput(
            _("Keep the reason under %(n)d characters.", n=MAX_COMMENT), field="reason"
        )
    return reason


def announcements(postmortem: Postmortem) -> list[Message]:
    """The updates on the page that say the postmortem is out (status postmortem): each
    announcement, or its latest revision, however many times it was published."""
    return list(
        db.session.scalars(
            select(Message)
            .where(
                Message.incident_id == postmortem.incident_id,
                Message.audience == Audience.PUBLIC,
                Message.state == MessageState.PUBLISHED,
                Message.incident_status == IncidentStatus.POSTMORTEM,
                Message.superseded_at.is_(None),
            )
            .order_by(Message.id)
        )
    )


def withdrawing_voids_approval(postmortem: Postmortem) -> bool:
    """Whether withdrawing sends it back to draft (an approval only covers being public)."""
    return postmortem.state in (PostmortemState.APPROVED, PostmortemState.PUBLISHED)


def _back_to_resolved(postmortem: Postmortem, actor: User, now: datetime) -> None:
    """The status postmortem says a postmortem is public; without one the incident is resolved
    again (publishing needs it resolved). An incident reopened since is left as it is."""
    incident = postmortem.incident
    if incident.status != IncidentStatus.POSTMORTEM:
        return
    apply_incident_status(incident, IncidentStatus.RESOLVED, now)
    audit.record(
        actor,
        "incident.updated",
        incident,
        incident=incident,
        before={"status": IncidentStatus.POSTMORTEM},
        after={"status": IncidentStatus.RESOLVED},
        at=now,
    )
