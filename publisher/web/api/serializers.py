"""JSON shapes of the /api/v1 resources (described for clients in openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from ...models import Component, Incident, RosterAssignment, TimelineEntry
from ...services.roster import RosterLine, roster_lines
from ...services.timeline import TimelineItem


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": str(incident.status),
        "impact": str(incident.impact),
        "kind": str(incident.kind),
        "started_at": iso(incident.started_at),
        "resolved_at": iso(incident.resolved_at),
        "components": [affected_json(c) for c in incident.components],
        "roster": [roster_line_json(line) for line in roster_lines(incident)],
        "url": public_url(incident),
    }


def maintenance_json(item: Incident) -> dict[str, Any]:
    return incident_json(item) | {
        "scheduled_for": iso(item.scheduled_for),
        "scheduled_until": iso(item.scheduled_until),
        "auto_transition": item.auto_transition,
    }


def affected_json(component: Component) -> dict[str, Any]:
    return {"id": component.public_id, "name": component.name, "status": str(component.status)}


def component_json(component: Component) -> dict[str, Any]:
    return affected_json(component) | {
        "description": component.description,
        "position": component.position,
        "updated_at": iso(component.updated_at),
    }


def roster_line_json(line: RosterLine) -> dict[str, Any]:
    return {
        "role": str(line.role),
        "label": line.label,
        "holders": [assignment_json(a) for a in line.holders],
        "held_by_incident_manager": line.held_by_incident_manager,
    }


def assignment_json(assignment: RosterAssignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "role": str(assignment.role),
        "label": assignment.label,
        "user_email": assignment.user.email,
        "user_name": assignment.user.name,
        "assigned_at": iso(assignment.assigned_at),
    }


def timeline_json(item: TimelineItem) -> dict[str, Any]:
    return item.as_json()


def entry_json(entry: TimelineEntry) -> dict[str, Any]:
    """A new scribe entry, in the same shape as the timeline's items."""
    author = entry.author.name if entry.author else None
    item = TimelineItem(at=entry.at, actor=author, kind=str(entry.kind), text=entry.body)
    return timeline_json(item)


def public_url(incident: Incident) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/incidents/{incident.public_id}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
