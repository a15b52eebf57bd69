"""Running an incident: declare, change status and impact, resolve; component statuses."""

from __future__ import annotations

from collections.abc import Mapping
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
    IncidentStatus,
    RosterAssignment,
    RosterRole,
    User,
    utcnow,
)
from . import audit
from .components import apply_status
from .errors import Conflict, InvalidInput, NotFound
from .permissions import Can, require
from .updates import apply_incident_status

INCIDENT_FIELDS = ("name", "status", "impact")
MAX_NAME = 300


def get_incident(public_id: str) -> Incident:
    incident = db.session.scalar(
        select(Incident)
        .where(Incident.public_id == public_id)
        .options(selectinload(Incident.components), selectinload(Incident.roster))
    )
    if incident is None:
        raise NotFound(_("There is no incident with that id."))
    return incident


def get_component(public_id: str) -> Component:
    component = db.session.scalar(select(Component).where(Component.public_id == public_id))
    if component is None:
        raise NotFound(_("There is no component with that id."))
    return component


def declare_incident(
    actor: User,
    name: str,
    impact: str,
    component_statuses: Mapping[Component, str],
    incident_manager: User | None = None,
) -> Incident:
    """Open an incident, move its components, and put an incident manager on the roster."""
    require(actor, Can.MANAGE_INCIDENTS)
    if incident_manager is not None and not incident_manager.is_enabled:
        raise InvalidInput(_("That account is disabled."), field="incident_manager")
    statuses = {c: parse_component_status(s) for c, s in component_statuses.items()}
    now = utcnow()
    incident = Incident(
        name=clean_name(name),
        impact=parse_impact(impact),
        status=IncidentStatus.INVESTIGATING,
        started_at=now,
        created_at=now,
        components=list(component_statuses),
    )
    db.session.add(incident)
    db.session.flush()
    manager = incident_manager or actor
    db.session.add(
        RosterAssignment(
            incident_id=incident.id,
            role=RosterRole.INCIDENT_MANAGER,
            user_id=manager.id,
            assigned_by_id=actor.id,
        )
    )
    audit.record(
        actor,
        "incident.declared",
        incident,
        incident=incident,
        after=audit.fields(incident, *INCIDENT_FIELDS),
        at=now,
    )
    _move_components(actor, incident, statuses, now)
    db.session.commit()
    return incident


def update_incident(
    actor: User,
    incident: Incident,
    *,
    name: str | None = None,
    status: str | None = None,
    impact: str | None = None,
    component_statuses: Mapping[Component, str] | None = None,
) -> Incident:
    """Change an open incident's name, status, impact or component statuses."""
    require(actor, Can.MANAGE_INCIDENTS, incident)
    _refuse_maintenance(incident)
    # Parse everything first: a refusal must leave the incident untouched.
    new_name = clean_name(name) if name is not None else None
    new_impact = parse_impact(impact) if impact is not None else None
    new_status = parse_incident_status(status) if status is not None else None
    statuses = {c: parse_component_status(s) for c, s in (component_statuses or {}).items()}
    before, now = audit.fields(incident, *INCIDENT_FIELDS), utcnow()
    incident.name = new_name or incident.name
    incident.impact = new_impact or incident.impact
    if new_status is not None:
        apply_incident_status(incident, new_status, now)
    _add_components(incident, statuses)
    after = audit.fields(incident, *INCIDENT_FIELDS)
    if after != before:
        audit.record(
            actor,
            "incident.updated",
            incident,
            incident=incident,
            before=before,
            after=after,
            at=now,
        )
    _move_components(actor, incident, statuses, now)
    db.session.commit()
    return incident


def resolve_incident(actor: User, incident: Incident, restore_components: bool = True) -> Incident:
    """Resolve; by default affected components go back to operational."""
    if incident.status == IncidentStatus.RESOLVED:
        raise Conflict(_("This incident is already resolved."))
    statuses = {c: ComponentStatus.OPERATIONAL for c in incident.components}
    return update_incident(
        actor,
        incident,
        status=IncidentStatus.RESOLVED,
        component_statuses=statuses if restore_components else None,
    )


def set_component_status(
    actor: User, component: Component, status: str, incident: Incident | None = None
) -> Component:
    require(actor, Can.CHANGE_COMPONENTS, incident)
    _move_components(actor, incident, {component: status}, utcnow())
    db.session.commit()
    return component


def _move_components(actor, incident, statuses: Mapping[Component, str], at: datetime) -> None:
    for component, raw in statuses.items():
        before = component.status
        if apply_status(component, parse_component_status(raw), at, incident):
            audit.record(
                actor,
                "component.status_changed",
                component,
                incident=incident,
                before={"status": before},
                after={"status": component.status},
                at=at,
            )


def _add_components(incident: Incident, statuses: Mapping[Component, str]) -> None:
    for component in statuses:
        if component not in incident.components:
            incident.components.append(component)


def _refuse_maintenance(incident: Incident) -> None:
    if incident.kind == IncidentKind.MAINTENANCE:
        raise InvalidInput(_("Use the maintenance actions for a maintenance."))


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(_("Give a name of 1 to %(n)d characters.", n=MAX_NAME), field="name")
    return name


def parse_impact(raw: str) -> Impact:
    return _parse(Impact, raw, "impact", exclude={Impact.MAINTENANCE})


def parse_incident_status(raw: str) -> IncidentStatus:
    return _parse(IncidentStatus, raw, "status")


def parse_component_status(raw: str) -> ComponentStatus:
    return _parse(ComponentStatus, raw, "status")


def _parse(enum, raw, field: str, exclude=frozenset()):
    choices = [m for m in enum if m not in exclude]
    if raw not in {m.value for m in choices}:
        allowed = ", ".join(m.value for m in choices)
        raise InvalidInput(
            _("%(field)s must be one of: %(allowed)s.", field=field, allowed=allowed), field=field
        )
    return enum(raw)
