"""Composer records: per-outlet variants, review trail, templates, channels, deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
from .user import User

if TYPE_CHECKING:
    from .incident import Message


class Outlet(StrEnum):
    """Where one update shows; each has its own variant text."""

    STATUS_PAGE = "status_page"
    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    SLACK = "slack"
    EMAIL_SUBJECT = "email_subject"
    EMAIL_BODY = "email_body"


SOCIAL_OUTLETS = frozenset({Outlet.X, Outlet.MASTODON, Outlet.BLUESKY})


class ReviewAction(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    EMERGENCY_PUBLISHED = "emergency_published"


class ChannelKind(StrEnum):
    """Push outlets a published message is delivered to (sent by the publishing engine)."""

    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    SLACK = "slack"
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"
    UNKNOWN = "unknown"
    # Not sent, and never will be: its update was withdrawn or revised, its subscriber
    # left, or its outlet was switched off, before it went out (last_error says which).
    CANCELLED = "cancelled"


class MessageVariant(Base):
    """One outlet's text of a message; derived from the body until someone edits it."""

    __tablename__ = "message_variant"
    __table_args__ = (UniqueConstraint("message_id", "outlet"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    outlet: Mapped[Outlet] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(default=False)


class ReviewEvent(Base):
    """A step in a message's review, with the content hash it saw and an optional comment."""

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[ReviewAction] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class MessageTemplate(TimestampMixin, Base):
    """A prefilled update for a situation; `{placeholder}` substitution only, never evaluated."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    incident_status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)


class Channel(TimestampMixin, Base):
    """A configured push outlet (an X account, a Slack webhook, the subscriber email list...)."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ChannelKind] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Which audiences (public, internal) and incident statuses it posts; empty means all.
    audiences: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["public"])
    statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secret settings, encrypted with CHANNEL_SECRETS_KEY (or `env:NAME` references).
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)


class Delivery(TimestampMixin, Base):
    """One (published message, channel target) to send; the rows are the truth, not the queue."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    # For channels that fan out (email and webhook subscribers): which subscriber.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    # A correction post, for outlets that cannot edit what they already published.
    is_correction: Mapped[bool] = mapped_column(default=False)
    state: Mapped[DeliveryState] = mapped_column(
        String(16), default=DeliveryState.PENDING, index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_until: Mapped[datetime | None] = mapped_column()
    # The one claimed row whose send has started. A worker that dies leaves it set: only
    # that row may have reached a non-idempotent outlet; its other claimed rows are retried.
    in_flight: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    external_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()

    channel: Mapped[Channel] = relationship()
    message: Mapped[Message] = relationship()
