"""Components, their groups, and the kept history of every status change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, PublicIdMixin, PublicMixin, TimestampMixin, utcnow
from .enums import ComponentStatus


class ComponentGroup(PublicMixin, PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "component_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    components: Mapped[list[Component]] = relationship(
        back_populates="group", order_by="Component.position"
    )


class Component(PublicMixin, PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "component"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[ComponentStatus] = mapped_column(String(32), default=ComponentStatus.OPERATIONAL)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("component_group.id", ondelete="SET NULL"), index=True
    )
    only_show_if_degraded: Mapped[bool] = mapped_column(default=False)
    showcase: Mapped[bool] = mapped_column(default=True)
    start_date: Mapped[datetime | None] = mapped_column()

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")

    @property
    def is_visible(self) -> bool:
        return not self.only_show_if_degraded or self.status != ComponentStatus.OPERATIONAL


class ComponentStatusChange(Base):
    """One status transition; the uptime bars are computed from these."""

    __tablename__ = "component_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        ForeignKey("component.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[ComponentStatus | None] = mapped_column(String(32))
    to_status: Mapped[ComponentStatus] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
