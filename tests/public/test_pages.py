"""The status page, incident pages and history as visitors see them, with and without data."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from markupsafe import escape

from publisher.extensions import db
from publisher.models import (
    Audience,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
    MessageState,
    utcnow,
)
from publisher.services import demo
from publisher.services.public import loaders
from publisher.services.updates import record_published_update

from ..corpus import lines

HOSTILE = lines("xss.txt")
BANNERS = [
    (ComponentStatus.OPERATIONAL, "ok", "All Systems Operational"),
    (ComponentStatus.DEGRADED_PERFORMANCE, "minor", "Minor Service Outage"),
    (ComponentStatus.PARTIAL_OUTAGE, "major", "Partial System Outage"),
    (ComponentStatus.MAJOR_OUTAGE, "critical", "Major System Outage"),
    (ComponentStatus.UNDER_MAINTENANCE, "maintenance", "Service Under Maintenance"),
]
HOSTILE_IDS = [
    "/incidents/doesnotexist",
    "/incidents/<script>alert(1)</script>",
    "/incidents/..%2f..%2fetc%2fpasswd",
    "/incidents/%00",
    "/incidents/' OR 1=1 --",
    "/incidents/" + "a" * 5000,
]
HOSTILE_PAGES = ["abc", "-1", "0", "999999999999", "1e3", "", "%00", "\uff11", "2;drop"]


@pytest.fixture
def demo_page(app):
    demo.load_demo(utcnow())


class Tags(HTMLParser):
    """Every start tag with its attributes, and the heading levels in order."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    @property
    def headings(self) -> list[int]:
        return [int(tag[1]) for tag, _ in self.tags if re.fullmatch(r"h[1-6]", tag)]


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


HERALD_FORM = re.compile(r"/language|/incidents/[A-Za-z0-9_-]+/affected")


def assert_no_injected_markup(html: str) -> None:
    for tag, attrs in Tags(html).tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert tag not in {"iframe", "style", "object", "embed", "math"}, tag
        # Herald's own forms only: the language switcher and "are you affected?".
        assert not (tag == "form" and not HERALD_FORM.fullmatch(attrs.get("action", ""))), attrs
        assert not (tag == "img" and not attrs.get("src", "").startswith("/static/")), attrs
        assert not (tag == "script" and "src" not in attrs), attrs
        assert not (tag == "meta" and "http-equiv" in attrs), attrs
        for name in ("href", "src", "action"):
            value = re.sub(r"\s", "", attrs.get(name, "")).lower()
            assert not value.startswith(("javascript:", "data:")), (tag, attrs)


def incident_path(incident: Incident) -> str:
    return f"/incidents/{incident.public_id}"


# ---------------------------------------------------------------- rendering


def test_pages_render_with_an_empty_database(client):
    html = page(client, "/")
    assert "All Systems Operational" in html
    assert "No components are listed yet." in html
    assert html.count("No incidents reported.") == 7
    assert "No incidents reported this month." in page(client, "/history")
    for path in ("/", "/history"):
        assert_no_injected_markup(page(client, path))


def test_every_public_page_renders_with_demo_data(client, demo_page):
    html = page(client, "/")
    assert "Core platform" in html and "Delivery" in html
    assert "Delayed webhook and email deliveries" in html
    assert "Database upgrade" in html
    for link in sorted(set(re.findall(r'href="(/incidents/[a-z0-9]+)"', html))):
        assert_no_injected_markup(page(client, link))
    assert "Dashboard unavailable" in page(client, "/history")


@pytest.mark.parametrize(("status", "tone", "text"), BANNERS)
def test_the_banner_names_the_worst_current_state(client, make, status, tone, text):
    make.component("API", status=status)
    html = page(client, "/")
    assert f'class="banner banner--{tone}"' in html
    assert f'<h2 id="overall-status" class="banner__text">{text}</h2>' in html


def test_an_unresolved_incident_raises_the_banner_to_its_impact(client, make):
    make.incident("Checkout errors", impact=Impact.CRITICAL)
    assert "Major System Outage" in page(client, "/")


