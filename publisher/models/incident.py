"""Incidents and maintenance, and the messages (updates) written about them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
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
from .user import User

if TYPE_CHECKING:
    from .composer import MessageVariant, ReviewEvent
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
    # When the next public update is promised (set at publish; the console flags it overdue).
    next_update_due_at: Mapped[datetime | None] = mapped_column()

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
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Who last changed the content; they may not approve it either.
    last_editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    publish_at: Mapped[datetime | None] = mapped_column(index=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The content hash the approval covers; any edit changes the hash and voids it.
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    emergency_reason: Mapped[str | None] = mapped_column(Text)
    # A revision of a published update replaces it on the page, shown as edited.
    revision_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    superseded_at: Mapped[datetime | None] = mapped_column()
    # Optimistic lock: two people acting at once, exactly one wins.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    incident: Mapped[Incident] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    revision_of: Mapped[Message | None] = relationship(remote_side=[id])
    component_changes: Mapped[list[MessageComponentChange]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageComponentChange.id"
    )
    variants: Mapped[list[MessageVariant]] = relationship(
        cascade="all, delete-orphan", order_by="MessageVariant.id"
    )
    review_events: Mapped[list[ReviewEvent]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewEvent.id"
    )
    # The update's text in other configured languages; reviewed and approved with it.
    translations: Mapped[list[MessageTranslation]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageTranslation.locale"
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


class MessageTranslation(Base):
    """An update's text in one more language (the body is the original)."""

    __tablename__ = "message_translation"
    __table_args__ = (UniqueConstraint("message_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")

    message: Mapped[Message] = relationship(back_populates="translations")
