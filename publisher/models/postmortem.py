"""The post-incident review: one postmortem per incident, its review trail, follow-up actions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
from .incident import Incident
from .user import User


class PostmortemState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    # The approved content is what the public reads now.
    PUBLISHED = "published"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WONT_DO = "wont_do"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionPriority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# The columns visitors read; a change to any of them bumps the page version.
PUBLIC_COLUMNS = ("published_body", "published_at", "public_updated_at")


class Postmortem(TimestampMixin, Base):
    """The review of one incident: an internal text (full) and an optional public one.

    `published_body` is a copy of the public text taken when it was published; editing
    afterwards changes the draft only, so visitors never read unapproved words.
    """

    __tablename__ = "postmortem"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[PostmortemState] = mapped_column(String(24), default=PostmortemState.DRAFT)
    internal_body: Mapped[str] = mapped_column(Text, default="")
    public_body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Who last changed the content; they may not approve it either.
    last_editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The content hash the approval covers; any edit changes the hash and voids it.
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    published_body: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column()
    public_updated_at: Mapped[datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The update that told subscribers about it, when the publisher chose to notify them.
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    # Optimistic lock: two people acting at once, exactly one wins.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    incident: Mapped[Incident] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    last_editor: Mapped[User | None] = relationship(foreign_keys=[last_editor_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    review_events: Mapped[list[PostmortemReviewEvent]] = relationship(
        cascade="all, delete-orphan", order_by="PostmortemReviewEvent.id"
    )
    actions: Mapped[list[FollowUpAction]] = relationship(
        back_populates="postmortem",
        cascade="all, delete-orphan",
        order_by="FollowUpAction.id",
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


def postmortem_touches_public(postmortem: Postmortem) -> bool:
    """True when a flush would change what visitors read of this postmortem."""
    state = inspect(postmortem)
    session = state.session
    if state.pending or (session is not None and postmortem in session.deleted):
        return postmortem.published_at is not None
    return any(state.attrs[name].history.has_changes() for name in PUBLIC_COLUMNS)


class PostmortemReviewEvent(Base):
    """A step in a postmortem's review, with the content hash it saw and an optional comment."""

    __tablename__ = "postmortem_review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortem.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # A ReviewAction value (created, edited, submitted, approved, changes_requested, published).
    action: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class FollowUpAction(TimestampMixin, Base):
    """Something that must change so the incident does not happen again, with an owner."""

    __tablename__ = "followup_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortem.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    due_on: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[ActionPriority] = mapped_column(String(16), default=ActionPriority.MEDIUM)
    tracker_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[ActionStatus] = mapped_column(String(16), default=ActionStatus.OPEN, index=True)
    # Why it will not be done (required for won't do).
    status_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The due date the owner was last reminded of: one reminder per action per due date.
    reminded_for: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    postmortem: Mapped[Postmortem] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES
