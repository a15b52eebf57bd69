"""People and systems that asked to be told: email (double opt-in) and webhook subscribers."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin
from .component import Component


class SubscriberKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


def new_token() -> str:
    return secrets.token_urlsafe(32)


subscriber_component = Table(
    "subscriber_component",
    Base.metadata,
    Column("subscriber_id", ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True),
    Column("component_id", ForeignKey("component.id", ondelete="CASCADE"), primary_key=True),
)


class Subscriber(TimestampMixin, Base):
    """One address or URL; it hears about the components it chose (none chosen: all)."""

    __tablename__ = "subscriber"
    __table_args__ = (UniqueConstraint("kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SubscriberKind] = mapped_column(String(16))
    # The email address (lower-cased) or the webhook URL.
    target: Mapped[str] = mapped_column(String(2048))
    # Secret for manage/unsubscribe links and email confirmation; never shown on a page.
    token: Mapped[str] = mapped_column(String(64), unique=True, index=True, default=new_token)
    # Webhook signing secret (Standard Webhooks `whsec_...`), given to the subscriber once.
    signing_secret: Mapped[str | None] = mapped_column(String(128))
    # The language its emails are written in: the visitor's when subscribing (None: default).
    locale: Mapped[str | None] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    unsubscribed_at: Mapped[datetime | None] = mapped_column()
    # When the last confirmation mail was queued: asking again re-sends it once per interval.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column()
    # "Follow this incident": only that incident's updates.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )

    components: Mapped[list[Component]] = relationship(secondary=subscriber_component)

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None
