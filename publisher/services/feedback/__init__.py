"""Customer feedback: intake, triage, the responders' picture, digests, closing the loop,
social mentions. See the README section "Customer feedback"."""

from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import FeedbackReport, IncidentFeedback
from .impact import CustomerImpact, counted, customer_impact


def public_count(incident_id: int) -> int | None:
    """How many people reported being affected, if the incident manager shows it publicly."""
    settings = db.session.get(IncidentFeedback, incident_id)
    if settings is None or not settings.show_public_count:
        return None
    return db.session.scalar(select(func.count(FeedbackReport.id)).where(*counted(incident_id)))


__all__ = ["CustomerImpact", "customer_impact", "public_count"]
