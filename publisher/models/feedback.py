"""Customer feedback: reports from visitors, support agents and social mentions, and what
goes back out (responder digests, the one message that closes the loop)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
from .component import Component
from .composer import Channel
from .incident import Incident
from .user import User


class FeedbackSource(StrEnum):
    """Where a report came from (the responders' view counts by these)."""

    STATUS_PAGE = "status_page"
    SUPPORT = "support"
    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"


SOCIAL_SOURCES = frozenset({FeedbackSource.X, FeedbackSource.MASTODON, FeedbackSource.BLUESKY})


class FeedbackKind(StrEnum):
    AFFECTED = "affected"  # "Are you affected?" on an incident
    PROBLEM = "problem"  # "Report a problem" when nothing is declared
    INTAKE = "intake"  # a support agent's intake
    MENTION = "mention"  # a mention or reply on a social network


class IntakeVia(StrEnum):
    """How a customer reached a support agent."""

    TICKET = "ticket"
    PHONE = "phone"
    EMAIL = "email"
    SOCIAL = "social"


class TriageState(StrEnum):
    NEW = "new"
    LINKED = "linked"
    FORWARDED = "forwarded"
    DISMISSED = "dismissed"


class FeedbackReport(TimestampMixin, Base):
    """One thing a customer told us; personal fields are kept only with consent, erasable."""

    __tablename__ = "feedback_report"
    __table_args__ = (
        # A mention is stored once per network; NULL ids (every other source) never collide.
        UniqueConstraint("source", "external_id"),
        Index("ix_feedback_report_state_created", "state", "created_at"),
        Index("ix_feedback_report_incident_created", "incident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[FeedbackSource] = mapped_column(String(16))
    kind: Mapped[FeedbackKind] = mapped_column(String(16))
    state: Mapped[TriageState] = mapped_column(String(16), default=TriageState.NEW)
    # False only for a "no, I am not affected" answer; those are kept but not counted.
    affected: Mapped[bool] = mapped_column(default=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    component_id: Mapped[int | None] = mapped_column(
        ForeignKey("component.id", ondelete="SET NULL"), index=True
    )
    region: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    # Personal data: an address only with consent to be told; every one of these is erasable.
    contact_email: Mapped[str | None] = mapped_column(String(320))
    wants_updates: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None] = mapped_column()
    contact: Mapped[str | None] = mapped_column(String(200))  # a handle or phone, as given
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    ticket_url: Mapped[str | None] = mapped_column(String(2048))
    intake_via: Mapped[IntakeVia | None] = mapped_column(String(16))
    # The language the reporter reads (the page's, or the one support chose): closing the
    # loop writes to them in it. None (mentions, older reports): the default language.
    locale: Mapped[str | None] = mapped_column(String(16))
    # Mentions: the post's id on its network, the post it answers, its address.
    external_id: Mapped[str | None] = mapped_column(String(200))
    in_reply_to: Mapped[str | None] = mapped_column(String(200))
    external_url: Mapped[str | None] = mapped_column(String(2048))
    # What a reply to this post names as its parent (Bluesky: "uri|cid"; elsewhere the id).
    reply_ref: Mapped[str | None] = mapped_column(String(600))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"))
    # The first report of a group of near-duplicates (same component, similar text, minutes
    # apart); None for a report that leads its own group.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_report.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    triaged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    triaged_at: Mapped[datetime | None] = mapped_column()
    erased_at: Mapped[datetime | None] = mapped_column()

    incident: Mapped[Incident | None] = relationship()
    component: Mapped[Component | None] = relationship()
    channel: Mapped[Channel | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class IncidentFeedback(Base):
    """Per-incident feedback settings the incident manager sets, and digest bookkeeping."""

    __tablename__ = "incident_feedback"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    # Send responders a digest this often (minutes); None: only when reports surge.
    digest_every_minutes: Mapped[int | None] = mapped_column()
    last_digest_at: Mapped[datetime | None] = mapped_column()
    last_surge_at: Mapped[datetime | None] = mapped_column()
    # Show "N people reported being affected" on the public incident page.
    show_public_count: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DigestTarget(Base):
    """A configured Slack or email outlet, or a webhook URL, that receives responder digests."""

    __tablename__ = "feedback_digest_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), unique=True
    )
    # For a webhook outlet: where digests go and the Standard Webhooks secret that signs them.
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    signing_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    channel: Mapped[Channel] = relationship()


class DigestReason(StrEnum):
    CADENCE = "cadence"
    SURGE = "surge"
    FORWARDED = "forwarded"  # sent by hand from the inbox


class SendState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class FeedbackDigest(Base):
    """One digest sent (or tried) to one target about one incident."""

    __tablename__ = "feedback_digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for reports forwarded from the inbox before anyone linked them.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_digest_target.id", ondelete="SET NULL")
    )
    reason: Mapped[DigestReason] = mapped_column(String(16))
    report_count: Mapped[int] = mapped_column(default=0)
    new_reports: Mapped[int] = mapped_column(default=0)
    subject: Mapped[str] = mapped_column(String(300), default="")
    # The digest as Markdown, fixed when it is made so a retry sends the same text.
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[SendState] = mapped_column(String(16), default=SendState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class LoopNotice(Base):
    """The one message a consenting reporter gets when their incident is resolved."""

    __tablename__ = "feedback_notice"
    __table_args__ = (UniqueConstraint("incident_id", "recipient_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_report.id", ondelete="SET NULL"), index=True
    )
    # The published, approved update whose text is sent.
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    # "email:<address>" or "<network>:<author>": one message per person and incident.
    recipient_key: Mapped[str] = mapped_column(String(400))
    state: Mapped[SendState] = mapped_column(String(16), default=SendState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    external_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    report: Mapped[FeedbackReport | None] = relationship()


class MentionCursor(Base):
    """Where the mentions poll of one social outlet left off."""

    __tablename__ = "feedback_mention_cursor"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True
    )
    cursor: Mapped[str | None] = mapped_column(String(200))
    polled_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
