"""Near-duplicate reports: same component and incident, similar words, minutes apart.

A new report joins the group of the most recent similar report in the window
(the group is named by its first report). Two reports are similar when their
word sets overlap by at least SIMILARITY (Jaccard), or both say nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ...extensions import db
from ...models import FeedbackReport, TriageState
from .text import words

WINDOW = timedelta(minutes=15)
SIMILARITY = 0.5
CANDIDATES = 200


def similar(a: str, b: str) -> bool:
    left, right = words(a), words(b)
    if not left and not right:
        return True
    if not left or not right:
        return False
    return len(left & right) / len(left | right) >= SIMILARITY


def group_for(report: FeedbackReport) -> int | None:
    """The id naming the group `report` belongs to, or None when it starts its own."""
    since = report.created_at - WINDOW
    candidates = db.session.execute(
        select(FeedbackReport.id, FeedbackReport.group_id, FeedbackReport.body)
        .where(
            FeedbackReport.created_at >= since,
            FeedbackReport.component_id.is_(None)
            if report.component_id is None
            else FeedbackReport.component_id == report.component_id,
            FeedbackReport.incident_id.is_(None)
            if report.incident_id is None
            else FeedbackReport.incident_id == report.incident_id,
            FeedbackReport.state != TriageState.DISMISSED,
            FeedbackReport.affected.is_(True),
            FeedbackReport.id != report.id,
        )
        .order_by(FeedbackReport.id.desc())
        .limit(CANDIDATES)
    ).all()
    for other_id, other_group, body in candidates:
        if similar(report.body, body or ""):
            return other_group or other_id
    return None
