"""Work to start once the current transaction commits (never before: a rolled-back publish
must not send anything). Services note it here; the jobs layer listens and enqueues."""

from __future__ import annotations

from ..extensions import db

PENDING_KEY = "herald_delivery_batches"


def after_commit(message_id: int, channel_id: int) -> None:
    """Ask for a delivery batch to be started after the current transaction commits."""
    db.session.info.setdefault(PENDING_KEY, set()).add((message_id, channel_id))
