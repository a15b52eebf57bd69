"""Building feedback rows directly, for the digest and forwarding tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    FeedbackDigest,
    FeedbackKind,
    FeedbackReport,
    FeedbackSource,
    TriageState,
    utcnow,
)


def add_reports(incident, ages_in_minutes: Iterable[float], body: str = "It is down") -> None:
    """One status-page report linked to `incident` per age (minutes ago), all saying `body`."""
    now = utcnow()
    for age in ages_in_minutes:
        db.session.add(_affected(incident, body, now - timedelta(minutes=age)))
    db.session.commit()


def add_quotes(incident, bodies: Iterable[str]) -> None:
    """One report linked to `incident` per text, each half a minute old."""
    at = utcnow() - timedelta(seconds=30)
    for body in bodies:
        db.session.add(_affected(incident, body, at))
    db.session.commit()


def digests() -> list[FeedbackDigest]:
    """Every digest, oldest first, as the database has them now."""
    db.session.expire_all()
    return list(db.session.scalars(select(FeedbackDigest).order_by(FeedbackDigest.id)))


def _affected(incident, body: str, at) -> FeedbackReport:
    return FeedbackReport(
        source=FeedbackSource.STATUS_PAGE,
        kind=FeedbackKind.AFFECTED,
        state=TriageState.LINKED,
        incident_id=incident.id,
        body=body,
        created_at=at,
        updated_at=at,
    )
