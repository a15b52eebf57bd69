"""The post-incident review: the postmortem document and its follow-up actions."""

from .actions import (
    add_action,
    edit_action,
    get_action,
    may_change_status,
    open_actions,
    open_count,
    set_status,
)
from .content import content_hash
from .documents import edit_postmortem, find_postmortem, get_postmortem, start_postmortem
from .export import export_markdown
from .publishing import (
    UNPUBLISHED,
    announcements,
    publish,
    unpublish,
    withdrawing_voids_approval,
)
from .reminders import send_due_reminders
from .review import add_comment, approve, request_changes, submit

__all__ = [
    "UNPUBLISHED",
    "add_action",
    "add_comment",
    "announcements",
    "approve",
    "content_hash",
    "edit_action",
    "edit_postmortem",
    "export_markdown",
    "find_postmortem",
    "get_action",
    "get_postmortem",
    "may_change_status",
    "open_actions",
    "open_count",
    "publish",
    "request_changes",
    "send_due_reminders",
    "set_status",
    "start_postmortem",
    "submit",
    "unpublish",
    "withdrawing_voids_approval",
]
