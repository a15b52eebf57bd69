"""Scheduled maintenance that starts and completes itself on time."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import ComponentStatus, Incident, IncidentKind, MaintenanceStatus
from .updates import record_published_update

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
                [MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS,
                 MaintenanceStatus.VERIFYING]
            ),
        )
        .options(selectinload(Incident.components))
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


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
    record_published_update(item, MaintenanceStatus.IN_PROGRESS, body, now, statuses)


def _complete(item: Incident, now: datetime) -> None:
    # Only components still in maintenance go back; a real outage meanwhile stays visible.
    statuses = {
        c: ComponentStatus.OPERATIONAL
        for c in item.components
        if c.status == ComponentStatus.UNDER_MAINTENANCE
    }
    body = _("The scheduled maintenance has been completed.")
    record_published_update(item, MaintenanceStatus.COMPLETED, body, now, statuses)
