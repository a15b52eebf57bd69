"""Follow-up actions: what must change, who owns it, by when; listed until done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import (
    OPEN_ACTION_STATUSES,
    ActionPriority,
    ActionStatus,
    FollowUpAction,
    Incident,
    Postmortem,
    User,
    utcnow,
)
from .. import audit
from ..composer.common import commit_or_conflict, one_winner
from ..errors import Conflict, InvalidInput, NotFound
from ..permissions import Can, Forbidden, allowed, require

MAX_TITLE = 300
MAX_REASON = 2000
MAX_URL = 2048
LATEST_DUE = timedelta(days=5 * 366)
PRIORITY_ORDER = case(
    {ActionPriority.HIGH.value: 0, ActionPriority.MEDIUM.value: 1, ActionPriority.LOW.value: 2},
    value=FollowUpAction.priority,
    else_=3,
)
LOST_RACE = _l(
    "Someone else changed this action at the same moment, and their change went first. "
    "Reload it to see where it stands."
)
# Marks what no argument was given for (None clears the tracker link).
UNCHANGED = object()


@dataclass(frozen=True)
class ActionRow:
    """An action with its incident, for lists across incidents."""

    action: FollowUpAction
    incident: Incident
    overdue: bool


def today() -> date:
    """Today in the page's time zone (due dates are days there)."""
    return utcnow().astimezone(ZoneInfo(current_app.config["PAGE_TIME_ZONE"])).date()


def get_action(action_id: int) -> FollowUpAction:
    action = db.session.scalar(
        select(FollowUpAction)
        .where(FollowUpAction.id == action_id)
        .options(joinedload(FollowUpAction.postmortem).joinedload(Postmortem.incident))
    )
    if action is None:
        raise NotFound(_("There is no follow-up action with that id."))
    return action


def add_action(
    actor: User,
    postmortem: Postmortem,
    *,
    title: str,
    owner: User | None,
    due_on: date | None,
    priority: str = ActionPriority.MEDIUM,
    tracker_url: str | None = None,
) -> FollowUpAction:
    require(actor, Can.WRITE_POSTMORTEM, postmortem.incident)
    action = FollowUpAction(
        title=clean_title(title),
        owner=check_owner(owner),
        due_on=check_due(due_on),
        priority=parse_priority(priority),
        tracker_url=clean_url(tracker_url),
        status=ActionStatus.OPEN,
        created_by_id=actor.id,
    )
    postmortem.actions.append(action)
    db.session.flush()
    _audit(actor, action, "postmortem.action_added", after=_snapshot(action))
    db.session.commit()
    return action


@one_winner(lost_race=LOST_RACE)
def edit_action(
    actor: User,
    action: FollowUpAction,
    *,
    title: str | None = None,
    owner: User | None = None,
    due_on: date | None = None,
    priority: str | None = None,
    tracker_url=UNCHANGED,
    expected_version: int | None = None,
) -> FollowUpAction:
    """Change what the action is, who owns it or by when (a new due date is reminded again)."""
    require(actor, Can.WRITE_POSTMORTEM, action.postmortem.incident)
    _check_version(action, expected_version)
    before = _snapshot(action)
    if title is not None:
        action.title = clean_title(title)
    if owner is not None:
        action.owner = check_owner(owner)
    if due_on is not None and due_on != action.due_on:
        action.due_on = check_due(due_on)
    if priority is not None:
        action.priority = parse_priority(priority)
    if tracker_url is not UNCHANGED:
        action.tracker_url = clean_url(tracker_url)
    if db.session.is_modified(action):
        _audit(actor, action, "postmortem.action_changed", before, _snapshot(action))
        commit_or_conflict(LOST_RACE)
    return action


