"""The incident role roster: who holds which role; the incident manager holds the rest."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    MULTI_HOLDER_ROLES,
    Incident,
    RosterAssignment,
    RosterRole,
    User,
)
from . import audit
from .errors import Conflict, InvalidInput, NotFound
from .permissions import Can, require

ROLE_LABELS = {
    RosterRole.INCIDENT_MANAGER: _l("Incident manager"),
    RosterRole.TECH_LEAD: _l("Technical lead"),
    RosterRole.COMMS_MANAGER: _l("Communications manager"),
    RosterRole.COMMS_INTERNAL: _l("Internal communications"),
    RosterRole.COMMS_EXTERNAL: _l("External communications"),
    RosterRole.SUPPORT_LEAD: _l("Customer support lead"),
    RosterRole.SOCIAL_LEAD: _l("Social media lead"),
    RosterRole.SUBJECT_MATTER_EXPERT: _l("Subject-matter expert"),
    RosterRole.SCRIBE: _l("Scribe"),
    RosterRole.PROBLEM_MANAGER: _l("Problem manager"),
    RosterRole.AD_HOC: _l("Ad-hoc role"),
}
# The roles every incident has; the incident manager holds any left unassigned.
STANDARD_ROLES = [
    RosterRole.INCIDENT_MANAGER,
    RosterRole.TECH_LEAD,
    RosterRole.COMMS_MANAGER,
    RosterRole.SUPPORT_LEAD,
    RosterRole.SOCIAL_LEAD,
    RosterRole.SUBJECT_MATTER_EXPERT,
    RosterRole.SCRIBE,
    RosterRole.PROBLEM_MANAGER,
]
MAX_LABEL = 120


@dataclass(frozen=True)
class RosterLine:
    role: RosterRole
    label: str
    holders: list[RosterAssignment]
    # True when nobody holds it and it falls to the incident manager.
    held_by_incident_manager: bool


def roster_lines(incident: Incident) -> list[RosterLine]:
    """Every standard role plus assigned extra ones, with who holds each."""
    by_role: dict[RosterRole, list[RosterAssignment]] = {}
    for assignment in incident.roster:
        by_role.setdefault(RosterRole(assignment.role), []).append(assignment)
    roles = STANDARD_ROLES + [r for r in by_role if r not in STANDARD_ROLES]
    return [
        RosterLine(
            role,
            str(ROLE_LABELS[role]),
            by_role.get(role, []),
            held_by_incident_manager=not by_role.get(role) and role != RosterRole.INCIDENT_MANAGER,
        )
        for role in roles
    ]


def incident_manager(incident: Incident) -> User | None:
    for assignment in incident.roster:
        if assignment.role == RosterRole.INCIDENT_MANAGER:
            return assignment.user
    return None


def assign(
    actor: User, incident: Incident, role: str, user: User, label: str | None = None
) -> RosterAssignment:
    """Give a role to someone; a single-holder role changes hands."""
    require(actor, Can.ASSIGN_ROSTER, incident)
    role, label = _parse_role(role), _clean_label(label)
    if not user.is_enabled:
        raise InvalidInput(_("That account is disabled."), field="user")
    if role == RosterRole.AD_HOC and not label:
        raise InvalidInput(_("Name the ad-hoc role."), field="label")
    _refuse_duplicate(incident, role, user, label)
    before = _holders(incident, role)
    if role not in MULTI_HOLDER_ROLES:
        for old in [a for a in incident.roster if a.role == role]:
            incident.roster.remove(old)
    assignment = RosterAssignment(role=role, label=label, user=user, assigned_by_id=actor.id)
    incident.roster.append(assignment)
    audit.record(
        actor,
        "roster.assigned",
        incident,
        incident=incident,
        before={"role": role, "holders": before},
        after={"role": role, "holders": _holders(incident, role), "label": label},
    )
    db.session.commit()
    return assignment


def unassign(actor: User, incident: Incident, assignment_id: int) -> None:
    require(actor, Can.ASSIGN_ROSTER, incident)
    assignment = next((a for a in incident.roster if a.id == assignment_id), None)
    if assignment is None:
        raise NotFound(_("That role assignment does not exist."))
    if assignment.role == RosterRole.INCIDENT_MANAGER:
        raise Conflict(_("An incident always has an incident manager; assign another instead."))
    before = _holders(incident, assignment.role)
    incident.roster.remove(assignment)
    audit.record(
        actor,
        "roster.unassigned",
        incident,
        incident=incident,
        before={"role": assignment.role, "holders": before},
        after={"role": assignment.role, "holders": _holders(incident, assignment.role)},
    )
    db.session.commit()


def my_roles(user: User) -> list[tuple[Incident, list[RosterRole]]]:
    """The roles a person holds across active incidents, implicit ones included."""
    incidents = db.session.scalars(
        select(Incident)
        .where(Incident.status.not_in(list(CLOSED_STATUSES)))
        .options(selectinload(Incident.roster))
        .order_by(Incident.started_at.desc())
    ).all()
    result = []
    for incident in incidents:
        roles = [line.role for line in roster_lines(incident) if _holds(line, user, incident)]
        if roles:
            result.append((incident, roles))
    return result


def _holds(line: RosterLine, user: User, incident: Incident) -> bool:
    if any(a.user_id == user.id for a in line.holders):
        return True
    manager = incident_manager(incident)
    return line.held_by_incident_manager and manager is not None and manager.id == user.id


def _holders(incident: Incident, role: RosterRole) -> list[str]:
    return [a.user.email for a in incident.roster if a.role == role]


def _refuse_duplicate(incident, role, user, label) -> None:
    for a in incident.roster:
        if a.role == role and a.user_id == user.id and (a.label or None) == label:
            raise Conflict(_("That person already holds that role."))


def _parse_role(raw: str) -> RosterRole:
    if raw not in {r.value for r in RosterRole}:
        raise InvalidInput(_("Unknown incident role."), field="role")
    return RosterRole(raw)


def _clean_label(label: str | None) -> str | None:
    label = " ".join((label or "").split()) or None
    if label and len(label) > MAX_LABEL:
        raise InvalidInput(_("Keep the label under %(n)d characters.", n=MAX_LABEL), field="label")
    return label
