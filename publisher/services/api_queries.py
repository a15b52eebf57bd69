"""Read-only queries the automation API needs that no other service offers. Never commits."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CLOSED_STATUSES, Component, Incident, IncidentKind, RosterAssignment
from .errors import NotFound
from .incidents import get_incident


def incidents(active_only: bool, limit: int) -> list[Incident]:
    """Incidents (not maintenance), newest first, with components and roster loaded."""
    query = _with_details(select(Incident).where(Incident.kind == IncidentKind.INCIDENT))
    if active_only:
        query = query.where(Incident.status.not_in(list(CLOSED_STATUSES)))
    query = query.order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def open_maintenance() -> list[Incident]:
    """Maintenance not yet completed, soonest first."""
    query = _with_details(
        select(Incident).where(
            Incident.kind == IncidentKind.MAINTENANCE,
            Incident.status.not_in(list(CLOSED_STATUSES)),
        )
    )
    return list(db.session.scalars(query.order_by(Incident.scheduled_for, Incident.id)))


def get_maintenance(public_id: str) -> Incident:
    item = get_incident(public_id)
    if item.kind != IncidentKind.MAINTENANCE:
        raise NotFound(_("There is no maintenance with that id."))
    return item


def components_by_public_id(public_ids: Iterable[str]) -> dict[str, Component]:
    """The components among these ids, in one query; unknown ids are simply absent."""
    wanted = set(public_ids)
    if not wanted:
        return {}
    rows = db.session.scalars(select(Component).where(Component.public_id.in_(wanted)))
    return {c.public_id: c for c in rows}


def _with_details(query):
    return query.options(
        selectinload(Incident.components),
        selectinload(Incident.roster).selectinload(RosterAssignment.user),
    )
