"""Publishing an update: the message goes public and the incident and components follow it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..extensions import db
from ..models import (
    Audience,
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
    Message,
    MessageComponentChange,
    MessageState,
)
from .components import apply_status


def record_published_update(
    incident: Incident,
    status: str,
    body: str,
    at: datetime,
    component_statuses: Mapping[Component, ComponentStatus] | None = None,
    audience: Audience = Audience.PUBLIC,
) -> Message:
    """Add a published message and apply what it announces (no commit)."""
    message = Message(
        incident=incident,
        audience=audience,
        state=MessageState.PUBLISHED,
        incident_status=status,
        body=body,
        published_at=at,
        created_at=at,
        updated_at=at,
    )
    db.session.add(message)
    db.session.flush()
    for component, new_status in (component_statuses or {}).items():
        message.component_changes.append(
            MessageComponentChange(
                component_id=component.id, old_status=component.status, new_status=new_status
            )
        )
        apply_status(component, new_status, at, incident)
    apply_incident_status(incident, status, at)
    return message


def apply_incident_status(incident: Incident, status: str, at: datetime) -> None:
    """Move an incident or maintenance to a status, stamping the matching time."""
    incident.status = status
    incident.updated_at = at
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = at
    if status in (IncidentStatus.RESOLVED, MaintenanceStatus.COMPLETED):
        incident.resolved_at = incident.resolved_at or at
    else:  # open (again): resolved_at is the time of the resolution that still stands
        incident.resolved_at = None
    if status == MaintenanceStatus.IN_PROGRESS:
        incident.started_at = at
