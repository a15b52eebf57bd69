"""The incident role roster, the audit trail, the scribe's timeline and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User


class RosterRole(StrEnum):
    """Incident roles (../shared/ROLES.md); the incident manager holds every unassigned one."""

    INCIDENT_MANAGER = "incident_manager"
    TECH_LEAD = "tech_lead"
    COMMS_MANAGER = "comms_manager"
    COMMS_INTERNAL = "comms_internal"
    COMMS_EXTERNAL = "comms_external"
    SUPPORT_LEAD = "support_lead"
    SOCIAL_LEAD = "social_lead"
    SUBJECT_MATTER_EXPERT = "subject_matter_expert"
    SCRIBE = "scribe"
    PROBLEM_MANAGER = "problem_manager"
    AD_HOC = "ad_hoc"


# Roles that several people may hold at once in one incident.
MULTI_HOLDER_ROLES = frozenset(
    {RosterRole.TECH_LEAD, RosterRole.SUBJECT_MATTER_EXPERT, RosterRole.AD_HOC}
)


class TimelineKind(StrEnum):
    NOTE = "note"
    KEY_DECISION = "key_decision"
    THEORY = "theory"
    ACTION = "action"


class RosterAssignment(Base):
    __tablename__ = "roster_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[RosterRole] = mapped_column(String(32))
    # Free label for ad-hoc roles and to tell several tech leads apart ("Database workstream").
    label: Mapped[str | None] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AuditEvent(Base):
    """Who did what, when, to which object; the incident timeline is read from these."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()


class TimelineEntry(Base):
    """The scribe's own record: free text at a time, optionally a key decision or theory."""

    __tablename__ = "timeline_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[TimelineKind] = mapped_column(String(16), default=TimelineKind.NOTE)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 is stored, it acts as its owner."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
