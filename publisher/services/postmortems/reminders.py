"""Reminding owners by email when a follow-up action falls due: once per action per due date.

Each reminder is claimed in the database (the due date it is for) before it is sent, so
two workers never mail the same one; a send that surely failed gives the claim back so the
next run tries again, and one that may have gone out keeps it (never mail twice).
"""

from __future__ import annotations

import logging
from datetime import date

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from ...channels import ChannelError, TransientChannelError
from ...channels.email import compose
from ...channels.smtp import SmtpTransport
from ...extensions import db
from ...models import OPEN_ACTION_STATUSES, FollowUpAction, Postmortem, User
from ..channel_config import smtp_transport
from .actions import get_action, today

log = logging.getLogger(__name__)


def due_action_ids(day: date) -> list[int]:
    """Open actions due on or before `day` whose owner has not been told about this due date."""
    return list(
        db.session.scalars(
            select(FollowUpAction.id)
            .join(User, User.id == FollowUpAction.owner_id)
            .where(
                FollowUpAction.status.in_(list(OPEN_ACTION_STATUSES)),
                FollowUpAction.due_on <= day,
                or_(
                    FollowUpAction.reminded_for.is_(None),
                    FollowUpAction.reminded_for != FollowUpAction.due_on,
                ),
                User.is_enabled.is_(True),
            )
            .order_by(FollowUpAction.due_on, FollowUpAction.id)
        )
    )


def send_due_reminders() -> int:
    """Mail every owner whose action is due (the periodic job); returns how many were sent."""
    ids = due_action_ids(today())
    if not ids:
        return 0
    transport = smtp_transport()
    try:
        return sum(1 for action_id in ids if _remind(action_id, transport))
    finally:
        transport.close()


def _remind(action_id: int, transport: SmtpTransport) -> bool:
    due = _claim(action_id)
    if due is None:
        return False  # another worker has it, or it changed meanwhile
    action = get_action(action_id)
    try:
        with force_locale(action.owner.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = reminder_message(action)  # in the owner's console language
        transport.send(message, [action.owner.email])
    except TransientChannelError as error:
        log.info("reminder for action %s not sent, will try again: %s", action_id, error)
        _release(action_id, due)
        return False
    except ChannelError as error:  # refused for good, or maybe sent: never mail twice
        log.warning("reminder for action %s not sent: %s", action_id, error)
        return False
    return True


def _claim(action_id: int) -> date | None:
    """Record the reminder as sent for the current due date; None if someone else did."""
    due = db.session.scalar(select(FollowUpAction.due_on).where(FollowUpAction.id == action_id))
    claimed = db.session.execute(
        update(FollowUpAction)
        .where(
            FollowUpAction.id == action_id,
            FollowUpAction.due_on == due,
            or_(FollowUpAction.reminded_for.is_(None), FollowUpAction.reminded_for != due),
        )
        .values(reminded_for=due)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return due if claimed == 1 else None


def _release(action_id: int, due: date) -> None:
    db.session.execute(
        update(FollowUpAction)
        .where(FollowUpAction.id == action_id, FollowUpAction.reminded_for == due)
        .values(reminded_for=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def reminder_message(action: FollowUpAction):
    config = current_app.config
    postmortem: Postmortem = action.postmortem
    context = {
        "page_name": config["PAGE_NAME"],
        "action": action,
        "incident": postmortem.incident,
        "overdue": action.due_on < today(),
        "actions_url": f"{config['BASE_URL']}/console/actions?owner=me",
        "postmortem_url": (
            f"{config['BASE_URL']}/console/incidents/{postmortem.incident.public_id}/postmortem"
        ),
        "subject": _("Follow-up action due: %(title)s", title=action.title),
    }
    return compose(
        subject=context["subject"],
        text=render_template("email/action_reminder.txt", **context),
        html=render_template("email/action_reminder.html", **context),
        sender=config["SMTP"]["sender"],
        sender_name=config["PAGE_NAME"],
        to=action.owner.email,
    )
