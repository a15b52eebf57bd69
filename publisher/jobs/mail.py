"""Mail jobs: the subscription confirmation, enqueued once the subscribe request commits."""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..channels import ChannelError, TransientChannelError
from ..services import subscriptions
from .queue import huey, with_app_context

log = logging.getLogger(__name__)


@huey.task(retries=5, retry_delay=60)
@with_app_context
def send_confirmation(subscriber_id: int) -> None:
    """Mail one confirmation link; a transient SMTP failure is retried by the queue."""
    try:
        subscriptions.send_confirmation(subscriber_id)
    except TransientChannelError:
        raise
    except ChannelError as error:  # refused for good, or maybe sent: never mail twice
        log.warning("confirmation mail for subscriber %s not sent: %s", subscriber_id, error)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    for subscriber_id in sorted(session.info.pop(subscriptions.CONFIRMATIONS_KEY, ())):
        try:
            send_confirmation(subscriber_id)
        except Exception:  # the queue (Redis) is down: subscribing again re-sends it
            log.exception("could not enqueue the confirmation for subscriber %s", subscriber_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(subscriptions.CONFIRMATIONS_KEY, None)
