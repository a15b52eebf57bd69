"""Publishing the public version: the incident page, the Statuspage JSON, the feeds, and
subscribers when the publisher asks; never anything unpublished."""

from __future__ import annotations

import feedparser
import pytest
from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    IncidentStatus,
    Message,
    PageState,
    PostmortemState,
    Role,
)
from publisher.services import incidents, postmortems
from publisher.services.errors import Conflict, InvalidInput
from publisher.services.permissions import Forbidden

from ..corpus import assert_harmless_html, lines
from .conftest import approved, rewrite_and_approve

PUBLIC_TEXT = "We are sorry. A bad deploy broke checkout for 30 minutes."
INTERNAL_SECRET = "Internal only: Bob's script deleted the index"
FEEDS = ("/history.rss", "/history.atom")


def page_version() -> int:
    db.session.expire_all()
    return db.session.scalar(select(PageState.version))


def public_outputs(client, incident) -> dict[str, str]:
    paths = {
        "page": f"/incidents/{incident.public_id}",
        "json": "/api/v2/incidents.json",
        "summary": "/api/v2/summary.json",
        "history": "/history",
        **{path: path for path in FEEDS},
    }
    outputs = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, path
        outputs[name] = response.get_data(as_text=True)
    return outputs


def incident_json(client, incident) -> dict:
    body = client.get("/api/v2/incidents.json").get_json()
    return next(i for i in body["incidents"] if i["id"] == incident.public_id)


def test_publishing_shows_it_on_the_page_the_json_and_the_feeds(client, team, incident):
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    postmortems.edit_postmortem(team["pm"], postmortem, internal_body=INTERNAL_SECRET)
    postmortems.submit(team["pm"], postmortem)
    postmortems.approve(
        team[Role.INCIDENT_MANAGER], postmortem, expected_hash=postmortems.content_hash(postmortem)
    )
    postmortems.publish(team["pm"], postmortem)

    assert postmortem.state == PostmortemState.PUBLISHED
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert 'id="postmortem"' in page and PUBLIC_TEXT in page
    assert incident_json(client, incident)["status"] == "postmortem"
    for path in FEEDS:
        parsed = feedparser.parse(client.get(path).data)
        entry = next(e for e in parsed.entries if incident.public_id in e.link)
        html = entry.content[0].value if "content" in entry else entry.description
        assert PUBLIC_TEXT in html and "Postmortem" in html
    for name, text in public_outputs(client, incident).items():
        assert INTERNAL_SECRET not in text, name


def test_an_unpublished_postmortem_is_never_public(client, team, incident):
    draft = "Draft words nobody approved yet"
    postmortem = approved(team, incident, public=draft)
    for name, text in public_outputs(client, incident).items():
        assert draft not in text, name
    assert incident_json(client, incident)["status"] == "resolved"
    assert postmortem.state == PostmortemState.APPROVED


def test_after_publishing_an_edit_shows_only_once_published_again(client, team, incident):
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    postmortems.publish(team["pm"], postmortem)
    first_published = postmortem.published_at
    postmortems.edit_postmortem(team["pm"], postmortem, public_body="Second, unapproved words")
    outputs = public_outputs(client, incident)
    assert all("Second, unapproved words" not in text for text in outputs.values())
    assert PUBLIC_TEXT in outputs["page"]

    postmortems.submit(team["pm"], postmortem)
    postmortems.approve(
        team[Role.INCIDENT_MANAGER], postmortem, expected_hash=postmortems.content_hash(postmortem)
    )
    postmortems.publish(team["pm"], postmortem)
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Second, unapproved words" in page and PUBLIC_TEXT not in page
    assert postmortem.published_at == first_published
    assert postmortem.public_updated_at > first_published
    assert "Updated" in page


def test_publishing_bumps_the_page_version_but_internal_drafting_does_not(team, incident):
    before = page_version()
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.edit_postmortem(team["pm"], postmortem, internal_body="Internal words")
    assert page_version() == before
    postmortem = rewrite_and_approve(team, postmortem, PUBLIC_TEXT)
    postmortems.publish(team["pm"], postmortem)
    assert page_version() > before


def test_a_cached_page_refreshes_when_the_postmortem_is_published(client, team, incident):
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    assert PUBLIC_TEXT not in client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    postmortems.publish(team["pm"], postmortem)
    assert PUBLIC_TEXT in client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)


def test_publishing_waits_for_the_incident_to_be_resolved(team, make):
    api = make.component("DB")
    ian = team[Role.INCIDENT_MANAGER]
    ongoing = incidents.declare_incident(ian, "Still broken", "minor", {api: "partial_outage"})
    postmortem = postmortems.start_postmortem(ian, ongoing)
    postmortems.edit_postmortem(ian, postmortem, public_body="Text")
    postmortems.submit(ian, postmortem)
    postmortems.approve(
        team[Role.ADMIN], postmortem, expected_hash=postmortems.content_hash(postmortem)
    )
    with pytest.raises(Conflict):
        postmortems.publish(ian, postmortem)
    assert ongoing.status == IncidentStatus.INVESTIGATING
    assert postmortem.published_at is None


def test_there_is_nothing_to_publish_without_a_public_version(team, incident):
    postmortem = approved(team, incident, public="")
    with pytest.raises(InvalidInput):
        postmortems.publish(team["pm"], postmortem)


def test_only_an_approved_postmortem_is_published(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    with pytest.raises(Conflict):
        postmortems.publish(team["pm"], postmortem)


@pytest.mark.parametrize("who", [Role.SOCIAL_LEAD, Role.SUPPORT_AGENT, Role.RESPONDER])
def test_publishing_is_for_the_problem_manager_incident_managers_and_comms(team, incident, who):
    postmortem = approved(team, incident)
    with pytest.raises(Forbidden):
        postmortems.publish(team[who], postmortem)
    postmortems.publish(team[Role.COMMS_MANAGER], postmortem)


def test_notifying_sends_a_postmortem_update_through_the_publishing_engine(team, incident):
    slack = Channel(kind=ChannelKind.SLACK, name="#status")
    db.session.add(slack)
    db.session.commit()
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    postmortems.publish(team["pm"], postmortem, notify=True)

    announcement = db.session.get(Message, postmortem.announcement_id)
    assert announcement.incident_status == "postmortem"
    assert announcement.state == "published"
    assert f"/incidents/{incident.public_id}" in announcement.body
    rows = db.session.scalars(select(Delivery).where(Delivery.message_id == announcement.id))
    assert [row.channel_id for row in rows] == [slack.id]


def test_without_notifying_nothing_is_sent(team, incident):
    db.session.add(Channel(kind=ChannelKind.SLACK, name="#status"))
    db.session.commit()
    deliveries = db.session.scalar(select(func.count(Delivery.id)))
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    postmortems.publish(team["pm"], postmortem, notify=False)
    assert postmortem.announcement_id is None
    assert db.session.scalar(select(func.count(Delivery.id))) == deliveries


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_markdown_in_the_public_version_is_harmless_everywhere(
    client, team, incident, hostile
):
    postmortem = approved(team, incident, public=f"Intro\n\n{hostile}")
    postmortems.publish(team["pm"], postmortem)
    page = client.get(f"/incidents/{incident.public_id}")
    assert page.status_code == 200
    assert_harmless_html(page.get_data(as_text=True).split("<main", 1)[1])  # the page's own JS
    for path in FEEDS:
        response = client.get(path)
        assert response.status_code == 200
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0
        for entry in parsed.entries:
            html = entry.content[0].value if "content" in entry else entry.description
            assert_harmless_html(html)