def test_an_active_incident_shows_its_latest_update_and_links_to_its_page(client, make):
    incident = make.incident(
        "Checkout errors",
        updates=[
            (IncidentStatus.INVESTIGATING, "First look."),
            (IncidentStatus.IDENTIFIED, "Found the **bad deploy**."),
        ],
    )
    html = page(client, "/")
    assert "Found the <strong>bad deploy</strong>." in html
    assert "First look." not in html
    assert f'href="{incident_path(incident)}"' in html
    assert "Impact: Minor" in html and "Identified" in html


def test_drafts_and_internal_messages_are_never_shown(client, make):
    incident = make.incident("Checkout errors")
    make.draft(incident, body="Secret draft text")
    make.draft(incident, body="Waiting for approval", state=MessageState.APPROVED)
    make.draft(
        incident,
        body="Internal only note",
        audience=Audience.INTERNAL,
        state=MessageState.PUBLISHED,
    )
    for path in ["/", incident_path(incident), "/history"]:
        html = page(client, path)
        for secret in ("Secret draft text", "Waiting for approval", "Internal only note"):
            assert secret not in html, (path, secret)


def test_components_shown_only_when_degraded_are_hidden_while_operational(client, make):
    hidden = make.component("Legacy API", only_show_if_degraded=True)
    make.component("API", position=1)
    assert "Legacy API" not in page(client, "/")
    hidden.status = ComponentStatus.PARTIAL_OUTAGE
    db.session.commit()
    assert "Legacy API" in page(client, "/")


def test_groups_collapse_without_javascript_and_hide_when_nothing_in_them_shows(client, make):
    make.component("API", group=make.group("Core platform"))
    make.component("Old API", group=make.group("Legacy", 1), only_show_if_degraded=True)
    html = page(client, "/")
    assert re.search(r'<details class="group" open>\s*<summary', html)
    assert "Core platform" in html and "Legacy" not in html


def test_the_uptime_bar_is_one_tab_stop_over_90_days_with_a_text_summary(client, make):
    """Today's run of days is the Tab stop; the others are reached by the arrow keys (uptime.js)."""
    make.component("API")
    html = page(client, "/")
    bar = html[html.index('<ol class="uptime__bar"') : html.index("</ol>")]
    runs = re.findall(r'<li class="day[ "][^>]*>', bar)
    assert [r for r in runs if 'tabindex="0"' in r] == [runs[-1]]  # the last run: today's
    assert all('tabindex="-1"' in r for r in runs[:-1])
    assert sum(int(n) for n in re.findall(r"days-(\d+)", bar)) + bar.count('class="day"') == 90
    assert "100% uptime over the last 90 days" in html


def test_days_before_a_component_existed_have_no_data(client, make):
    make.component("New API", created_at=utcnow() - timedelta(days=10))
    html = page(client, "/")
    empty = re.findall(r'<li class="day day--none (?:days-(\d+))?', html)
    assert sum(int(n or 1) for n in empty) >= 79
    assert "No data for these days." in html


def test_a_day_lists_the_incidents_of_that_day_as_links(client, make):
    api = make.component("API")
    incident = make.incident(
        "Slow API", components=[api], component_status=ComponentStatus.DEGRADED_PERFORMANCE
    )
    html = page(client, "/")
    assert re.search(r'class="day day--degraded_performance[ "]', html)
    assert f'<a href="{incident_path(incident)}">Slow API</a>' in html


def test_maintenance_in_progress_and_upcoming_show_their_window(client, make):
    upcoming = make.maintenance("Database upgrade")
    running = make.maintenance("Network work", scheduled_for=utcnow() - timedelta(minutes=5))
    record_published_update(running, MaintenanceStatus.IN_PROGRESS, "Started.", utcnow())
    db.session.commit()
    html = page(client, "/")
    assert "Maintenance in progress" in html and "Scheduled maintenance" in html
    for item in (upcoming, running):
        assert f'<time datetime="{item.scheduled_until:%Y-%m-%dT%H:%M:%SZ}">' in html


