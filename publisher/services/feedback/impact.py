"""The customer impact of one incident, counted with SQL aggregates over its linked reports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ...extensions import db
from ...models import Component, FeedbackReport, TriageState

# Reports that count: linked to the incident, saying "affected", not dismissed.
UNCOUNTED_STATES = (TriageState.DISMISSED,)


@dataclass(frozen=True)
class CustomerImpact:
    total: int
    by_component: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_region: list[tuple[str, int]]
    want_updates: int


def counted(incident_id: int):
    """The WHERE clause of the reports that count for an incident."""
    return (
        FeedbackReport.incident_id == incident_id,
        FeedbackReport.affected.is_(True),
        FeedbackReport.state.not_in(UNCOUNTED_STATES),
    )


def customer_impact(incident_id: int) -> CustomerImpact:
    """How many customers reported being affected, broken down, and how many want to hear back.

    Components and regions a report did not name are counted under "" (unknown);
    `want_updates` counts reports whose author consented and left a way to reach them.
    """
    where = counted(incident_id)
    total = db.session.scalar(select(func.count(FeedbackReport.id)).where(*where)) or 0
    return CustomerImpact(
        total=total,
        by_component=_grouped(func.coalesce(Component.name, ""), where, join_component=True),
        by_source=_grouped(FeedbackReport.source, where),
        by_region=_grouped(func.coalesce(FeedbackReport.region, ""), where),
        want_updates=_want_updates(where),
    )


def _grouped(column, where, *, join_component: bool = False) -> list[tuple[str, int]]:
    count = func.count(FeedbackReport.id)
    query = select(column, count).select_from(FeedbackReport)
    if join_component:
        query = query.outerjoin(Component, FeedbackReport.component_id == Component.id)
    rows = db.session.execute(
        query.where(*where).group_by(column).order_by(count.desc(), column)
    ).all()
    return [(str(key), int(n)) for key, n in rows]


def _want_updates(where) -> int:
    reachable = (FeedbackReport.contact_email.is_not(None)) | (
        FeedbackReport.external_id.is_not(None)
    )
    return (
        db.session.scalar(
            select(func.count(FeedbackReport.id)).where(
                *where,
                FeedbackReport.wants_updates.is_(True),
                FeedbackReport.erased_at.is_(None),
                reachable,
            )
        )
        or 0
    )
