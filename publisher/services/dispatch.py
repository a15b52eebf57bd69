"""Work to start once the current transaction commits (never before: a rolled-back publish
must not send anything). Services note it here; the jobs layer listens and enqueues."""

from __future__ import annotations

from flask import current_app

from ..extensions import db

PENDING_KEY = "herald_delivery_batches"


def after_commit(message_id: int, channel_id: int, rows: int = 1) -> None:
    """Ask for delivery of (message, channel) to start after the current transaction commits;
    a large fan-out gets several jobs at once (claims are atomic, so they share the rows)."""
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    jobs = min(current_app.config["DELIVERY_PARALLEL"], max(1, -(-rows // size)))
    pending = db.session.info.setdefault(PENDING_KEY, {})
    pending[(message_id, channel_id)] = max(jobs, pending.get((message_id, channel_id), 1))
