"""The incident timeline: audit events and the scribe's entries, in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import AuditEvent, Incident, TimelineEntry, TimelineKind, User, utcnow
from . import audit
from .errors import InvalidInput
from .permissions import Can, require

MAX_ENTRY = 5000


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    actor: str | None
    kind: str  # "event" or a TimelineKind
    text: str
    action: str | None = None
    before: dict | None = None
    after: dict | None = None

    def as_json(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "kind": self.kind,
            "text": self.text,
            "action": self.action,
            "before": self.before,
            "after": self.after,
        }


def add_entry(
    actor: User,
    incident: Incident,
    body: str,
    kind: str = TimelineKind.NOTE,
    at: datetime | None = None,
) -> TimelineEntry:
    """The scribe's own record of something that happened."""
    require(actor, Can.WRITE_TIMELINE, incident)
    body = (body or "").strip()
    if not body or len(body) > MAX_ENTRY:
        raise InvalidInput(_("Write 1 to %(n)d characters.", n=MAX_ENTRY), field="body")
    if kind not in {k.value for k in TimelineKind}:
        raise InvalidInput(_("Unknown kind of entry."), field="kind")
    if at is not None and at.tzinfo is None:
        raise InvalidInput(_("Give the time with a time zone."), field="at")
    entry = TimelineEntry(
        incident_id=incident.id,
        author_id=actor.id,
        body=body,
        kind=TimelineKind(kind),
        at=at or utcnow(),
    )
    db.session.add(entry)
    audit.record(actor, "timeline.entry_added", entry, incident=incident, after={"kind": kind})
    db.session.commit()
    return entry


def timeline(incident: Incident) -> list[TimelineItem]:
    """Everything that happened in an incident, oldest first."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident.id, AuditEvent.action != "timeline.entry_added")
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    entries = db.session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id)
        .options(selectinload(TimelineEntry.author))
        .order_by(TimelineEntry.at, TimelineEntry.id)
    ).all()
    items = [_from_event(e) for e in events] + [_from_entry(e) for e in entries]
    return sorted(items, key=lambda item: item.at)  # stable: same-time events keep their order


def export_markdown(incident: Incident) -> str:
    lines = [
        f"# {incident.name}",
        "",
        f"- Incident: {incident.public_id}",
        f"- Status: {incident.status}",
        f"- Impact: {incident.impact}",
        f"- Started: {incident.started_at.isoformat()}",
        "",
        "## Timeline",
        "",
        *markdown_lines(incident),
    ]
    return "\n".join(lines) + "\n"


def markdown_lines(incident: Incident) -> list[str]:
    """The timeline as Markdown list items, oldest first (also prefills the postmortem)."""
    lines = []
    for item in timeline(incident):
        who = f" — {item.actor}" if item.actor else ""
        marker = "" if item.kind == "event" else f"**{item.kind.replace('_', ' ')}:** "
        text = " ".join(item.text.split())
        lines.append(f"- `{item.at.strftime('%Y-%m-%d %H:%M:%S')} UTC`{who}: {marker}{text}")
    return lines


def export_json(incident: Incident) -> dict:
    return {
        "incident": {
            "id": incident.public_id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "started_at": incident.started_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        },
        "timeline": [item.as_json() for item in timeline(incident)],
    }


def _from_event(event: AuditEvent) -> TimelineItem:
    return TimelineItem(
        at=event.at,
        actor=event.actor.name if event.actor else None,
        kind="event",
        text=describe(event),
        action=event.action,
        before=event.before,
        after=event.after,
    )


def _from_entry(entry: TimelineEntry) -> TimelineItem:
    return TimelineItem(
        at=entry.at,
        actor=entry.author.name if entry.author else None,
        kind=entry.kind,
        text=entry.body,
    )


def describe(event: AuditEvent) -> str:
    """One human sentence for an audit event."""
    before, after = event.before or {}, event.after or {}
    describers = {
        "incident.declared": lambda: _(
            "Declared the incident (impact %(impact)s).", impact=after.get("impact")
        ),
        "incident.updated": lambda: _("Changed %(changes)s.", changes=_changes(before, after)),
        "component.status_changed": lambda: _(
            "Component %(id)s: %(old)s → %(new)s.",
            id=event.object_id,
            old=before.get("status"),
            new=after.get("status"),
        ),
        "roster.assigned": lambda: _(
            "%(role)s: %(holders)s.",
            role=after.get("role"),
            holders=", ".join(after.get("holders") or []) or "—",
        ),
        "roster.unassigned": lambda: _(
            "%(role)s: %(holders)s.",
            role=after.get("role"),
            holders=", ".join(after.get("holders") or []) or "—",
        ),
        "maintenance.scheduled": lambda: _("Scheduled the maintenance."),
        "maintenance.status_changed": lambda: _(
            "Maintenance status: %(old)s → %(new)s.",
            old=before.get("status"),
            new=after.get("status"),
        ),
        **_message_describers(event, after),
        **_postmortem_describers(before, after),
    }
    describer = describers.get(event.action)
    return describer() if describer else event.action


def _message_describers(event: AuditEvent, after: dict) -> dict:
    """Sentences for the review steps of an update (the comment, when there is one)."""
    comment = after.get("comment")
    note = f" {comment}" if comment else ""
    return {
        "message.created": lambda: _("Started update %(id)s.", id=event.object_id) + note,
        "message.edited": lambda: _("Edited update %(id)s.", id=event.object_id),
        "message.submitted": lambda: _("Sent update %(id)s for review.", id=event.object_id) + note,
        "message.approved": lambda: _("Approved update %(id)s.", id=event.object_id) + note,
        "message.changes_requested": lambda: (
            _("Asked for changes to update %(id)s:", id=event.object_id) + note
        ),
        "message.commented": lambda: _("Commented on update %(id)s:", id=event.object_id) + note,
        "message.scheduled": lambda: _("Scheduled update %(id)s.", id=event.object_id),
        "message.published": lambda: _("Published update %(id)s.", id=event.object_id),
        "message.emergency_published": lambda: _(
            "Published update %(id)s without review. Reason: %(reason)s",
            id=event.object_id,
            reason=comment or "—",
        ),
    }


def _postmortem_describers(before: dict, after: dict) -> dict:
    """Sentences for the postmortem's review steps and its follow-up actions."""
    comment = after.get("comment")
    note = f" {comment}" if comment else ""
    title = after.get("title") or before.get("title")
    return {
        "postmortem.created": lambda: _("Started the postmortem."),
        "postmortem.edited": lambda: _("Edited the postmortem."),
        "postmortem.submitted": lambda: _("Sent the postmortem for review.") + note,
        "postmortem.approved": lambda: _("Approved the postmortem.") + note,
        "postmortem.changes_requested": lambda: _("Asked for changes to the postmortem:") + note,
        "postmortem.commented": lambda: _("Commented on the postmortem:") + note,
        "postmortem.published": lambda: _("Published the postmortem.") + note,
        "postmortem.unpublished": lambda: _("Withdrew the postmortem from the public side:") + note,
        "postmortem.action_added": lambda: _("Follow-up action added: %(title)s", title=title),
        "postmortem.action_changed": lambda: _("Follow-up action changed: %(title)s", title=title),
        "postmortem.action_status": lambda: _(
            "Follow-up action %(title)s: %(old)s → %(new)s.",
            title=title,
            old=before.get("status"),
            new=after.get("status"),
        ),
    }


def _changes(before: dict, after: dict) -> str:
    return ", ".join(
        f"{key} {before.get(key)} → {after.get(key)}"
        for key in after
        if before.get(key) != after.get(key)
    )
