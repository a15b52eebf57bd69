"""The page's version: bumped by any change visitors can see, it keys every cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, event, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, PublicMixin, new_public_id, utcnow
from .enums import Audience, MessageState
from .incident import Message, MessageComponentChange
from .postmortem import Postmortem, postmortem_touches_public

PAGE_STATE_ID = 1


class PageState(Base):
    """A single row; version and updated_at drive ETag, Last-Modified and caches."""

    __tablename__ = "page_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The page id of Statuspage's API (`page.id`), stable for the life of the instance.
    page_id: Mapped[str] = mapped_column(String(16), default=new_public_id)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def _message_touches_public(message: Message) -> bool:
    was_published = MessageState.PUBLISHED in inspect(message).attrs.state.history.deleted
    is_published = message.state == MessageState.PUBLISHED
    return message.audience == Audience.PUBLIC and (is_published or was_published)


def _touches_public(obj: object) -> bool:
    if isinstance(obj, PublicMixin):
        return True
    if isinstance(obj, Message):
        return _message_touches_public(obj)
    if isinstance(obj, MessageComponentChange):
        return obj.message is not None and _message_touches_public(obj.message)
    if isinstance(obj, Postmortem):
        return postmortem_touches_public(obj)
    return False


def bump_page_version(session: Session) -> None:
    session.execute(
        update(PageState)
        .where(PageState.id == PAGE_STATE_ID)
        .values(version=PageState.version + 1, updated_at=utcnow())
    )


@event.listens_for(Session, "before_flush")
def _bump_on_public_change(session: Session, flush_context, instances) -> None:
    dirty = (obj for obj in session.dirty if session.is_modified(obj))
    changed = (*session.new, *session.deleted, *dirty)
    if any(_touches_public(obj) for obj in changed):
        bump_page_version(session)


@event.listens_for(PageState.__table__, "after_create")
def _insert_page_state_row(target, connection, **kw) -> None:
    connection.execute(
        target.insert().values(
            id=PAGE_STATE_ID, page_id=new_public_id(), version=1, updated_at=utcnow()
        )
    )
