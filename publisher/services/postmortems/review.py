"""Review of a postmortem, by the rules of an update: submit, approve (never one's own,
bound to the exact content), request changes, comment."""

from __future__ import annotations

from flask_babel import gettext as _

from ...models import Postmortem, PostmortemState, ReviewAction, User
from ..composer.common import check_reviewer, commit_or_conflict, one_winner
from ..errors import InvalidInput
from ..permissions import Can, Forbidden, allowed, require
from .content import content_hash
from .documents import LOST_RACE, check_state, check_version, record

MAX_COMMENT = 5000


@one_winner(lost_race=LOST_RACE)
def submit(
    actor: User,
    postmortem: Postmortem,
    *,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Postmortem:
    require(actor, Can.WRITE_POSTMORTEM, postmortem.incident)
    check_version(postmortem, expected_version)
    check_state(
        postmortem, (PostmortemState.DRAFT, PostmortemState.CHANGES_REQUESTED), _("submitted")
    )
    if not postmortem.internal_body.strip():
        raise InvalidInput(_("Write the postmortem before submitting it."), field="internal_body")
    postmortem.state = PostmortemState.IN_REVIEW
    record(postmortem, actor, ReviewAction.SUBMITTED, _comment(comment))
    commit_or_conflict(LOST_RACE)
    return postmortem


@one_winner(lost_race=LOST_RACE)
def approve(
    actor: User, postmortem: Postmortem, *, expected_hash: str, comment: str | None = None
) -> Postmortem:
    """Approve exactly the content the reviewer saw (its hash); never one's own."""
    require(actor, Can.APPROVE, postmortem.incident)
    check_state(postmortem, (PostmortemState.IN_REVIEW,), _("approved"))
    digest = content_hash(postmortem)
    check_reviewer(
        actor,
        postmortem,
        digest,
        expected_hash,
        own=_("You wrote or last changed this postmortem, so someone else must approve it."),
        changed=_("The postmortem changed since you read it. Read it again before approving."),
    )
    postmortem.state = PostmortemState.APPROVED
    postmortem.approved_by_id, postmortem.approved_hash = actor.id, digest
    record(postmortem, actor, ReviewAction.APPROVED, _comment(comment))
    commit_or_conflict(LOST_RACE)
    return postmortem


@one_winner(lost_race=LOST_RACE)
def request_changes(
    actor: User, postmortem: Postmortem, *, comment: str, expected_version: int | None = None
) -> Postmortem:
    require(actor, Can.APPROVE, postmortem.incident)
    check_version(postmortem, expected_version)
    check_state(postmortem, (PostmortemState.IN_REVIEW, PostmortemState.APPROVED), _("sent back"))
    comment = _comment(comment)
    if not comment:
        raise InvalidInput(_("Say what should change."), field="comment")
    postmortem.state = PostmortemState.CHANGES_REQUESTED
    postmortem.approved_by_id = postmortem.approved_hash = None
    record(postmortem, actor, ReviewAction.CHANGES_REQUESTED, comment)
    commit_or_conflict(LOST_RACE)
    return postmortem


@one_winner(lost_race=LOST_RACE)
def add_comment(actor: User, postmortem: Postmortem, comment: str) -> Postmortem:
    incident = postmortem.incident
    if not (
        allowed(actor, Can.WRITE_POSTMORTEM, incident) or allowed(actor, Can.APPROVE, incident)
    ):
        raise Forbidden(_("Your role does not allow that."))
    comment = _comment(comment)
    if not comment:
        raise InvalidInput(_("Write a comment."), field="comment")
    record(postmortem, actor, ReviewAction.COMMENTED, comment)
    commit_or_conflict(LOST_RACE)
    return postmortem


def _comment(comment: str | None) -> str | None:
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise InvalidInput(
            _("Keep the comment under %(n)d characters.", n=MAX_COMMENT), field="comment"
        )
    return comment
