"""Periodic reminders to the owners of follow-up actions that fall due."""

from huey import crontab

from ..services import postmortems
from .queue import huey, with_app_context


@huey.periodic_task(crontab(minute="*/15"))
@with_app_context
def remind_action_owners() -> None:
    """Email each owner once per action per due date (the claim is recorded first)."""
    postmortems.send_due_reminders()
