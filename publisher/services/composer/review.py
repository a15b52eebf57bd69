"""Review: submit, approve (never your own, bound to the exact content), request changes."""

from __future__ import annotations

from flask_babel import gettext as _

from ...models import Message, MessageState, ReviewAction, User
from ..errors import InvalidInput
from ..permissions import Can, require
from .common import (
    check_reviewer,
    check_state,
    check_version,
    commit_or_conflict,
    one_winner,
    record,
)
from .content import content_hash

MAX_COMMENT = 5000


@one_winner
def submit(
    actor: User,
    message: Message,
    *,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Message:
    require(actor, Can.DRAFT, message.incident)
    check_version(message, expected_version)
    check_state(message, (MessageState.DRAFT, MessageState.CHANGES_REQUESTED), _("submitted"))
    if not message.body.strip():
        raise InvalidInput(_("Write the update before submitting it."), field="body")
    message.state = MessageState.IN_REVIEW
    record(message, actor, ReviewAction.SUBMITTED, _comment(comment))
    commit_or_conflict()
    return message


@one_winner
def approve(
    actor: User, message: Message, *, expected_hash: str, comment: str | None = None
) -> Message:
    """Approve exactly the content the reviewer saw (its hash); never one's own update."""
    require(actor, Can.APPROVE, message.incident)
    check_state(message, (MessageState.IN_REVIEW,), _("approved"))
    digest = content_hash(message)
    check_reviewer(
        actor,
        message,
        digest,
        expected_hash,
        own=_("You wrote or last changed this update, so someone else must approve it."),
        changed=_("The update changed since you read it. Read it again before approving."),
    )
    message.state = MessageState.APPROVED
    message.approved_by_id, message.approved_hash = actor.id, digest
    record(message, actor, ReviewAction.APPROVED, _comment(comment))
    commit_or_conflict()
    return message


@one_winner
def request_changes(
    actor: User, message: Message, *, comment: str, expected_version: int | None = None
) -> Message:
    require(actor, Can.APPROVE, message.incident)
    check_version(message, expected_version)
    check_state(message, (MessageState.IN_REVIEW, MessageState.APPROVED), _("sent back"))
    comment = _comment(comment)
    if not comment:
        raise InvalidInput(_("Say what should change."), field="comment")
    message.state = MessageState.CHANGES_REQUESTED
    message.approved_by_id = message.approved_hash = None
    record(message, actor, ReviewAction.CHANGES_REQUESTED, comment)
    commit_or_conflict()
    return message


@one_winner
def add_comment(actor: User, message: Message, comment: str) -> Message:
    require(actor, Can.COMMENT, message.incident)
    comment = _comment(comment)
    if not comment:
        raise InvalidInput(_("Write a comment."), field="comment")
    record(message, actor, ReviewAction.COMMENTED, comment)
    commit_or_conflict()
    return message


def _comment(comment: str | None) -> str | None:
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise InvalidInput(
            _("Keep the comment under %(n)d characters.", n=MAX_COMMENT), field="comment"
        )
    return comment
