"""Daily uptime from a component's status history (pure functions, no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import ComponentStatus

# Statuspage's rule: a major outage is fully down, a partial outage counts 30%;
# degraded performance and maintenance do not count against uptime.
DOWNTIME_WEIGHT = {
    ComponentStatus.MAJOR_OUTAGE: 1.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
}
SEVERITY = [
    ComponentStatus.OPERATIONAL,
    ComponentStatus.UNDER_MAINTENANCE,
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
]


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_status: ComponentStatus | None
    to_status: ComponentStatus


@dataclass
class DayUptime:
    day: date
    # None for days before the component existed or in the future.
    uptime: float | None
    worst: ComponentStatus = ComponentStatus.OPERATIONAL
    seconds_by_status: dict[ComponentStatus, float] = field(default_factory=dict)
    incidents: list = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.uptime is not None


def worst_status(statuses) -> ComponentStatus:
    return max(
        (ComponentStatus(s) for s in statuses),
        key=SEVERITY.index,
        default=ComponentStatus.OPERATIONAL,
    )


def daily_uptime(
    transitions: Sequence[Transition],
    current: ComponentStatus,
    now: datetime,
    days: int,
    zone: ZoneInfo,
    since: datetime | None = None,
) -> list[DayUptime]:
    """Uptime for each of the last `days` local days, oldest first.

    `transitions` are the changes inside the window, in time order; the status
    before the first one is its from_status (or `current` when there are none).
    """
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    window_start = _local_midnight(first_day, zone)
    segments = _segments(transitions, current, window_start, now)
    return [_day(first_day + timedelta(n), segments, now, zone, since) for n in range(days)]


def overall_uptime(days: Sequence[DayUptime]) -> float | None:
    known = [d.uptime for d in days if d.uptime is not None]
    return sum(known) / len(known) if known else None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _segments(transitions, current, window_start, now):
    """(start, end, status) spans covering window_start..now."""
    status = (
        ComponentStatus(transitions[0].from_status or transitions[0].to_status)
        if transitions
        else ComponentStatus(current)
    )
    spans, start = [], window_start
    for change in transitions:
        at = max(change.at, window_start)
        if at > start:
            spans.append((start, at, status))
        start, status = at, ComponentStatus(change.to_status)
    if now > start:
        spans.append((start, now, status))
    return spans


def _day(day, segments, now, zone, since) -> DayUptime:
    begin = _local_midnight(day, zone)
    end = min(_local_midnight(day + timedelta(days=1), zone), now)
    if since is not None:
        begin = max(begin, since)
    if end <= begin:
        return DayUptime(day=day, uptime=None)
    seconds: dict[ComponentStatus, float] = {}
    for start, stop, status in segments:
        overlap = (min(stop, end) - max(start, begin)).total_seconds()
        if overlap > 0:
            seconds[status] = seconds.get(status, 0.0) + overlap
    total = (end - begin).total_seconds()
    down = sum(DOWNTIME_WEIGHT.get(s, 0.0) * secs for s, secs in seconds.items())
    return DayUptime(
        day=day,
        uptime=round(100.0 * (1 - down / total), 2),
        worst=worst_status(seconds),
        seconds_by_status=seconds,
    )
