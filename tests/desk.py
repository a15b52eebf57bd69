"""An update through the two-person review, as the composer's tests walk it: drafted (or
revised) by comms, approved by someone else, published."""

from __future__ import annotations

from publisher.models import Incident, Message, User
from publisher.services import composer


def through_review(comms: User, approver: User, message: Message) -> Message:
    """Submit a draft, have `approver` approve this exact text, and publish it."""
    composer.submit(comms, message)
    composer.approve(approver, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)


def publish_update(
    comms: User, approver: User, incident: Incident, body: str, status: str = "identified", **draft
) -> Message:
    """A new update of `incident`, published (`draft`: create_draft's other fields)."""
    message = composer.create_draft(comms, incident, incident_status=status, body=body, **draft)
    return through_review(comms, approver, message)


def publish_revision(comms: User, approver: User, original: Message, **changes) -> Message:
    """A revision of a published update with `changes` (edit_message's fields), published."""
    revision = composer.start_revision(comms, original)
    composer.edit_message(comms, revision, **changes)
    return through_review(comms, approver, revision)
