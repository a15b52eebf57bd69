"""The inbox for support and social leads: new reports in near-duplicate groups, with
link-to-incident, forward and dismiss; erasing a report's personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    CLOSED_STATUSES,
    FeedbackReport,
    Incident,
    IncidentKind,
    TriageState,
    User,
    incident_component,
    utcnow,
)
from .. import audit
from ..errors import Conflict, InvalidInput, NotFound
from ..permissions import Can, require
from .intake import _refresh_public_count

INBOX_LIMIT = 300
PERSONAL_FIELDS = ("contact_email", "contact", "customer_ref", "ticket_url", "external_url")


@dataclass
class InboxGroup:
    """Near-duplicate reports shown as one row; `lead` is the first of them."""

    lead: FeedbackReport
    members: list[FeedbackReport] = field(default_factory=list)
    # The component has no declared active incident: often the first sign of one.
    undeclared: bool = False

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def latest_at(self) -> datetime:
        return max(r.created_at for r in self.members)

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.members]


def inbox(state: TriageState = TriageState.NEW) -> list[InboxGroup]:
    """Reports in one triage state, grouped, newest group first; undeclared ones first."""
    reports = db.session.scalars(
        select(FeedbackReport)
        .where(FeedbackReport.state == state)
        .options(selectinload(FeedbackReport.component), selectinload(FeedbackReport.incident))
        .order_by(FeedbackReport.id.desc())
        .limit(INBOX_LIMIT)
    ).all()
    groups: dict[int, InboxGroup] = {}
    for report in reversed(reports):
        key = report.group_id or report.id
        group = groups.setdefault(key, InboxGroup(lead=report))
        group.members.append(report)
    declared = declared_component_ids()
    for group in groups.values():
        group.undeclared = _undeclared(group, declared)
    return sorted(groups.values(), key=lambda g: (not g.undeclared, -g.latest_at.timestamp()))


def declared_component_ids() -> set[int]:
    """Components touched by an active (not maintenance) incident."""
    return set(
        db.session.scalars(
            select(incident_component.c.component_id)
            .join(Incident, Incident.id == incident_component.c.incident_id)
            .where(
                Incident.kind == IncidentKind.INCIDENT,
                Incident.status.not_in([str(s) for s in CLOSED_STATUSES]),
            )
        )
    )


def _undeclared(group: InboxGroup, declared: set[int]) -> bool:
    component_id = group.lead.component_id
    return (
        component_id is not None
        and group.lead.incident_id is None
        and (component_id not in declared)
    )


def active_incidents() -> list[Incident]:
    return list(
        db.session.scalars(
            select(Incident)
            .where(
                Incident.kind == IncidentKind.INCIDENT,
                Incident.status.not_in([str(s) for s in CLOSED_STATUSES]),
            )
            .order_by(Incident.started_at.desc())
        )
    )


def link(actor: User, report_ids: list[int], incident_public_id: str) -> int:
    """Link reports (a whole group) to an incident; returns how many moved."""
    require(actor, Can.TRIAGE_FEEDBACK)
    incident = db.session.scalar(select(Incident).where(Incident.public_id == incident_public_id))
    if incident is None:
        raise InvalidInput(_("Choose an incident from the list."), field="incident")
    reports = _reports(report_ids)
    for report in reports:
        report.incident_id, report.state = incident.id, TriageState.LINKED
        _triaged(report, actor)
    audit.record(
        actor, "feedback.linked", incident, incident=incident, after={"reports": report_ids}
    )
    _refresh_public_count(incident.id)
    db.session.commit()
    return len(reports)


def dismiss(actor: User, report_ids: list[int]) -> int:
    require(actor, Can.TRIAGE_FEEDBACK)
    reports = _reports(report_ids)
    for report in reports:
        report.state = TriageState.DISMISSED
        _triaged(report, actor)
    audit.record(actor, "feedback.dismissed", reports[0], after={"reports": report_ids})
    db.session.commit()
    return len(reports)


def mark_forwarded(actor: User | None, report_ids: list[int]) -> list[FeedbackReport]:
    """Mark reports as forwarded to the responders (the caller sends, then commits)."""
    reports = _reports(report_ids)
    for report in reports:
        report.state = TriageState.FORWARDED
        _triaged(report, actor)
    return reports


def erase(actor: User, report_id: int) -> FeedbackReport:
    """Remove a report's personal data (address, contact, references, quote); logged."""
    report = get_report(report_id)
    require(actor, Can.ERASE_FEEDBACK, report.incident)
    if report.erased_at is not None:
        raise Conflict(_("This report's personal data is already erased."))
    erased = [name for name in PERSONAL_FIELDS if getattr(report, name)]
    for name in PERSONAL_FIELDS:
        setattr(report, name, None)
    report.body, report.wants_updates, report.consent_at = "", False, None
    report.erased_at = utcnow()
    audit.record(
        actor,
        "feedback.erased",
        report,
        incident=report.incident,
        after={"fields": [*erased, "body"]},
    )
    db.session.commit()
    return report


def get_report(report_id: int) -> FeedbackReport:
    report = db.session.get(FeedbackReport, report_id)
    if report is None:
        raise NotFound(_("There is no such report."))
    return report


def _reports(report_ids: list[int]) -> list[FeedbackReport]:
    """The named reports plus the rest of their groups, so a group moves as one."""
    ids = [i for i in report_ids or () if isinstance(i, int)]
    if not ids:
        raise InvalidInput(_("Choose at least one report."), field="reports")
    reports = db.session.scalars(
        select(FeedbackReport)
        .where(or_(FeedbackReport.id.in_(ids), FeedbackReport.group_id.in_(ids)))
        .order_by(FeedbackReport.id)
    ).all()
    if not reports:
        raise NotFound(_("There is no such report."))
    return list(reports)


def _triaged(report: FeedbackReport, actor: User | None) -> None:
    report.triaged_by_id = actor.id if actor else None
    report.triaged_at = utcnow()
