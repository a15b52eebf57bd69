"""RSS and Atom history feeds: what readers see, what they never see, and what they cost."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import feedparser
import pytest
import time_machine

from publisher.extensions import db
from publisher.models import (
    Audience,
    IncidentStatus,
    MessageState,
    Role,
    utcnow,
)
from publisher.services.updates import record_published_update

from ..corpus import lines
from ..desk import publish_revision, publish_update
from ..staff import make_user

HOSTILE = lines("xss.txt")
FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
# Elements whose text is HTML (titles are plain text in both formats, as feedparser reads them).
HTML_FIELDS = {"content", "description", "encoded", "summary"}
ATOM = "{http://www.w3.org/2005/Atom}"
DANGEROUS_TAGS = {"script", "iframe", "svg", "math", "style", "meta", "form", "img", "object"}


def fetch(client, path: str, expected_type: str | None = None):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    if expected_type:
        assert response.headers["Content-Type"] == expected_type
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed, response.data


def entry_html(entry) -> str:
    return entry.content[0].value if "content" in entry else entry.description


def entry_updated(entry, fmt: str) -> datetime:
    stamp = entry.updated_parsed if fmt == "atom" else entry.published_parsed
    return datetime.fromtimestamp(calendar.timegm(stamp), UTC)


# ---------------------------------------------------------------- content


@pytest.mark.parametrize("fmt", FORMATS)
def test_page_feed_is_titled_after_the_page_with_absolute_links(client, make, fmt):
    incident = make.incident(name="Elevated errors")
    parsed, _ = fetch(client, f"/history.{fmt}", FORMATS[fmt])
    assert parsed.feed.title == "Example Status status"
    assert parsed.feed.language == "en"
    assert parsed.feed.link == "http://status.test/"
    [entry] = parsed.entries
    url = f"http://status.test/incidents/{incident.public_id}"
    assert entry.title == "Elevated errors"
    assert entry.link == url
    assert entry.id == url


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_incident_and_maintenance_is_one_entry_with_its_updates_newest_first(
    client, make, fmt
):
    older = make.incident(
        name="Login failures",
        started_at=utcnow() - timedelta(days=2),
        updates=[
            (IncidentStatus.INVESTIGATING, "We are looking into **login** failures."),
            (IncidentStatus.RESOLVED, "Logins work again."),
        ],
    )
    maintenance = make.maintenance(name="Database upgrade")
    parsed, _ = fetch(client, f"/history.{fmt}")
    titles = [entry.title for entry in parsed.entries]
    assert titles == ["Database upgrade", "Login failures"]
    html = entry_html(parsed.entries[1])
    assert html.index("Resolved") < html.index("Logins work again.")
    assert html.index("Logins work again.") < html.index("Investigating")
    assert "<strong>login</strong>" in html and " UTC" in html
    assert maintenance.public_id in parsed.entries[0].link
    assert older.public_id in parsed.entries[1].link


def test_feed_updated_time_is_the_page_update_time(client, make):
    make.incident()
    parsed, _ = fetch(client, "/history.atom")
    from publisher.services.public import page_state

    expected = page_state().updated_at.replace(microsecond=0)
    assert datetime.fromtimestamp(calendar.timegm(parsed.feed.updated_parsed), UTC) == expected


def test_feed_lists_the_fifty_most_recent_incidents(client, make):
    newest = utcnow().replace(microsecond=0) - timedelta(hours=1)
    make.past_incidents(55, newest_at=newest)
    parsed, _ = fetch(client, "/history.atom")
    assert len(parsed.entries) == 50
    assert parsed.entries[0].title == f"Past incident {newest:%F %T}"
    assert parsed.entries[-1].title == f"Past incident {newest - timedelta(hours=49):%F %T}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_update_moves_the_entry_time_and_the_feed_at_once(client, make, fmt):
    incident = make.incident(started_at=utcnow() - timedelta(hours=3))
    before, _ = fetch(client, f"/history.{fmt}")
    at = utcnow().replace(microsecond=0)
    record_published_update(incident, IncidentStatus.IDENTIFIED, "Found the faulty switch.", at)
    db.session.commit()
    after, _ = fetch(client, f"/history.{fmt}")
    assert entry_updated(after.entries[0], fmt) == at
    assert entry_updated(after.entries[0], fmt) > entry_updated(before.entries[0], fmt)
    assert "Found the faulty switch." in entry_html(after.entries[0])


def atom_time(stamp) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(stamp), UTC)


def test_a_published_revision_moves_the_atom_entry_updated_time_and_keeps_its_id(client, make):
    """A revision keeps the original's publication time (display_at), which the entry's
    <updated> used to follow: the text changed and readers were not told."""
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    incident = make.incident(name="Slow API")
    first_at = utcnow().replace(microsecond=0)
    with time_machine.travel(first_at, tick=False):
        first = publish_update(comms, im, incident, "Fixed in ten minutes.")
    [before] = fetch(client, "/history.atom")[0].entries
    revised_at = first_at + timedelta(minutes=40)
    with time_machine.travel(revised_at, tick=False):
        publish_revision(comms, im, first, body="Fixed in an hour.")
    [after] = fetch(client, "/history.atom")[0].entries
    assert "Fixed in an hour." in entry_html(after) and "ten minutes" not in entry_html(after)
    assert atom_time(before.updated_parsed) == first_at
    assert atom_time(after.updated_parsed) == revised_at
    assert after.published_parsed == before.published_parsed  # the first publication
    assert after.id == before.id


@pytest.mark.parametrize("fmt", FORMATS)
def test_drafts_and_internal_messages_never_appear_in_feeds(client, make, fmt):
    incident = make.incident(updates=[(IncidentStatus.INVESTIGATING, "Public words.")])
    make.draft(incident, body="Secret draft text")
    make.draft(
        incident,
        body="Internal only note",
        audience=Audience.INTERNAL,
        state=MessageState.PUBLISHED,
    )
    make.draft(incident, body="Approved, not yet out", state=MessageState.APPROVED)
    _, raw = fetch(client, f"/history.{fmt}")
    assert b"Public words." in raw
    for secret in (b"Secret draft text", b"Internal only note", b"Approved, not yet out"):
        assert secret not in raw


@pytest.mark.parametrize("fmt", FORMATS)
def test_component_feed_has_only_that_components_incidents(client, make, fmt):
    api, web = make.component("API"), make.component("Web", position=1)
    mine = make.incident(name="API is slow", components=[api])
    make.incident(name="Web is down", components=[web])
    make.incident(name="Unrelated")
    path = f"/components/{api.public_id}/history.{fmt}"
    parsed, _ = fetch(client, path, FORMATS[fmt])
    assert [entry.title for entry in parsed.entries] == ["API is slow"]
    assert parsed.entries[0].link == f"http://status.test/incidents/{mine.public_id}"
    assert parsed.feed.title == "Example Status status: API"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_component_feed_is_not_found(client, fmt):
    assert client.get(f"/components/nosuchthing/history.{fmt}").status_code == 404


def test_feeds_answer_conditional_requests_until_something_is_published(client, make):
    incident = make.incident()
    first = client.get("/history.atom")
    again = client.get("/history.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    record_published_update(incident, IncidentStatus.RESOLVED, "Fixed.", utcnow())
    db.session.commit()
    changed = client.get("/history.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and b"Fixed." in changed.data


# ---------------------------------------------------------------- hostile input


class _ActiveContent(HTMLParser):
    """Collects what would run if a reader rendered a string as HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").lower():
                self.found.append(f"{tag} {name}={value}")


