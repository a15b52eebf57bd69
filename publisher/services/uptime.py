"""Daily uptime from a component's status history (pure functions, no database)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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
# The uptime of a day spent wholly in one status.
STEADY_UPTIME = {s: round(100.0 * (1 - DOWNTIME_WEIGHT.get(s, 0.0)), 2) for s in ComponentStatus}
# A narrow screen shows only the last this many days of a bar: no run crosses that line.
NARROW_DAYS = 30


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_status: ComponentStatus | None
    to_status: ComponentStatus


@dataclass
class DayUptime:
    """One day as the bar reads it; `component_runs` joins alike days into runs."""

    day: date
    # None for days before the component existed or in the future.
    uptime: float | None
    worst: ComponentStatus = ComponentStatus.OPERATIONAL
    incidents: list = field(default_factory=list)


@dataclass(frozen=True)
class UptimeRun:
    """Consecutive days that read the same (uptime, worst status, incidents): one bar element.

    `start` is the index of its first day in the window (0 = oldest) and `length` its
    number of days; `recent` says it lies in the last NARROW_DAYS days.
    """

    first: date
    last: date
    start: int
    length: int
    uptime: float | None
    worst: ComponentStatus
    incidents: tuple[tuple[str, str], ...]
    recent: bool

    @property
    def has_data(self) -> bool:
        return self.uptime is not None


@dataclass(frozen=True)
class UptimeWindow:
    """The local days of the uptime bars with their bounds: (day, begin, end), oldest first."""

    days: tuple[tuple[date, datetime, datetime], ...]

    @property
    def start(self) -> datetime:
        return self.days[0][1]

    @property
    def end(self) -> datetime:
        return self.days[-1][2]

    def index(self, moment: datetime) -> int:
        """The index of the day holding `moment` (-1 before the window)."""
        return bisect_right(self.days, moment, key=lambda d: d[1]) - 1


def uptime_window(now: datetime, days: int, zone: ZoneInfo) -> UptimeWindow:
    """The last `days` local days up to `now` (today ends now).

    Bounds are in UTC, like the database's times: comparing datetimes of one time zone
    is several times faster than across zones.
    """
    now = now.astimezone(UTC)
    first_day = now.astimezone(zone).date() - timedelta(days=days - 1)
    dates = [first_day + timedelta(n) for n in range(days + 1)]
    bounds = [_local_midnight(d, zone).astimezone(UTC) for d in dates]
    return UptimeWindow(tuple((dates[n], bounds[n], min(bounds[n + 1], now)) for n in range(days)))


def worst_status(statuses) -> ComponentStatus:
    return max(
        (ComponentStatus(s) for s in statuses),
        key=SEVERITY.index,
        default=ComponentStatus.OPERATIONAL,
    )


def component_runs(
    transitions: Sequence[Transition],
    current: ComponentStatus,
    window: UptimeWindow,
    since: datetime | None = None,
    incidents: Mapping[date, list] | None = None,
    narrow_days: int = NARROW_DAYS,
) -> list[UptimeRun]:
    """The component's days in the window, oldest first, as runs of alike consecutive days.

    `transitions` are the changes inside the window, in time order; the status before the
    first one is its from_status (or `current` when there are none). Most days of most
    components are alike (fully up, no incident), so a 90-day bar is usually a handful of
    runs; no run crosses into the last `narrow_days` days. A day can differ from the day
    before only where the component began, where its status changed, on and after an
    incident's days, and at the narrow-screen line; only those days are computed, so a
    component costs its changes, not its 90 days.
    """
    incidents = incidents or {}
    segments = _segments(transitions, current, window.start, window.end)
    starts = _change_days(window, segments, since, incidents, narrow_days)
    stretches = []
    for start, stop in zip(starts, [*starts[1:], len(window.days)], strict=True):
        day = _day_at(window, start, segments, since)
        day.incidents = incidents.get(day.day, [])
        stretches.append((start, stop - start, day))
    return _merge(stretches, len(window.days), narrow_days)


def runs_uptime(runs: Sequence[UptimeRun]) -> float | None:
    """The mean uptime of the days the runs stand for that have data."""
    known = [(r.uptime, r.length) for r in runs if r.uptime is not None]
    days = sum(length for _, length in known)
    return sum(uptime * length for uptime, length in known) / days if known else None


def _merge(stretches, count: int, narrow_days: int) -> list[UptimeRun]:
    """(start, length, day) stretches of alike days, oldest first, joined into runs."""
    recent_from = count - narrow_days
    merged: list[list] = []
    for start, length, day in stretches:
        if merged and start != recent_from and _alike(merged[-1][2], day):
            merged[-1][1] += length
        else:
            merged.append([start, length, day])
    return [_run(start, length, day, recent_from) for start, length, day in merged]


def _alike(one: DayUptime, other: DayUptime) -> bool:
    return (one.uptime, one.worst, one.incidents) == (other.uptime, other.worst, other.incidents)


def _run(start: int, length: int, day: DayUptime, recent_from: int) -> UptimeRun:
    return UptimeRun(
        first=day.day,
        last=day.day + timedelta(days=length - 1),
        start=start,
        length=length,
        uptime=day.uptime,
        worst=day.worst,
        incidents=tuple(day.incidents),
        recent=start >= recent_from,
    )


def _change_days(window, segments, since, incidents, narrow_days) -> list[int]:
    """Indexes of the days that may differ from the day before (always the first)."""
    count, first_day = len(window.days), window.days[0][0]
    marks = {0, count - narrow_days}
    if since is not None:
        marks.add(window.index(since))
    for start, _, _ in segments[1:]:
        changed = window.index(start)
        marks.update((changed, changed + 1))
    for day in incidents:
        listed = (day - first_day).days
        marks.update((listed, listed + 1))
    return sorted(m for m in marks if 0 <= m < count)


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


def _day_at(window, index, segments, since) -> DayUptime:
    day, begin, end = window.days[index]
    begin = begin if since is None else max(begin, since)
    if end <= begin:
        return DayUptime(day=day, uptime=None)
    # The first span still going at the day's start (spans are in time order).
    first = min(bisect_right(segments, begin, key=lambda s: s[1]), len(segments) - 1)
    return _day(day, begin, end, segments, first)


def _day(day, begin, end, segments, first) -> DayUptime:
    """The day [begin, end) from `segments[first:]`, the spans in time order."""
    start, stop, status = segments[first]
    if start <= begin and stop >= end:  # most days: one status all day
        return DayUptime(day, STEADY_UPTIME[status], status)
    seconds: dict[ComponentStatus, float] = {}
    for start, stop, status in segments[first:]:
        if start >= end:
            break
        overlap = (min(stop, end) - max(start, begin)).total_seconds()
        if overlap > 0:
            seconds[status] = seconds.get(status, 0.0) + overlap
    down = sum(DOWNTIME_WEIGHT.get(s, 0.0) * secs for s, secs in seconds.items())
    total = (end - begin).total_seconds()
    return DayUptime(day, round(100.0 * (1 - down / total), 2), worst_status(seconds))
