"""Reports coming in: the public "are you affected?" and "report a problem" forms, and a
support agent's intake. Each is one unit of work; spam is accepted quietly and not stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ...config import SUPPORTED_LOCALES
from ...extensions import db
from ...models import (
    Component,
    FeedbackKind,
    FeedbackReport,
    FeedbackSource,
    Incident,
    IncidentFeedback,
    IntakeVia,
    TriageState,
    User,
    bump_page_version,
    utcnow,
)
from .. import audit
from ..errors import InvalidInput, NotFound
from ..permissions import Can, require
from .grouping import group_for
from .text import (
    MAX_BODY,
    clean_text,
    optional_email,
    optional_line,
    optional_region,
    optional_url,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicReport:
    """What a visitor typed; `honeypot` is the hidden field only bots fill in."""

    body: str = ""
    component: str | None = None  # a component's public id
    region: str | None = None
    email: str | None = None
    wants_updates: bool = False
    honeypot: str = ""
    locale: str | None = None  # the language the page was shown in


@dataclass(frozen=True)
class Intake:
    """What a support agent logs about one customer contact."""

    via: str
    body: str
    customer_ref: str | None = None
    ticket_url: str | None = None
    contact: str | None = None
    email: str | None = None
    wants_updates: bool = False
    component: str | None = None
    region: str | None = None
    incident: str | None = None  # an incident's public id; None leaves it for triage
    locale: str | None = None  # the language the customer reads


def report_affected(incident_public_id: str, affected: bool, report: PublicReport) -> int | None:
    """A visitor's answer to "are you affected?"; the new report's id (None for spam)."""
    incident = _active_incident(incident_public_id)
    if is_spam(report):
        return None
    fields = _public_fields(report, allowed=incident.components)
    saved = _store(
        FeedbackReport(
            source=FeedbackSource.STATUS_PAGE,
            kind=FeedbackKind.AFFECTED,
            affected=affected,
            incident_id=incident.id,
            state=TriageState.LINKED,
            **fields,
        )
    )
    _refresh_public_count(incident.id)
    db.session.commit()
    return saved.id


def report_problem(report: PublicReport) -> int | None:
    """A visitor's report when nothing is declared yet: left in the inbox for triage."""
    if is_spam(report):
        return None
    fields = _public_fields(report, allowed=None)
    if not fields["body"]:
        raise InvalidInput(_("Tell us what happened."), field="body")
    saved = _store(
        FeedbackReport(source=FeedbackSource.STATUS_PAGE, kind=FeedbackKind.PROBLEM, **fields)
    )
    db.session.commit()
    return saved.id


def record_intake(actor: User, intake: Intake) -> FeedbackReport:
    """A support agent's intake, linked to an incident or left for triage."""
    require(actor, Can.LOG_FEEDBACK)
    incident = _incident_or_none(intake.incident)
    email = optional_email(intake.email)
    report = FeedbackReport(
        source=FeedbackSource.SUPPORT,
        kind=FeedbackKind.INTAKE,
        intake_via=_via(intake.via),
        body=_required_body(intake.body),
        customer_ref=optional_line(intake.customer_ref, field="customer_ref"),
        ticket_url=optional_url(intake.ticket_url, field="ticket_url"),
        contact=optional_line(intake.contact, field="contact"),
        component_id=_component_id(intake.component, None),
        region=optional_region(intake.region),
        locale=_locale(intake.locale),
        incident_id=incident.id if incident else None,
        state=TriageState.LINKED if incident else TriageState.NEW,
        created_by_id=actor.id,
        **_consent(email, intake.wants_updates),
    )
    _store(report)
    audit.record(actor, "feedback.intake", report, incident=incident, after={"id": report.id})
    if incident is not None:
        _refresh_public_count(incident.id)
    db.session.commit()
    return report


def is_spam(report: PublicReport) -> bool:
    """A filled honeypot: answered like any report, stored nowhere, logged."""
    if (report.honeypot or "").strip():
        log.info("feedback: honeypot filled; report dropped quietly")
        return True
    return False


# ---------------------------------------------------------------- helpers


def _public_fields(report: PublicReport, allowed) -> dict:
    email = optional_email(report.email)
    if report.wants_updates and not email:
        raise InvalidInput(_("Enter the address to tell you at."), field="email")
    return {
        "body": clean_text(report.body, limit=MAX_BODY, field="body"),
        "component_id": _component_id(report.component, allowed),
        "region": optional_region(report.region),
        "locale": _locale(report.locale),
        **_consent(email, report.wants_updates),
    }


def _consent(email: str | None, wants_updates: bool) -> dict:
    """Personal data only with consent: an address without the tick box is not kept."""
    if email and wants_updates:
        return {"contact_email": email, "wants_updates": True, "consent_at": utcnow()}
    return {"contact_email": None, "wants_updates": False, "consent_at": None}


def _store(report: FeedbackReport) -> FeedbackReport:
    report.created_at = report.updated_at = utcnow()
    db.session.add(report)
    db.session.flush()
    report.group_id = group_for(report)
    return report


def _required_body(value: str | None) -> str:
    body = clean_text(value, limit=MAX_BODY, field="body")
    if not body:
        raise InvalidInput(_("Write what the customer said."), field="body")
    return body


def _locale(value: str | None) -> str | None:
    if not value:
        return None
    if value not in SUPPORTED_LOCALES:
        raise InvalidInput(_("Choose a language from the list."), field="locale")
    return value


def _via(value: str | None) -> IntakeVia:
    try:
        return IntakeVia(value)
    except ValueError:
        raise InvalidInput(_("Choose how the customer reached you."), field="via") from None


def _component_id(public_id: str | None, allowed) -> int | None:
    if not public_id:
        return None
    choices = allowed if allowed else None
    if choices is not None:
        found = next((c for c in choices if c.public_id == public_id), None)
    else:
        found = db.session.scalar(select(Component).where(Component.public_id == public_id))
    if found is None:
        raise InvalidInput(_("Choose a component from the list."), field="component")
    return found.id


def _active_incident(public_id: str) -> Incident:
    incident = db.session.scalar(select(Incident).where(Incident.public_id == public_id))
    if incident is None or not incident.is_active or incident.is_maintenance:
        raise NotFound(_("There is no active incident with that id."))
    return incident


def _incident_or_none(public_id: str | None) -> Incident | None:
    if not public_id:
        return None
    incident = db.session.scalar(select(Incident).where(Incident.public_id == public_id))
    if incident is None:
        raise InvalidInput(_("Choose an incident from the list."), field="incident")
    return incident


def _refresh_public_count(incident_id: int) -> None:
    """The public page shows the count only where the incident manager turned it on."""
    settings = db.session.get(IncidentFeedback, incident_id)
    if settings is not None and settings.show_public_count:
        bump_page_version(db.session)