def entry_titles(raw: bytes) -> list[str]:
    root = ElementTree.fromstring(raw)
    if root.tag == "rss":
        return [item.findtext("title") for item in root.iter("item")]
    return [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]


def active_content(raw: bytes) -> list[str]:
    """What would run if a reader rendered the HTML fields (and any attribute) as HTML."""
    found = []
    for element in ElementTree.fromstring(raw).iter():
        html = element.text if element.tag.rpartition("}")[2] in HTML_FIELDS else ""
        for text in (html, *element.attrib.values()):
            parser = _ActiveContent()
            parser.feed(text or "")
            found += parser.found
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_and_bodies_stay_inert_and_the_feed_still_parses(client, make, fmt):
    component = make.component(name=HOSTILE[0])
    for n, line in enumerate(HOSTILE):
        make.incident(
            name=line,
            components=[component],
            started_at=utcnow() - timedelta(minutes=n + 1),
            updates=[(IncidentStatus.INVESTIGATING, line)],
        )
    for path in (f"/history.{fmt}", f"/components/{component.public_id}/history.{fmt}"):
        parsed, raw = fetch(client, path)
        assert len(parsed.entries) == len(HOSTILE)
        assert b"<script" not in raw.lower()
        assert active_content(raw) == []
        # Titles are plain text: carried exactly as typed, for readers to show as text.
        assert entry_titles(raw) == HOSTILE


def test_control_characters_in_names_do_not_break_the_feed(client, make):
    component = make.component(name="API\x0b\x1b")
    make.incident(
        name="Bell\x07 and\x0c form feed\x08",
        components=[component],
        updates=[(IncidentStatus.INVESTIGATING, "Escape\x1b[31m")],
    )
    for path in (
        "/history.atom",
        "/history.rss",
        f"/components/{component.public_id}/history.atom",
    ):
        parsed, _ = fetch(client, path)
        assert parsed.entries[0].title == "Bell and form feed"


# ---------------------------------------------------------------- cost


def test_feed_queries_do_not_grow_with_components_or_incidents(client, make, uncached_queries):
    group = make.group()
    watched = make.component("Watched", group=group)
    make.many_components(9)
    make.past_incidents(10, components=[watched])
    paths = ["/history.atom", f"/components/{watched.public_id}/history.rss"]
    small = [uncached_queries(path) for path in paths]

    make.many_components(490, first_position=1000)
    make.past_incidents(4990, newest_at=utcnow() - timedelta(days=30), components=[watched])
    large = [uncached_queries(path) for path in paths]
    assert large == small
    assert max(small) <= 12
