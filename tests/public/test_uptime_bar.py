"""The uptime bars of `/`: runs of alike days, every day still named, cost that grows gently."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import groupby, pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.extensions import db
from publisher.models import ComponentStatus as S
from publisher.models import ComponentStatusChange, utcnow
from publisher.services.uptime import (
    NARROW_DAYS,
    Transition,
    UptimeRun,
    UptimeWindow,
    component_runs,
    runs_uptime,
    uptime_window,
)

NOW = datetime(2026, 3, 29, 12, 30, tzinfo=UTC)  # Warsaw moves its clocks that night
RUN = re.compile(
    r'<li class="(day[^"]*)" tabindex="(-?\d)"><span class="tip"><strong>(.*?)</strong>'
)


def bars(client, path: str = "/", **kwargs) -> list[str]:
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.findall(r'<ol class="uptime__bar".*?</ol>', html, re.S)


def runs_of(bar: str) -> list[dict]:
    """Each run of a bar: its classes, whether it is the Tab stop, its days and its dates."""
    runs = []
    for classes, tabindex, label in RUN.findall(bar):
        span = re.search(r"\bdays-(\d+)\b", classes)
        dates = [datetime.strptime(d, "%b %d, %Y").date() for d in label.split(" \N{EN DASH} ")]
        runs.append(
            {
                "classes": classes.split(),
                "tab_stop": tabindex == "0",
                "days": int(span.group(1)) if span else 1,
                "first": dates[0],
                "last": dates[-1],
            }
        )
    return runs


def add_outage(component, began: datetime, hours: float) -> None:
    back = began + timedelta(hours=hours)
    db.session.add_all(
        [
            ComponentStatusChange(
                component_id=component.id,
                changed_at=began,
                from_status=S.OPERATIONAL,
                to_status=S.MAJOR_OUTAGE,
            ),
            ComponentStatusChange(
                component_id=component.id,
                changed_at=back,
                from_status=S.MAJOR_OUTAGE,
                to_status=S.OPERATIONAL,
            ),
        ]
    )
    db.session.commit()


# ---------------------------------------------------------------- runs (pure)


def test_alike_days_make_one_run_and_no_run_crosses_the_narrow_screen_line():
    window = uptime_window(NOW, 90, ZoneInfo("UTC"))
    runs = component_runs([], S.OPERATIONAL, window)
    assert [(r.start, r.length, r.recent) for r in runs] == [(0, 60, False), (60, 30, True)]
    assert runs[0].first == window.days[0][0] and runs[-1].last == NOW.date()


def test_a_day_with_an_incident_or_an_outage_is_a_run_of_its_own():
    changes = [
        Transition(NOW - timedelta(days=3, hours=2), S.OPERATIONAL, S.MAJOR_OUTAGE),
        Transition(NOW - timedelta(days=3, hours=1), S.MAJOR_OUTAGE, S.OPERATIONAL),
    ]
    window = uptime_window(NOW, 90, ZoneInfo("UTC"))
    incident_day = NOW.date() - timedelta(days=10)
    runs = component_runs(
        changes, S.OPERATIONAL, window, incidents={incident_day: [("abc", "Slow API")]}
    )
    single = [r for r in runs if r.length == 1]
    assert [(r.first, r.incidents) for r in single] == [
        (incident_day, (("abc", "Slow API"),)),
        (NOW.date() - timedelta(days=3), ()),
    ]
    assert single[1].worst == S.MAJOR_OUTAGE and single[1].uptime < 100
    assert sum(r.length for r in runs) == 90


def each_day_on_its_own(transitions, current, window, since, incidents) -> list[UptimeRun]:
    """The reference: every day of the window computed alone, as a window of that one day."""
    return [
        component_runs(transitions, current, UptimeWindow((day,)), since, incidents)[0]
        for day in window.days
    ]


def joined(days: list[UptimeRun], narrow_days: int) -> list[UptimeRun]:
    """Alike neighbouring days joined into runs, none crossing into the last `narrow_days`."""
    recent_from = len(days) - narrow_days

    def reads(item):
        n, day = item
        return day.uptime, day.worst, day.incidents, n >= recent_from

    runs = []
    for (uptime, worst, incidents, recent), group in groupby(enumerate(days), reads):
        (start, first), *rest = group
        last = rest[-1][1] if rest else first
        length = len(rest) + 1
        runs.append(
            UptimeRun(first.first, last.first, start, length, uptime, worst, incidents, recent)
        )
    return runs


statuses = st.sampled_from(list(S))


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(["UTC", "Europe/Warsaw", "Pacific/Auckland", "America/New_York"]),
    days=st.sampled_from([1, 2, 31, 90]),
    first=statuses,
    changes=st.lists(st.tuples(st.integers(-300, 91 * 1440), statuses), max_size=8),
    since_hours=st.none() | st.integers(-48, 95 * 24),
    incident_days=st.lists(st.integers(-3, 92), max_size=5),
    narrow=st.sampled_from([NARROW_DAYS, 2, 200]),
)
def test_runs_from_the_changes_alone_equal_the_runs_of_every_day(
    zone, days, first, changes, since_hours, incident_days, narrow
):
    """The page computes only the days where something changed; that must change nothing."""
    transitions, before = [], first
    for minutes, status in sorted(set(changes), key=lambda c: -c[0]):
        transitions.append(Transition(NOW - timedelta(minutes=minutes), before, status))
        before = status
    since = None if since_hours is None else NOW - timedelta(hours=since_hours)
    window = uptime_window(NOW, days, ZoneInfo(zone))
    start = window.days[0][0]
    incidents = {start + timedelta(n): [("id", f"incident {n}")] for n in incident_days}
    every_day = each_day_on_its_own(transitions, before, window, since, incidents)
    runs = component_runs(transitions, before, window, since, incidents, narrow)
    assert runs == joined(every_day, narrow)
    known = [day.uptime for day in every_day if day.uptime is not None]
    overall = runs_uptime(runs)
    assert (overall is None) == (not known)
    assert overall is None or abs(overall - sum(known) / len(known)) < 1e-9


# ---------------------------------------------------------------- the page


def test_every_day_of_the_window_is_named_by_exactly_one_run(client, make):
    api = make.component("API", created_at=utcnow() - timedelta(days=40))
    add_outage(api, utcnow() - timedelta(days=5), 2)
    make.incident("Slow API", components=[api], started_at=utcnow() - timedelta(days=20))
    (bar,) = bars(client)
    runs = runs_of(bar)
    assert sum(r["days"] for r in runs) == 90
    for run in runs:
        assert (run["last"] - run["first"]).days == run["days"] - 1
    for earlier, later in pairwise(runs):
        assert later["first"] == earlier["last"] + timedelta(days=1)
    assert [r["tab_stop"] for r in runs] == [False] * (len(runs) - 1) + [True]
    assert runs[-1]["last"] == datetime.now(UTC).date()  # the page's zone is UTC here


def test_each_run_says_its_uptime_or_that_it_has_no_data_in_words(client, make):
    api = make.component("API", created_at=utcnow() - timedelta(days=40))
    add_outage(api, utcnow() - timedelta(days=5), 2)
    (bar,) = bars(client)
    items = re.findall(r"<li .*?</li>", bar)
    assert len(items) >= 4
    for item in items:
        text = re.sub(r"<[^>]+>", " ", item)
        assert "uptime" in text or "No data for these days." in text, text
    outage = next(i for i in items if "day--major_outage" in i)
    assert "Major outage" in outage


def test_tooltips_open_inward_at_both_ends_and_old_runs_hide_on_narrow_screens(client, make):
    api = make.component("API", created_at=utcnow() - timedelta(days=85))
    add_outage(api, utcnow() - timedelta(days=1), 1)
    runs = runs_of(bars(client)[0])
    near_start = [r for r in runs if "day--tip-start" in r["classes"]]
    near_end = [r for r in runs if "day--tip-end" in r["classes"]]
    assert near_start == runs[:1] and "day--none" in runs[0]["classes"]
    assert near_end == runs[-2:] and "day--major_outage" in runs[-2]["classes"]
    assert sum(r["days"] for r in runs if "day--older" not in r["classes"]) == NARROW_DAYS


def test_a_component_that_is_not_showcased_draws_no_bar(client, make):
    make.component("API")
    make.component("Internal queue", position=1, showcase=False)
    html = client.get("/").get_data(as_text=True)
    assert "Internal queue" in html
    assert len(bars(client)) == 1 and 'aria-label="Daily uptime of API"' in html


def test_a_bar_in_polish_names_days_without_data_in_polish(client, make):
    make.component("API", created_at=utcnow() - timedelta(days=10))
    (bar,) = bars(client, headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "Brak danych dla tych dni." in bar and "No data" not in bar


def test_the_page_grows_by_under_two_kilobytes_per_quiet_component(client, make):
    """A quiet bar is a few runs, not 90 days with a tooltip each (17 KB before)."""
    make.many_components(10)
    few = len(client.get("/").data)
    make.many_components(100, first_position=1000)
    many = len(client.get("/").data)
    assert (many - few) / 100 < 2000


def test_the_page_costs_the_same_queries_for_10_or_50_components_with_outages_and_incidents(
    client, make, uncached_queries
):
    """Each component's changes and incidents come from the page's two uptime queries."""

    def busy(count: int, first_position: int) -> None:
        for component in make.many_components(count, first_position=first_position):
            add_outage(component, utcnow() - timedelta(days=3), 2)
            make.incident(f"Slow {component.name}", components=[component])

    busy(10, 100)
    few = uncached_queries("/")
    busy(40, 1000)
    assert uncached_queries("/") == few
    assert sum("day--major_outage" in bar for bar in bars(client)) == 50