def test_past_incidents_list_the_last_seven_days_and_link_to_history(client, make):
    make.incident("Hiccup yesterday", started_at=utcnow() - timedelta(days=1))
    make.incident("Long ago", started_at=utcnow() - timedelta(days=20))
    html = page(client, "/")
    past = html[html.index('id="past-incidents"') :]
    assert "Hiccup yesterday" in past and "Long ago" not in past
    assert len(re.findall(r'<section class="log-day"', past)) == 7
    assert 'href="/history"' in past


# ---------------------------------------------------------------- incident page


def test_the_incident_page_shows_every_public_update_newest_first(client, make):
    api = make.component("API")
    incident = make.incident(
        "Checkout errors",
        components=[api],
        component_status=ComponentStatus.MAJOR_OUTAGE,
        updates=[
            (IncidentStatus.INVESTIGATING, "Looking into it."),
            (IncidentStatus.RESOLVED, "All fixed."),
        ],
    )
    html = page(client, incident_path(incident))
    assert html.index("All fixed.") < html.index("Looking into it.")
    assert "resolved after 10 minutes" in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">[^<]+ UTC</time>', html)
    assert f'href="/components/{api.public_id}/history.atom"' in html


def test_the_maintenance_page_shows_its_scheduled_window(client, make):
    item = make.maintenance("Database upgrade")
    html = page(client, incident_path(item))
    assert "Scheduled for" in html
    assert f'<time datetime="{item.scheduled_for:%Y-%m-%dT%H:%M:%SZ}">' in html


@pytest.mark.parametrize("path", HOSTILE_IDS)
def test_unknown_or_hostile_incident_ids_get_a_404_page(client, make, path):
    make.incident()
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "We could not find that page." in html
    assert 'class="skip-link"' in html
    assert "<script>alert" not in html


# ---------------------------------------------------------------- history


def test_history_pages_through_months_and_stops_before_the_oldest_event(client, make):
    make.incident("Recent", started_at=utcnow() - timedelta(days=1))
    make.incident("Ancient", started_at=utcnow() - timedelta(days=200))  # 6 or 7 months back
    first = page(client, "/history")
    assert "Recent" in first and "Ancient" not in first
    assert 'href="/history?page=2"' in first and "Newer" not in first
    last = page(client, "/history?page=3")
    assert "Ancient" in last
    assert "Older" not in last and 'href="/history?page=2"' in last
    assert client.get("/history?page=4").status_code == 404


def test_history_shows_impact_duration_and_latest_status(client, make):
    make.incident(
        "Checkout errors",
        impact=Impact.MAJOR,
        updates=[(IncidentStatus.INVESTIGATING, "Looking."), (IncidentStatus.RESOLVED, "Fixed.")],
    )
    html = page(client, "/history")
    assert "Impact: Major" in html
    assert "resolved after 10 minutes" in html
    assert "<strong>Resolved</strong>" in html


@pytest.mark.parametrize("value", HOSTILE_PAGES)
def test_hostile_history_page_parameters_never_cause_a_server_error(client, make, value):
    make.incident()
    response = client.get("/history", query_string={"page": value})
    assert response.status_code == 404


# ---------------------------------------------------------------- hostile text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_bodies_are_escaped_everywhere(client, make, hostile):
    component = make.component(hostile)
    incident = make.incident(
        hostile,
        components=[component],
        component_status=ComponentStatus.PARTIAL_OUTAGE,
        updates=[(IncidentStatus.INVESTIGATING, hostile)],
    )
    for path in ["/", incident_path(incident), "/history"]:
        html = page(client, path)
        assert str(escape(hostile)) in html, path
        assert_no_injected_markup(html)


