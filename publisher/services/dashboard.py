"""What the console dashboard shows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    Audience,
    Component,
    Incident,
    IncidentKind,
    Message,
    MessageState,
    RosterAssignment,
    User,
)
from . import roster


@dataclass
class ActiveIncident:
    incident: Incident
    last_public_update_at: datetime | None
    lines: list[roster.RosterLine]


@dataclass
class Dashboard:
    incidents: list[ActiveIncident]
    components: list[Component]
    maintenance: list[Incident]
    my_roles: list[tuple[Incident, list]]


def load(user: User) -> Dashboard:
    active = _active(IncidentKind.INCIDENT)
    last = _last_public_updates([i.id for i in active])
    return Dashboard(
        incidents=[ActiveIncident(i, last.get(i.id), roster.roster_lines(i)) for i in active],
        components=list(db.session.scalars(select(Component).order_by(Component.position))),
        maintenance=_active(IncidentKind.MAINTENANCE),
        my_roles=roster.my_roles(user),
    )


def _active(kind: IncidentKind) -> list[Incident]:
    order = Incident.scheduled_for if kind == IncidentKind.MAINTENANCE else Incident.started_at
    return list(
        db.session.scalars(
            select(Incident)
            .where(Incident.kind == kind, Incident.status.not_in(list(CLOSED_STATUSES)))
            .options(
                selectinload(Incident.components),
                selectinload(Incident.roster).selectinload(RosterAssignment.user),
            )
            .order_by(order)
        )
    )


def _last_public_updates(ids: list[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Message.incident_id, func.max(Message.published_at))
        .where(
            Message.incident_id.in_(ids),
            Message.audience == Audience.PUBLIC,
            Message.state == MessageState.PUBLISHED,
        )
        .group_by(Message.incident_id)
    ).all()
    return {incident_id: _aware(at) for incident_id, at in rows if at is not None}


def _aware(value):
    # func.max bypasses the column type on SQLite; give the result back its UTC zone.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
