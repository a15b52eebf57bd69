"""Component status changes, each one kept for the uptime history."""

from __future__ import annotations

from datetime import datetime

from ..extensions import db
from ..models import Component, ComponentStatus, ComponentStatusChange, Incident


def apply_status(
    component: Component,
    status: ComponentStatus,
    at: datetime,
    incident: Incident | None = None,
) -> ComponentStatusChange | None:
    """Set a component's status and record the change (no commit; part of a caller's unit)."""
    status = ComponentStatus(status)
    if component.status == status:
        return None
    change = ComponentStatusChange(
        component_id=component.id,
        from_status=component.status,
        to_status=status,
        changed_at=at,
        incident_id=incident.id if incident else None,
    )
    component.status = status
    component.updated_at = at
    db.session.add(change)
    return change
