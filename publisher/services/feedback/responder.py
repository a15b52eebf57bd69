"""The responders' picture of one incident: reports over time, breakdowns, latest quotes,
and the latest approved public wording for support agents to give customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ...extensions import db
from ...models import (
    Audience,
    FeedbackReport,
    Incident,
    IncidentFeedback,
    Message,
    MessageState,
    Outlet,
    utcnow,
)
from .impact import CustomerImpact, counted, customer_impact

# Bucket widths tried in turn until the incident's span fits in MAX_BUCKETS bars.
BUCKET_WIDTHS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 180, 360, 720, 1440, 10080))
MAX_BUCKETS = 48
QUOTES = 8


@dataclass(frozen=True)
class Bucket:
    start: datetime
    count: int


@dataclass(frozen=True)
class Chart:
    buckets: list[Bucket]
    width: timedelta
    peak: int


@dataclass(frozen=True)
class Wording:
    """What to tell customers: the latest published public update, as approved."""

    text: str
    status: str
    published_at: datetime
    message_public_id: str


@dataclass(frozen=True)
class ResponderView:
    incident: Incident
    impact: CustomerImpact
    chart: Chart
    quotes: list[FeedbackReport]
    wording: Wording | None
    settings: IncidentFeedback | None


def responder_view(incident: Incident, now: datetime | None = None) -> ResponderView:
    return ResponderView(
        incident=incident,
        impact=customer_impact(incident.id),
        chart=report_chart(incident, now or utcnow()),
        quotes=latest_quotes(incident.id),
        wording=what_to_tell_customers(incident.id),
        settings=db.session.get(IncidentFeedback, incident.id),
    )


def report_chart(incident: Incident, now: datetime) -> Chart:
    """Counts of reports per time bucket from the incident's start to its end (or now)."""
    times = db.session.scalars(select(FeedbackReport.created_at).where(*counted(incident.id))).all()
    start = min([incident.started_at, *times])
    end = max([incident.resolved_at or now, *times])
    width = next((w for w in BUCKET_WIDTHS if (end - start) / w < MAX_BUCKETS), BUCKET_WIDTHS[-1])
    size = int((end - start) / width) + 1
    counts = [0] * min(size, MAX_BUCKETS)
    for at in times:
        counts[min(int((at - start) / width), len(counts) - 1)] += 1
    buckets = [Bucket(start + width * i, n) for i, n in enumerate(counts)]
    return Chart(buckets=buckets, width=width, peak=max(counts, default=0))


def latest_quotes(incident_id: int, limit: int = QUOTES) -> list[FeedbackReport]:
    return list(
        db.session.scalars(
            select(FeedbackReport)
            .where(*counted(incident_id), FeedbackReport.body != "")
            .order_by(FeedbackReport.id.desc())
            .limit(limit)
        )
    )


def what_to_tell_customers(incident_id: int) -> Wording | None:
    """The latest published public update that is still current (not replaced by a revision)."""
    message = db.session.scalar(
        select(Message)
        .where(
            Message.incident_id == incident_id,
            Message.audience == Audience.PUBLIC,
            Message.state == MessageState.PUBLISHED,
            Message.superseded_at.is_(None),
        )
        .order_by(Message.published_at.desc(), Message.id.desc())
        .limit(1)
    )
    if message is None:
        return None
    page_text = next(
        (v.text for v in message.variants if v.outlet == Outlet.STATUS_PAGE and v.text), None
    )
    return Wording(
        text=page_text or message.body,
        status=message.incident_status,
        published_at=message.published_at,
        message_public_id=message.public_id,
    )