@one_winner(lost_race=LOST_RACE)
def set_status(
    actor: User,
    action: FollowUpAction,
    status: str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> FollowUpAction:
    """Move an action along; its owner may, as may whoever writes the postmortem. Won't do
    needs a reason."""
    _require_owner_or_writer(actor, action)
    _check_version(action, expected_version)
    status = parse_status(status)
    reason = " ".join((reason or "").split()) or None
    if status == ActionStatus.WONT_DO and not reason:
        raise InvalidInput(_("Say why this will not be done."), field="reason")
    if reason and len(reason) > MAX_REASON:
        raise InvalidInput(
            _("Keep the reason under %(n)d characters.", n=MAX_REASON), field="reason"
        )
    before = _snapshot(action)
    action.status = status
    action.status_reason = reason if status == ActionStatus.WONT_DO else None
    closed = status not in OPEN_ACTION_STATUSES
    action.closed_at = (action.closed_at or utcnow()) if closed else None
    if db.session.is_modified(action):
        _audit(actor, action, "postmortem.action_status", before, _snapshot(action))
        commit_or_conflict(LOST_RACE)
    return action


def open_actions(owner: User | None = None, limit: int = 500) -> list[ActionRow]:
    """Open and in-progress actions across incidents: overdue first, then by due date and
    priority; only `owner`'s when given."""
    query = (
        select(FollowUpAction)
        .where(FollowUpAction.status.in_(list(OPEN_ACTION_STATUSES)))
        .options(
            joinedload(FollowUpAction.owner),
            joinedload(FollowUpAction.postmortem).joinedload(Postmortem.incident),
        )
        .order_by(FollowUpAction.due_on, PRIORITY_ORDER, FollowUpAction.id)
        .limit(limit)
    )
    if owner is not None:
        query = query.where(FollowUpAction.owner_id == owner.id)
    day = today()
    return [ActionRow(a, a.postmortem.incident, a.due_on < day) for a in db.session.scalars(query)]


def open_count(incident: Incident) -> int | None:
    """How many of the incident's follow-up actions are still open (None: no postmortem)."""
    postmortem_id = db.session.scalar(
        select(Postmortem.id).where(Postmortem.incident_id == incident.id)
    )
    if postmortem_id is None:
        return None
    return db.session.scalar(
        select(func.count(FollowUpAction.id)).where(
            FollowUpAction.postmortem_id == postmortem_id,
            FollowUpAction.status.in_(list(OPEN_ACTION_STATUSES)),
        )
    )


def may_change_status(actor: User, action: FollowUpAction) -> bool:
    return action.owner_id == actor.id or allowed(
        actor, Can.WRITE_POSTMORTEM, action.postmortem.incident
    )


# ---------------------------------------------------------------- input


def clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(_("Give a title of 1 to %(n)d characters.", n=MAX_TITLE), field="title")
    return title


def check_owner(owner: User | None) -> User:
    if owner is None or not owner.is_enabled:
        raise InvalidInput(_("Choose an enabled staff account as the owner."), field="owner")
    return owner


def check_due(due_on: date | None) -> date:
    if not isinstance(due_on, date) or isinstance(due_on, datetime):
        raise InvalidInput(_("Give a due date."), field="due_on")
    first = today()
    if due_on < first or due_on > first + LATEST_DUE:
        raise InvalidInput(
            _("Choose a due date from today to five years from now."), field="due_on"
        )
    return due_on


def parse_priority(raw: str | None) -> ActionPriority:
    if raw not in {p.value for p in ActionPriority}:
        raise InvalidInput(_("priority must be high, medium or low."), field="priority")
    return ActionPriority(raw)


def parse_status(raw: str | None) -> ActionStatus:
    if raw not in {s.value for s in ActionStatus}:
        raise InvalidInput(_("status must be open, in_progress, done or wont_do."), field="status")
    return ActionStatus(raw)


def clean_url(url: str | None) -> str | None:
    """A link to an external tracker: http or https only, never followed by Herald."""
    url = (url or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    plain = all(c.isprintable() and not c.isspace() for c in url)
    if (
        not port_ok
        or not plain
        or len(url) > MAX_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
    ):
        raise InvalidInput(
            _("Give the tracker link as an http:// or https:// address."), field="tracker_url"
        )
    return url


# ---------------------------------------------------------------- helpers


def _require_owner_or_writer(actor: User, action: FollowUpAction) -> None:
    if not actor.is_enabled or not may_change_status(actor, action):
        raise Forbidden(_("Only the action's owner or the postmortem's writers may do that."))


def _check_version(action: FollowUpAction, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != action.version:
        raise Conflict(
            _("Someone else changed this action since you opened it. Reload it and try again.")
        )


def _snapshot(action: FollowUpAction) -> dict:
    return {
        **audit.fields(action, "title", "priority", "status", "tracker_url"),
        "due_on": action.due_on.isoformat() if action.due_on else None,
        "owner": action.owner.email if action.owner else None,
        "reason": action.status_reason,
    }


def _audit(actor: User, action: FollowUpAction, name: str, before=None, after=None) -> None:
    audit.record(
        actor, name, action, incident=action.postmortem.incident, before=before, after=after
    )
