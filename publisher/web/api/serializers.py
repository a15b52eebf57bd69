"""JSON shapes of the /api/v1 resources (described for clients in openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from ...channels import Setting
from ...models import (
    Channel,
    Component,
    Delivery,
    DeliveryState,
    Incident,
    Message,
    MessageTemplate,
    MessageVariant,
    ReviewEvent,
    RosterAssignment,
    TimelineEntry,
    User,
)
from ...services.composer import content_hash
from ...services.delivery_status import ChannelProgress
from ...services.outlet_admin import ChannelDescription
from ...services.outlets import lengths
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


def message_json(message: Message) -> dict[str, Any]:
    """An update with everything a reviewer needs: per-outlet texts, hash, trail."""
    return {
        "id": message.public_id,
        "incident_id": message.incident.public_id,
        "audience": str(message.audience),
        "state": str(message.state),
        "version": message.version,
        "incident_status": message.incident_status,
        "body": message.body,
        "components": [
            {"id": c.component.public_id, "name": c.component.name, "status": str(c.new_status)}
            for c in message.component_changes
        ],
        "variants": {str(v.outlet): variant_json(v) for v in message.variants},
        "translations": {t.locale: t.body for t in message.translations},
        "content_hash": content_hash(message),
        "author": person_json(message.author),
        "approved_by": person_json(message.approved_by),
        "approved_hash": message.approved_hash,
        "emergency_reason": message.emergency_reason,
        "created_at": iso(message.created_at),
        "published_at": iso(message.published_at),
        "publish_at": iso(message.publish_at),
        "revision_of": message.revision_of.public_id if message.revision_of else None,
        "edited": message.revision_of_id is not None,
        "superseded_at": iso(message.superseded_at),
        "review": [review_json(event) for event in message.review_events],
    }


def variant_json(variant: MessageVariant) -> dict[str, Any]:
    """One outlet's text, measured in that outlet's own unit against its limit."""
    measure = lengths.measure(str(variant.outlet), variant.text)
    return {
        "text": variant.text,
        "edited": variant.edited,
        "count": measure.count,
        "limit": measure.limit,
        "unit": measure.unit,
        "ok": measure.ok,
        "problem": measure.problem,
    }


def review_json(event: ReviewEvent) -> dict[str, Any]:
    return {
        "at": iso(event.at),
        "action": str(event.action),
        "actor": person_json(event.actor),
        "comment": event.comment,
        "content_hash": event.content_hash,
    }


def template_json(template: MessageTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "incident_status": template.incident_status,
        "body": template.body,
        "updated_at": iso(template.updated_at),
    }


def channel_json(description: ChannelDescription) -> dict[str, Any]:
    """An outlet as configured; secrets appear only by name, never by value."""
    channel = description.channel
    shown = {s.name for s in description.settings_schema if not s.secret}
    stored = channel.settings or {}
    return channel_ref_json(channel) | {
        "enabled": channel.enabled,
        "audiences": list(channel.audiences or []),
        "statuses": list(channel.statuses or []),
        "settings": {name: value for name, value in stored.items() if name in shown},
        "secrets_set": list(description.secrets_set),
        "secrets_locked": description.locked,
        "updated_at": iso(channel.updated_at),
    }


def channel_ref_json(channel: Channel) -> dict[str, Any]:
    return {"id": channel.id, "kind": str(channel.kind), "name": channel.name}


def channel_kind_json(kind: str, schema: tuple[Setting, ...]) -> dict[str, Any]:
    return {"kind": kind, "settings": [setting_json(s) for s in schema]}


def setting_json(setting: Setting) -> dict[str, Any]:
    return {
        "name": setting.name,
        "label": str(setting.label),
        "secret": setting.secret,
        "required": setting.required,
        "kind": setting.kind,
        "default": setting.default,
        "help": str(setting.help),
    }


def progress_json(progress: ChannelProgress) -> dict[str, Any]:
    """How far one outlet has got with one update."""
    return {
        "channel": channel_ref_json(progress.channel),
        "counts": {str(state): progress.counts[state] for state in DeliveryState},
        "total": progress.total,
        "sent": progress.sent,
        "percent": progress.percent,
        "last_error": progress.last_error,
        "external_id": progress.external_id,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "message_id": delivery.message.public_id,
        "channel": channel_ref_json(delivery.channel),
        "state": str(delivery.state),
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "external_id": delivery.external_id,
        "updated_at": iso(delivery.updated_at),
    }


def person_json(user: User | None) -> dict[str, str] | None:
    return {"email": user.email, "name": user.name} if user is not None else None


def public_url(incident: Incident) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/incidents/{incident.public_id}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
