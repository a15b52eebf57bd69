"""The postmortem document: find it, start it prefilled from the incident, edit it."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    FollowUpAction,
    Incident,
    Postmortem,
    PostmortemReviewEvent,
    PostmortemState,
    ReviewAction,
    User,
)
from ..composer.common import (
    add_review_step,
    commit_or_conflict,
    one_winner,
    review_state_label,
)
from ..errors import Conflict, InvalidInput, NotFound
from ..permissions import Can, require
from .content import clean_body, content_hash
from .prefill import internal_draft, public_draft

LOST_RACE = _l(
    "Someone else acted on this postmortem at the same moment, and their action went first. "
    "Reload it to see where it stands."
)


def find_postmortem(incident: Incident) -> Postmortem | None:
    return db.session.scalar(
        select(Postmortem)
        .where(Postmortem.incident_id == incident.id)
        .options(
            selectinload(Postmortem.review_events).joinedload(PostmortemReviewEvent.actor),
            selectinload(Postmortem.actions).joinedload(FollowUpAction.owner),
        )
    )


def get_postmortem(incident: Incident) -> Postmortem:
    postmortem = find_postmortem(incident)
    if postmortem is None:
        raise NotFound(_("This incident has no postmortem yet."))
    return postmortem


def start_postmortem(actor: User, incident: Incident) -> Postmortem:
    """Create the incident's postmortem, prefilled from its history (one per incident)."""
    require(actor, Can.WRITE_POSTMORTEM, incident)
    if incident.is_maintenance:
        raise InvalidInput(_("Postmortems are written about incidents, not maintenance."))
    if find_postmortem(incident) is not None:
        raise Conflict(_("This incident already has a postmortem."))
    postmortem = Postmortem(
        incident=incident,
        internal_body=clean_body(internal_draft(incident), "internal_body"),
        public_body=public_draft(incident),
        author_id=actor.id,
        last_editor_id=actor.id,
        state=PostmortemState.DRAFT,
    )
    db.session.add(postmortem)
    db.session.flush()
    record(postmortem, actor, ReviewAction.CREATED)
    commit_or_conflict(LOST_RACE)
    return postmortem


@one_winner(lost_race=LOST_RACE)
def edit_postmortem(
    actor: User,
    postmortem: Postmortem,
    *,
    internal_body: str | None = None,
    public_body: str | None = None,
    expected_version: int | None = None,
) -> Postmortem:
    """Change either version; any change voids an approval (back to draft). What visitors
    read stays as published until the new text is approved and published."""
    require(actor, Can.WRITE_POSTMORTEM, postmortem.incident)
    check_version(postmortem, expected_version)
    if internal_body is not None:
        postmortem.internal_body = clean_body(internal_body, "internal_body")
    if public_body is not None:
        postmortem.public_body = clean_body(public_body, "public_body")
    if not db.session.is_modified(postmortem):
        return postmortem
    postmortem.state = PostmortemState.DRAFT
    postmortem.approved_hash = postmortem.approved_by_id = None
    postmortem.last_editor_id = actor.id
    record(postmortem, actor, ReviewAction.EDITED)
    commit_or_conflict(LOST_RACE)
    return postmortem


def check_version(postmortem: Postmortem, expected_version: int | None) -> None:
    """Refuse an action taken on a stale view of the postmortem."""
    if expected_version is not None and expected_version != postmortem.version:
        raise Conflict(
            _("Someone else changed this postmortem since you opened it. Reload it and try again.")
        )


def check_state(postmortem: Postmortem, allowed, doing: str) -> None:
    if postmortem.state not in allowed:
        raise Conflict(
            _(
                "This postmortem is %(state)s, so it cannot be %(doing)s.",
                state=review_state_label(postmortem.state).lower(),
                doing=doing,
            )
        )


def record(
    postmortem: Postmortem,
    actor: User | None,
    action: ReviewAction | str,
    comment: str | None = None,
) -> None:
    """Add a step to the review trail and the incident's audit timeline."""
    digest = content_hash(postmortem)
    add_review_step(postmortem, PostmortemReviewEvent(), digest, actor, action, comment)
