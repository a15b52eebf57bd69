"""Re-export the static site (EXPORT_DIR) after every public change, coalesced.

A change visitors can see bumps the page version (models/page.py); after that
transaction commits, one export job is enqueued. Jobs coalesce: one export runs
at a time (a lock in the queue's storage, shared by every worker), a job that
finds it held leaves a "pending" mark for the running export to pick up, and a
job whose version is already exported does nothing. Fifty publishes during one
export cost one more export, not fifty.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app, has_app_context
from huey.exceptions import TaskLockedException
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from ..models import PageState
from ..services import export
from ..services.public import page_state
from .queue import huey, with_app_context

log = logging.getLogger(__name__)

CHANGED_KEY = "herald_public_changed"
LOCK_NAME = "herald-static-export"
PENDING_KEY = "herald-static-export-pending"


@huey.task()
@with_app_context
def export_site() -> None:
    """Bring EXPORT_DIR up to the current page version (at most one export at a time)."""
    target = current_app.config.get("EXPORT_DIR")
    if not target:
        return
    while True:
        try:
            with huey.lock_task(LOCK_NAME):
                _export_until_current(Path(target))
        except TaskLockedException:
            huey.put(PENDING_KEY, True)  # the running export will look again
            return
        if huey.get(PENDING_KEY) is None:  # read and cleared: nobody asked meanwhile
            return


def _export_until_current(target: Path) -> None:
    huey.get(PENDING_KEY)  # this pass covers whatever was asked before it
    version = page_state().version
    if export.exported_version(target) == version:
        return
    result = export.export_static(current_app._get_current_object(), target)
    log.info(
        "exported %d files (version %d) in %.1f s", result.files, result.version, result.seconds
    )


@event.listens_for(Session, "do_orm_execute")
def _note_version_bump(state: ORMExecuteState) -> None:
    """The page version is bumped with an UPDATE of page_state: remember it until commit."""
    if state.is_update and PageState in {m.class_ for m in state.all_mappers}:
        state.session.info[CHANGED_KEY] = True


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    if not session.info.pop(CHANGED_KEY, False):
        return
    if not has_app_context() or not current_app.config.get("EXPORT_DIR"):
        return
    try:
        export_site()
    except Exception:  # the queue is down: the next public change exports again
        log.exception("could not enqueue the static export")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED_KEY, None)
