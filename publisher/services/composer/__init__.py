"""The composer: write an update once, see it per outlet, review, approve, publish."""

from .common import get_message
from .content import PLACEHOLDERS, content_hash, fill_template
from .drafting import create_draft, edit_message, start_revision
from .publishing import emergency_publish, publish, publish_due, schedule
from .review import add_comment, approve, request_changes, submit

__all__ = [
    "PLACEHOLDERS",
    "add_comment",
    "approve",
    "content_hash",
    "create_draft",
    "edit_message",
    "emergency_publish",
    "fill_template",
    "get_message",
    "publish",
    "publish_due",
    "request_changes",
    "schedule",
    "start_revision",
    "submit",
]
