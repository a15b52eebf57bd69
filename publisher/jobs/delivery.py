"""Delivery jobs: send a (message, channel) batch; the sweeper re-enqueues what was lost."""

from __future__ import annotations

import logging

from flask import current_app
from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..models import utcnow
from ..services import delivery
from ..services.dispatch import PENDING_KEY
from .queue import huey, with_app_context

log = logging.getLogger(__name__)


@huey.task()
@with_app_context
def deliver_batch(message_id: int, channel_id: int) -> None:
    """Send every due row of one (message, channel); reschedule itself for retries."""
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    while delivery.run_batch(message_id, channel_id, size).claimed:
        pass


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def sweep_deliveries() -> None:
    """Expire stuck leases and re-enqueue due rows whose job was lost or is waiting to retry."""
    now = utcnow()
    expired = delivery.expire_leases(now)
    batches = delivery.due_batches(now)
    for message_id, channel_id in batches:
        deliver_batch(message_id, channel_id)
    if expired or batches:
        log.info("sweeper: %d leases expired, %d batches enqueued", expired, len(batches))


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    batches = session.info.pop(PENDING_KEY, None)
    if not batches or not current_app.config.get("DELIVERY_AUTOSTART", True):
        return
    try:
        for (message_id, channel_id), jobs in sorted(batches.items()):
            for _job in range(jobs):
                deliver_batch(message_id, channel_id)
    except Exception:  # the queue (Redis) is down: the rows are saved, the sweeper starts them
        log.exception("could not enqueue deliveries; the sweeper will start them")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
