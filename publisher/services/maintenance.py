"""Scheduled maintenance that starts and completes itself on time."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    MaintenanceStatus,
    User,
    utcnow,
)
from . import audit
from .components import apply_status
from .composer.publishing import write_deliveries
from .errors import InvalidInput
from .incidents import clean_name
from .permissions import Can, require
from .updates import apply_incident_status, record_published_update

log = logging.getLogger(__name__)


def run_due_transitions(now: datetime) -> list[Incident]:
    """Start maintenance whose window opened and complete what has ended; commits once."""
    changed = [m for m in _automatic_maintenance() if _transition(m, now)]
    db.session.commit()
    for item in changed:
        log.info("maintenance %s is now %s", item.public_id, item.status)
    return changed


def _automatic_maintenance() -> list[Incident]:
    query = (
        select(Incident)
        .where(
            Incident.kind == IncidentKind.MAINTENANCE,
            Incident.auto_transition.is_(True),
            Incident.status.in_(
                [
                    MaintenanceStatus.SCHEDULED,
                    MaintenanceStatus.IN_PROGRESS,
                    MaintenanceStatus.VERIFYING,
                ]
            ),
        )
        .options(selectinload(Incident.components))
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


# Each transition publishes an update that goes out as one a person published would (to the
# outlets and the subscribers of its components) once run_due_transitions commits.
def _transition(item: Incident, now: datetime) -> bool:
    if item.scheduled_until is not None and now >= item.scheduled_until:
        _complete(item, now)
        return True
    if item.status == MaintenanceStatus.SCHEDULED and item.scheduled_for <= now:
        _start(item, now)
        return True
    return False


def _start(item: Incident, now: datetime) -> None:
    statuses = {c: ComponentStatus.UNDER_MAINTENANCE for c in item.components}
    body = _("Scheduled maintenance is now in progress. We will provide updates as necessary.")
    message = record_published_update(item, MaintenanceStatus.IN_PROGRESS, body, now, statuses)
    write_deliveries(message)


def _complete(item: Incident, now: datetime) -> None:
    # Only components still in maintenance go back; a real outage meanwhile stays visible.
    statuses = {
        c: ComponentStatus.OPERATIONAL
        for c in item.components
        if c.status == ComponentStatus.UNDER_MAINTENANCE
    }
    body = _("The scheduled maintenance has been completed.")
    message = record_published_update(item, MaintenanceStatus.COMPLETED, body, now, statuses)
    write_deliveries(message)


def schedule_maintenance(
    actor: User,
    name: str,
    components: list[Component],
    scheduled_for: datetime,
    scheduled_until: datetime,
    auto_transition: bool = True,
) -> Incident:
    """Announce a maintenance window; with auto_transition it runs itself on time."""
    require(actor, Can.MANAGE_MAINTENANCE)
    _check_window(scheduled_for, scheduled_until)
    item = Incident(
        kind=IncidentKind.MAINTENANCE,
        name=clean_name(name),
        impact=Impact.MAINTENANCE,
        status=MaintenanceStatus.SCHEDULED,
        started_at=scheduled_for,
        created_at=utcnow(),
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_transition=auto_transition,
        components=list(components),
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        actor,
        "maintenance.scheduled",
        item,
        incident=item,
        after=audit.fields(item, "name", "scheduled_for", "scheduled_until"),
    )
    db.session.commit()
    return item


def set_maintenance_status(actor: User, item: Incident, status: str) -> Incident:
    """Move a maintenance by hand (start early, verify, complete)."""
    require(actor, Can.MANAGE_MAINTENANCE, item)
    if item.kind != IncidentKind.MAINTENANCE:
        raise InvalidInput(_("That is an incident, not a maintenance."))
    new = _parse_maintenance_status(status)
    before, now = item.status, utcnow()
    moves = _component_moves(item, new)
    apply_incident_status(item, new, now)
    for component, target in moves.items():
        apply_status(component, target, now, item)
    audit.record(
        actor,
        "maintenance.status_changed",
        item,
        incident=item,
        before={"status": before},
        after={"status": new},
    )
    db.session.commit()
    return item


def _component_moves(item: Incident, new: MaintenanceStatus) -> dict:
    if new == MaintenanceStatus.IN_PROGRESS:
        return {c: ComponentStatus.UNDER_MAINTENANCE for c in item.components}
    if new == MaintenanceStatus.COMPLETED:
        return {
            c: ComponentStatus.OPERATIONAL
            for c in item.components
            if c.status == ComponentStatus.UNDER_MAINTENANCE
        }
    return {}


def _parse_maintenance_status(raw: str) -> MaintenanceStatus:
    if raw not in {s.value for s in MaintenanceStatus}:
        allowed = ", ".join(s.value for s in MaintenanceStatus)
        raise InvalidInput(
            _("status must be one of: %(allowed)s.", allowed=allowed), field="status"
        )
    return MaintenanceStatus(raw)


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput(_("Give times with a time zone."), field="scheduled_for")
    if end <= start:
        raise InvalidInput(_("The window must end after it starts."), field="scheduled_until")
