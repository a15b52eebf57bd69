"""The audit trail: every action writes who, what, when, on which object, before and after."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from ..extensions import db
from ..models import AuditEvent, Incident, User, utcnow


def record(
    actor: User | None,
    action: str,
    obj: Any,
    *,
    incident: Incident | None = None,
    before: dict | None = None,
    after: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's unit of work (no commit)."""
    db.session.flush()
    event = AuditEvent(
        at=at or utcnow(),
        actor_id=actor.id if actor else None,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "public_id", None) or getattr(obj, "id", "")),
        incident_id=incident.id if incident else None,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(event)
    return event


def fields(obj: Any, *names: str) -> dict[str, Any]:
    """A snapshot of some attributes, for an event's before/after."""
    return {name: getattr(obj, name) for name in names}


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