def test_pages_carry_no_inline_scripts_or_styles(client, demo_page):
    incident = db.session.scalars(db.select(Incident).limit(1)).one()
    for path in ["/", incident_path(incident), "/history", "/missing"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert ' style="' not in html and "<style" not in html, path


# ---------------------------------------------------------------- layout


def test_the_layout_has_landmarks_a_skip_link_and_feed_links(client):
    html = page(client, "/")
    assert '<html lang="en">' in html
    assert '<a class="skip-link" href="#main">' in html and 'id="main"' in html
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in html
    assert '<meta name="viewport"' in html
    assert 'type="application/atom+xml" href="/history.atom"' in html
    assert 'type="application/rss+xml" href="/history.rss"' in html
    for link in ("/maintenance.ics", "/api/v2/summary.json", "Powered by Herald"):
        assert link in html


def test_headings_start_at_h1_and_never_skip_a_level(client, demo_page):
    incident = db.session.scalars(db.select(Incident).limit(1)).one()
    for path in ["/", incident_path(incident), "/history", "/missing"]:
        levels = Tags(client.get(path).get_data(as_text=True)).headings
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b <= a + 1 for a, b in pairwise(levels)), (path, levels)


# ---------------------------------------------------------------- caching and cost


def test_the_status_page_answers_conditional_requests_with_304(client, make):
    make.component("API")
    first = client.get("/")
    assert first.headers["ETag"]
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_newly_published_update_shows_right_away(client, make):
    incident = make.incident("Checkout errors")
    assert "Checkout errors" in page(client, "/")
    record_published_update(incident, IncidentStatus.IDENTIFIED, "Rolled back.", utcnow())
    db.session.commit()
    make.incident("Second problem")
    html = page(client, "/")
    assert "Rolled back." in html and "Second problem" in html


def test_the_status_page_costs_the_same_queries_for_10_or_500_components(make, uncached_queries):
    make.many_components(10, group=make.group("Group A"))
    few = uncached_queries("/")
    make.many_components(490, first_position=1000, group=make.group("Group B", position=1))
    assert uncached_queries("/") == few


# Every 3 hours puts ~720 incidents in the uptime window and 2,000 on the first history
# pages; one a day is years of history.
@pytest.mark.parametrize(
    ("path", "every"),
    [
        ("/", timedelta(hours=3)),
        ("/history", timedelta(days=1)),
        ("/history", timedelta(minutes=20)),
    ],
)
def test_pages_cost_the_same_queries_for_10_or_2000_past_incidents(
    make, uncached_queries, path, every
):
    components = make.many_components(10)
    make.past_incidents(10, every=every, components=components)
    few = uncached_queries(path)
    oldest = utcnow() - timedelta(hours=2) - every * 10
    make.past_incidents(1990, newest_at=oldest, every=every, components=components)
    assert uncached_queries(path) == few


@pytest.mark.parametrize(
    ("path", "limited"), [("/api/v2/incidents.json", True), ("/history", False)]
)
def test_many_incidents_load_their_updates_through_a_subquery_with_the_same_result(
    cold_get, make, monkeypatch, path, limited
):
    """Up to INLINE_IDS incidents, updates load by a list of ids (a plan PostgreSQL gets
    right without statistics); beyond, by a subquery: the answer and the cost are the same."""
    make.past_incidents(12, every=timedelta(hours=3), components=make.many_components(2))
    by_list, listed = cold_get(path)
    monkeypatch.setattr(loaders, "INLINE_IDS", 5)
    by_subquery, subqueried = cold_get(path)
    assert _without_nonces(by_subquery.text) == _without_nonces(by_list.text)
    assert by_list.text.count("Past incident") >= 12
    assert len(subqueried) == len(listed)
    assert _id_subqueries(listed) == []
    inner = _id_subqueries(subqueried)
    assert inner  # the public updates and the published postmortems, by a subquery
    # The subquery keeps its order only where a LIMIT needs it.
    assert all(("ORDER BY" in subquery) == limited for subquery in inner)


def _without_nonces(html: str) -> str:
    return re.sub(r'nonce="[^"]*"', "", html)


def _id_subqueries(statements: list[str]) -> list[str]:
    """The `IN (SELECT incident.id ...)` parts of `statements`."""
    # One level of nesting: PostgreSQL's bound parameters read %(name)s.
    inner = r"IN \((SELECT incident\.id (?:[^()]|\([^()]*\))*)\)"
    found = re.findall(inner, "\n".join(statements))
    return [" ".join(part.split()) for part in found]
