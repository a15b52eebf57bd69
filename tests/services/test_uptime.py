from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from publisher.models import ComponentStatus as S
from publisher.services.uptime import Transition, component_runs, runs_uptime, uptime_window

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Day(NamedTuple):
    day: date
    uptime: float | None
    worst: S


def daily_uptime(transitions, current, now, days, zone, since=None) -> list[Day]:
    """Each of the last `days` days as the page's runs tell it, oldest first."""
    runs = component_runs(transitions, current, uptime_window(now, days, zone), since)
    return [
        Day(run.first + timedelta(n), run.uptime, run.worst)
        for run in runs
        for n in range(run.length)
    ]


def test_a_component_without_changes_is_fully_up_every_day():
    days = daily_uptime([], S.OPERATIONAL, NOW, 90, UTC_ZONE)
    assert len(days) == 90
    assert all(d.uptime == 100.0 for d in days)
    assert days[-1].day == NOW.date()


def test_a_major_outage_counts_fully_and_a_partial_outage_thirty_percent():
    day = NOW - timedelta(days=2)
    start = day.replace(hour=6)
    changes = [
        Transition(start, S.OPERATIONAL, S.MAJOR_OUTAGE),
        Transition(start + timedelta(hours=2.4), S.MAJOR_OUTAGE, S.PARTIAL_OUTAGE),
        Transition(start + timedelta(hours=4.8), S.PARTIAL_OUTAGE, S.OPERATIONAL),
    ]
    days = daily_uptime(changes, S.OPERATIONAL, NOW, 5, UTC_ZONE)
    target = next(d for d in days if d.day == day.date())
    # 2.4h fully down + 2.4h at 30% = 3.12h of 24h = 13% down.
    assert target.uptime == 87.0
    assert target.worst == S.MAJOR_OUTAGE


def test_degraded_performance_and_maintenance_do_not_count_as_downtime():
    start = NOW - timedelta(days=1, hours=3)
    changes = [
        Transition(start, S.OPERATIONAL, S.DEGRADED_PERFORMANCE),
        Transition(start + timedelta(hours=1), S.DEGRADED_PERFORMANCE, S.UNDER_MAINTENANCE),
        Transition(start + timedelta(hours=2), S.UNDER_MAINTENANCE, S.OPERATIONAL),
    ]
    days = daily_uptime(changes, S.OPERATIONAL, NOW, 3, UTC_ZONE)
    assert all(d.uptime == 100.0 for d in days)
    assert days[1].worst == S.DEGRADED_PERFORMANCE


def test_an_outage_still_going_counts_until_now():
    changes = [Transition(NOW - timedelta(hours=6), S.OPERATIONAL, S.MAJOR_OUTAGE)]
    days = daily_uptime(changes, S.MAJOR_OUTAGE, NOW, 1, UTC_ZONE)
    assert days[0].uptime == 50.0  # 6 of the 12 hours so far today


def test_days_before_the_component_existed_have_no_data():
    since = NOW - timedelta(days=3)
    days = daily_uptime([], S.OPERATIONAL, NOW, 10, UTC_ZONE, since=since)
    assert [d.uptime is not None for d in days] == [False] * 6 + [True] * 4
    runs = component_runs([], S.OPERATIONAL, uptime_window(NOW, 10, UTC_ZONE), since)
    assert runs_uptime(runs) == 100.0


def test_days_follow_the_page_time_zone():
    zone = ZoneInfo("Pacific/Auckland")  # already 30 November there
    days = daily_uptime([], S.OPERATIONAL, NOW, 2, zone)
    assert days[-1].day.isoformat() == "2026-11-30"


@given(
    st.lists(
        st.tuples(st.integers(1, 90 * 24 * 60), st.sampled_from(list(S))),
        max_size=30,
    )
)
def test_uptime_is_always_between_zero_and_one_hundred(raw):
    minutes = sorted({m for m, _ in raw}, reverse=True)
    statuses = [s for _, s in raw][: len(minutes)]
    changes, previous = [], S.OPERATIONAL
    for minute, status in zip(minutes, statuses, strict=False):
        changes.append(Transition(NOW - timedelta(minutes=minute), previous, status))
        previous = status
    for day in daily_uptime(changes, previous, NOW, 90, UTC_ZONE):
        assert day.uptime is None or 0.0 <= day.uptime <= 100.0
