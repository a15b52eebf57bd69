"""The maintenance calendar (/maintenance.ics): events a calendar app can subscribe to."""

from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar

from publisher.extensions import db
from publisher.models import Audience, IncidentStatus, MaintenanceStatus, MessageState, utcnow
from publisher.services.updates import record_published_update

from ..corpus import lines

HOSTILE = lines("xss.txt")


def fetch_calendar(client) -> Calendar:
    response = client.get("/maintenance.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.data)


def events_by_uid(calendar: Calendar) -> dict:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(item) -> str:
    return f"{item.public_id}@status.test"


def move(item, status, body: str, at) -> None:
    record_published_update(item, status, body, at)
    db.session.commit()


def completed_maintenance(make, name: str, days_ago: int, started: bool = True):
    start = utcnow() - timedelta(days=days_ago)
    item = make.maintenance(name=name, scheduled_for=start)
    if started:
        move(item, MaintenanceStatus.IN_PROGRESS, "Started.", start)
    move(item, MaintenanceStatus.COMPLETED, "All done.", start + timedelta(hours=1))
    return item


def test_calendar_names_itself_and_declares_version_and_product(client):
    calendar = fetch_calendar(client)
    assert str(calendar["VERSION"]) == "2.0"
    assert "Herald" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Example Status maintenance"
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(hours=1)
    assert list(calendar.walk("VEVENT")) == []


def test_calendar_has_upcoming_running_and_recently_completed_maintenance_only(client, make):
    upcoming = make.maintenance(name="Upcoming")
    running = make.maintenance(name="Running", scheduled_for=utcnow() - timedelta(minutes=5))
    move(running, MaintenanceStatus.IN_PROGRESS, "Started.", utcnow())
    recent = completed_maintenance(make, "Last week", days_ago=7)
    completed_maintenance(make, "Long ago", days_ago=45)
    make.incident(name="Not maintenance")
    events = events_by_uid(fetch_calendar(client))
    assert set(events) == {uid(upcoming), uid(running), uid(recent)}


def test_an_event_carries_utc_times_summary_plain_description_url_and_status(client, make):
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    item = make.maintenance(
        name="Database upgrade",
        scheduled_for=start,
        duration=timedelta(hours=2),
        body="We will **upgrade** the [database](https://example.com/db).",
    )
    event = events_by_uid(fetch_calendar(client))[uid(item)]
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == start + timedelta(hours=2)
    assert str(event["SUMMARY"]) == "Database upgrade"
    assert str(event["DESCRIPTION"]) == "We will upgrade the database."
    assert str(event["URL"]) == f"http://status.test/incidents/{item.public_id}"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP").tzinfo is not None


def test_description_follows_the_latest_public_update_and_ignores_drafts(client, make):
    item = make.maintenance(scheduled_for=utcnow() - timedelta(minutes=1))
    move(item, MaintenanceStatus.IN_PROGRESS, "Now *in progress*.", utcnow())
    make.draft(item, body="Draft: it is going badly")
    make.draft(
        item, body="Internal: rollback", audience=Audience.INTERNAL, state=MessageState.PUBLISHED
    )
    event = events_by_uid(fetch_calendar(client))[uid(item)]
    assert str(event["DESCRIPTION"]) == "Now in progress."


def test_completed_maintenance_that_never_started_is_cancelled(client, make):
    skipped = completed_maintenance(make, "Called off", days_ago=2, started=False)
    done = completed_maintenance(make, "Happened", days_ago=2)
    events = events_by_uid(fetch_calendar(client))
    assert str(events[uid(skipped)]["STATUS"]) == "CANCELLED"
    assert str(events[uid(done)]["STATUS"]) == "CONFIRMED"


def test_line_breaks_in_names_and_bodies_cannot_inject_calendar_properties(client, make):
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    item = make.maintenance(
        name="Upgrade\r\nDTSTART:19700101T000000Z\r\nX-INJECTED:yes",
        scheduled_for=start,
        body="Line one\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@example.invalid\nSUMMARY:Fake",
    )
    calendar = fetch_calendar(client)
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == uid(item)
    assert event.decoded("DTSTART") == start
    assert "X-INJECTED" not in event and "X-INJECTED" not in calendar
    assert str(event["SUMMARY"]) == "Upgrade DTSTART:19700101T000000Z X-INJECTED:yes"
    assert "UID:evil@example.invalid" in str(event["DESCRIPTION"])


def test_hostile_names_stay_text_in_the_calendar(client, make):
    base = utcnow().replace(microsecond=0) + timedelta(days=1)
    items = [
        make.maintenance(name=line, body=line, scheduled_for=base + timedelta(hours=n))
        for n, line in enumerate(HOSTILE)
    ]
    events = events_by_uid(fetch_calendar(client))
    assert set(events) == {uid(item) for item in items}
    for item, line in zip(items, HOSTILE, strict=True):
        assert str(events[uid(item)]["SUMMARY"]) == " ".join(line.split())
        assert events[uid(item)].decoded("DTSTART") == item.scheduled_for.astimezone(UTC)


def test_an_incident_update_does_not_add_events(client, make):
    incident = make.incident()
    move(incident, IncidentStatus.RESOLVED, "Fixed.", utcnow())
    assert list(fetch_calendar(client).walk("VEVENT")) == []
