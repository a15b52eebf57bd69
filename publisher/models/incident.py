"""Incidents and maintenance, and the messages (updates) written about them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, PublicIdMixin, PublicMixin, TimestampMixin, utcnow
from .component import Component
from .enums import (
    CLOSED_STATUSES,
    Audience,
    ComponentStatus,
    Impact,
    IncidentKind,
    MessageState,
)

if TYPE_CHECKING:
    from .staff import RosterAssignment

incident_component = Table(
    "incident_component",
    Base.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("component_id", ForeignKey("component.id", ondelete="CASCADE"), primary_key=True),
)


class Incident(PublicMixin, PublicIdMixin, TimestampMixin, Base):
    """An incident, or a maintenance when kind is maintenance (Statuspage's model)."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IncidentKind] = mapped_column(String(16), default=IncidentKind.INCIDENT)
    name: Mapped[str] = mapped_column(String(300))
    impact: Mapped[Impact] = mapped_column(String(16), default=Impact.NONE)
    # IncidentStatus for incidents, MaintenanceStatus for maintenance.
    status: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    monitoring_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    scheduled_for: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_until: Mapped[datetime | None] = mapped_column()
    # When true, maintenance starts and completes itself and moves its components.
    auto_transition: Mapped[bool] = mapped_column(default=True)

    components: Mapped[list[Component]] = relationship(
        secondary=incident_component, order_by="Component.position"
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="incident", order_by="Message.id", cascade="all, delete-orphan"
    )
    roster: Mapped[list[RosterAssignment]] = relationship(
        order_by="RosterAssignment.id", cascade="all, delete-orphan"
    )

    @property
    def is_maintenance(self) -> bool:
        return self.kind == IncidentKind.MAINTENANCE

    @property
    def is_active(self) -> bool:
        return self.status not in CLOSED_STATUSES


class Message(PublicIdMixin, TimestampMixin, Base):
    """One update about an incident; only published public ones reach visitors."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[Audience] = mapped_column(String(16), default=Audience.PUBLIC)
    state: Mapped[MessageState] = mapped_column(String(24), default=MessageState.DRAFT)
    # The incident (or maintenance) status this update announces.
    incident_status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(index=True)

    incident: Mapped[Incident] = relationship(back_populates="messages")
    component_changes: Mapped[list[MessageComponentChange]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageComponentChange.id"
    )

    @property
    def is_public(self) -> bool:
        return self.audience == Audience.PUBLIC and self.state == MessageState.PUBLISHED


class MessageComponentChange(Base):
    """A component status change that an update announces."""

    __tablename__ = "message_component_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"))
    old_status: Mapped[ComponentStatus | None] = mapped_column(String(32))
    new_status: Mapped[ComponentStatus] = mapped_column(String(32))

    message: Mapped[Message] = relationship(back_populates="component_changes")
    component: Mapped[Component] = relationship()
