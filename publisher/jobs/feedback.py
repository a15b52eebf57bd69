"""Feedback jobs: responder digests (cadence, surge, forwarded), closing the loop at
resolution, and pulling social mentions."""

from __future__ import annotations

import logging

from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..models import utcnow
from ..services.feedback import forwarding, loop, mentions
from .queue import huey, with_app_context

log = logging.getLogger(__name__)


@huey.task()
@with_app_context
def send_digest(digest_id: int) -> None:
    forwarding.send_digest(digest_id)


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def feedback_tick() -> None:
    """Surge and cadence digests, retries of digests, and the loop for resolved incidents."""
    now = utcnow()
    made = forwarding.run_due(now)  # enqueued by the after-commit hook below
    for digest_id in forwarding.retry_due(now):
        forwarding.send_digest(digest_id)
    noticed = loop.close_loops()
    sent = loop.send_due(now)
    if made or noticed or sent:
        log.info("feedback: %d digests, %d notices written, %d sent", len(made), len(noticed), sent)


@huey.periodic_task(crontab(minute="*/2"))
@with_app_context
def pull_mentions() -> None:
    """Mentions and replies addressed to the organisation's X, Mastodon and Bluesky accounts."""
    stored = mentions.poll_all()
    if stored:
        log.info("feedback: %d new mentions stored", stored)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    for digest_id in sorted(session.info.pop(forwarding.DIGESTS_KEY, ())):
        send_digest(digest_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(forwarding.DIGESTS_KEY, None)
