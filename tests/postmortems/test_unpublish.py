"""Withdrawing a published postmortem: by an incident manager or admin, with a reason, off
the page, the JSON, the feeds and the static export at once, and public again only after a
new review."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    AuditEvent,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    IncidentStatus,
    Message,
    PostmortemState,
    Role,
    RosterRole,
    utcnow,
)
from publisher.services import composer, delivery, export, incidents, postmortems, roster, timeline
from publisher.services.errors import Conflict, InvalidInput
from publisher.services.permissions import Forbidden

from ..services.test_composer_races import WON, race
from ..staff import bearer, make_user, sign_in
from .conftest import approved, rewrite_and_approve
from .test_publishing import FEEDS, incident_json, page_version, public_outputs
from .test_races import racer

PUBLIC_TEXT = "We are sorry. A bad deploy broke checkout for 30 minutes."
REASON = "It names a customer; legal asked us to take it down."
ANNOUNCED = "We have published the postmortem of this incident."


def published(team, incident, notify=False):
    postmortem = approved(team, incident, public=PUBLIC_TEXT)
    return postmortems.publish(team["pm"], postmortem, notify=notify)


def exported_text(app, target: Path) -> str:
    export.export_static(app, target)
    files = (path for path in target.resolve().rglob("*") if path.is_file())
    return "\n".join(path.read_text(errors="ignore") for path in files if path.suffix != ".css")


def test_withdrawing_takes_it_off_the_page_the_json_the_feeds_and_the_export(
    app, client, team, incident, tmp_path
):
    db.session.add(Channel(kind=ChannelKind.SLACK, name="#status"))
    postmortem = published(team, incident, notify=True)
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)  # now cached
    assert PUBLIC_TEXT in page and ANNOUNCED in page
    assert PUBLIC_TEXT in exported_text(app, tmp_path / "site")
    before = page_version()

    postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)

    assert page_version() > before
    outputs = public_outputs(client, incident)
    for name, text in outputs.items():
        assert PUBLIC_TEXT not in text, name
        assert ANNOUNCED not in text, name  # nor the update that announced it
    assert 'id="postmortem"' not in outputs["page"]
    assert incident_json(client, incident)["status"] == "resolved"
    for path in FEEDS:
        parsed = feedparser.parse(client.get(path).data)
        entry = next(e for e in parsed.entries if incident.public_id in e.link)
        html = entry.content[0].value if "content" in entry else entry.description
        assert "Postmortem" not in html
    assert PUBLIC_TEXT not in exported_text(app, tmp_path / "site")


def test_emails_and_posts_of_the_announcement_not_sent_yet_are_cancelled(app, team, incident):
    """Withdrawn before the fan-out finished: what has not gone out does not go out."""
    slack = Channel(kind=ChannelKind.SLACK, name="#status")
    db.session.add(slack)
    postmortem = published(team, incident, notify=True)
    announcement = db.session.get(Message, postmortem.announcement_id)
    [waiting] = db.session.scalars(select(Delivery).filter_by(message_id=announcement.id))
    assert waiting.state == DeliveryState.PENDING  # the worker has not run (tests)

    postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)

    db.session.expire_all()
    cancelled = db.session.get(Delivery, waiting.id)
    assert cancelled.state == DeliveryState.CANCELLED
    assert cancelled.last_error == delivery.WITHDRAWN
    assert delivery.due_batches(utcnow()) == []
    console = app.test_client()
    sign_in(console, team[Role.INCIDENT_MANAGER])
    page = console.get(f"/console/messages/{announcement.public_id}").get_data(as_text=True)
    assert '<li class="state-count state-count-cancelled">1 cancelled</li>' in page
    assert "0 of 0 sent" in page  # a cancelled row is not one still to go out


def test_every_update_that_announced_it_is_withdrawn_and_labelled_so(app, client, team, incident):
    postmortem = published(team, incident, notify=True)
    comms = team[Role.COMMS_MANAGER]
    first = db.session.get(Message, postmortem.announcement_id)
    revision = composer.start_revision(comms, first)  # the announcement, reworded and republished
    composer.edit_message(comms, revision, body="Our postmortem is out: read it on the page.")
    composer.submit(comms, revision)
    composer.approve(
        team[Role.INCIDENT_MANAGER], revision, expected_hash=composer.content_hash(revision)
    )
    composer.publish(comms, revision)
    rewrite_and_approve(team, postmortem, "Better words.")
    postmortems.publish(team["pm"], postmortem, notify=True)  # announced a second time
    texts = ("Our postmortem is out", "We have updated the postmortem of this incident.")
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert all(text in page for text in texts)

    postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)

    for name, output in public_outputs(client, incident).items():
        assert not any(text in output for text in (ANNOUNCED, *texts)), name
    console = app.test_client()
    sign_in(console, team[Role.INCIDENT_MANAGER])
    updates = console.get(f"/console/incidents/{incident.public_id}").get_data(as_text=True)
    assert updates.count("withdrawn with the postmortem") == 2  # the revision and the second
    assert updates.count("replaced by a revision") == 1  # the first, replaced before


def test_withdrawing_needs_a_reason_and_is_on_the_trail_and_the_timeline(team, incident):
    postmortem = published(team, incident)
    ian = team[Role.INCIDENT_MANAGER]
    for blank in ("", "   \n "):
        with pytest.raises(InvalidInput) as refused:
            postmortems.unpublish(ian, postmortem, reason=blank)
        assert refused.value.field == "reason"
    assert postmortem.is_published

    postmortems.unpublish(ian, postmortem, reason=REASON)
    step = postmortem.review_events[-1]
    assert (step.action, step.comment, step.actor_id) == ("unpublished", REASON, ian.id)
    texts = [item.text for item in timeline.timeline(incident)]
    assert f"Withdrew the postmortem from the public side: {REASON}" in texts
    assert "Changed status postmortem → resolved." in texts
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "postmortem.unpublished")
    ).one()
    assert audit.actor_id == ian.id and audit.after["comment"] == REASON


@pytest.mark.parametrize(
    "who", ["pm", Role.COMMS_MANAGER, Role.SOCIAL_LEAD, Role.SUPPORT_AGENT, Role.RESPONDER]
)
def test_only_incident_managers_and_admins_withdraw_it(team, incident, who):
    postmortem = published(team, incident)
    with pytest.raises(Forbidden):
        postmortems.unpublish(team[who], postmortem, reason=REASON)
    assert postmortem.is_published
    postmortems.unpublish(team[Role.ADMIN], postmortem, reason=REASON)
    assert not postmortem.is_published


def test_the_incident_manager_of_the_incident_may_withdraw_it(team, incident):
    postmortem = published(team, incident)
    comms = team[Role.COMMS_MANAGER]
    roster.assign(team[Role.INCIDENT_MANAGER], incident, RosterRole.INCIDENT_MANAGER, comms)
    postmortems.unpublish(comms, postmortem, reason=REASON)
    assert not postmortem.is_published


def test_it_is_public_again_only_after_a_new_review(client, team, incident):
    postmortem = published(team, incident)
    first = postmortem.published_at
    postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)
    assert postmortem.state == PostmortemState.DRAFT
    assert postmortem.approved_hash is None and postmortem.approved_by_id is None
    with pytest.raises(Conflict):
        postmortems.publish(team["pm"], postmortem)

    rewrite_and_approve(team, postmortem, "Fixed words.")
    postmortems.publish(team["pm"], postmortem)
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Fixed words." in page and PUBLIC_TEXT not in page
    assert incident_json(client, incident)["status"] == "postmortem"
    assert postmortem.published_at > first
    assert postmortem.public_updated_at == postmortem.published_at  # a first publication again


def test_a_revision_under_review_stays_under_review(team, incident):
    postmortem = published(team, incident)
    postmortems.edit_postmortem(team["pm"], postmortem, public_body="Better words.")
    postmortems.submit(team["pm"], postmortem)
    postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)
    assert postmortem.state == PostmortemState.IN_REVIEW
    assert postmortem.published_body is None


def test_there_is_nothing_to_withdraw_before_it_is_published(team, incident):
    postmortem = approved(team, incident)
    with pytest.raises(Conflict):
        postmortems.unpublish(team[Role.INCIDENT_MANAGER], postmortem, reason=REASON)
    assert postmortem.state == PostmortemState.APPROVED


def test_an_incident_reopened_since_keeps_its_status(team, incident):
    postmortem = published(team, incident)
    ian = team[Role.INCIDENT_MANAGER]
    incidents.update_incident(ian, incident, status=IncidentStatus.INVESTIGATING)
    postmortems.unpublish(ian, postmortem, reason=REASON)
    assert incident.status == IncidentStatus.INVESTIGATING


def test_two_people_withdrawing_at_once_withdraw_once(app, team, incident):
    published(team, incident)
    other = make_user(Role.INCIDENT_MANAGER, "im2@example.com")
    people = [team[Role.INCIDENT_MANAGER].id, other.id]
    outcomes = race(app, [racer(person, incident.id, _withdraw) for person in people])
    assert sorted(kind for kind, _result in outcomes) == ["Conflict", WON]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "postmortem.unpublished")
    ).all()
    assert len(events) == 1


def _withdraw(user, postmortem):
    return postmortems.unpublish(user, postmortem, reason=REASON)


# ---------------------------------------------------------------- the console and the API


def test_the_console_asks_why_on_a_confirmation_page_then_withdraws(app, team, incident):
    published(team, incident, notify=True)
    ian = app.test_client()
    sign_in(ian, team[Role.INCIDENT_MANAGER])
    base = f"/console/incidents/{incident.public_id}/postmortem"
    assert f'href="{base}/unpublish"' in ian.get(base).get_data(as_text=True)

    confirm = ian.get(base + "/unpublish")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "What withdrawing does" in text and PUBLIC_TEXT in text
    assert "goes back from Postmortem to Resolved" in text
    assert "The update that announced it is taken off the page, and its emails" in text
    assert 'name="unpublish-reason"' in text and "<script" not in text.split("<main", 1)[1]

    blank = ian.post(base + "/unpublish", data={"unpublish-reason": "  "})
    assert blank.status_code == 422
    assert "This field is required." in blank.get_data(as_text=True)
    public = f"/incidents/{incident.public_id}"
    assert PUBLIC_TEXT in ian.get(public).get_data(as_text=True)

    done = ian.post(base + "/unpublish", data={"unpublish-reason": REASON})
    assert done.status_code == 302 and done.headers["Location"].endswith(base + "#review")
    after = ian.get(base).get_data(as_text=True)
    assert "Withdrawn: visitors no longer see the postmortem." in after
    assert "withdrew it from the public side" in after and REASON in after
    assert f'href="{base}/unpublish"' not in after
    assert PUBLIC_TEXT not in ian.get(public).get_data(as_text=True)


def test_a_stale_confirmation_page_is_refused_with_a_message(app, team, incident):
    postmortem = published(team, incident)
    ian = app.test_client()
    sign_in(ian, team[Role.INCIDENT_MANAGER])
    base = f"/console/incidents/{incident.public_id}/postmortem"
    stale = postmortem.version
    postmortems.edit_postmortem(team["pm"], postmortem, internal_body="Changed meanwhile")
    response = ian.post(
        base + "/unpublish",
        data={"unpublish-reason": REASON, "unpublish-expected_version": str(stale)},
        follow_redirects=True,
    )
    assert "Someone else changed this postmortem" in response.get_data(as_text=True)
    db.session.expire_all()
    assert postmortems.get_postmortem(incident).is_published


def test_a_comms_manager_sees_no_withdraw_button_and_is_refused(app, team, incident):
    published(team, incident)
    cora = app.test_client()
    sign_in(cora, team[Role.COMMS_MANAGER])
    base = f"/console/incidents/{incident.public_id}/postmortem"
    assert "/unpublish" not in cora.get(base).get_data(as_text=True)
    assert cora.get(base + "/unpublish").status_code == 403
    assert cora.post(base + "/unpublish", data={"unpublish-reason": REASON}).status_code == 403


def test_a_script_withdraws_it_with_a_reason(app, client, team, incident):
    published(team, incident)
    path = f"/api/v1/incidents/{incident.public_id}/postmortem/unpublish"

    def call(who, json):
        return client.post(path, json=json, headers=bearer(team[who]))

    assert call(Role.COMMS_MANAGER, {"reason": REASON}).status_code == 403
    missing = call(Role.INCIDENT_MANAGER, {})
    assert missing.status_code == 422 and missing.get_json()["field"] == "reason"
    assert call(Role.INCIDENT_MANAGER, {"reason": REASON, "extra": 1}).status_code == 422
    stale = call(Role.INCIDENT_MANAGER, {"reason": REASON, "expected_version": 1})
    assert stale.status_code == 409
    done = call(Role.INCIDENT_MANAGER, {"reason": REASON})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["state"] == "draft" and body["published_at"] is None
    assert body["review"][-1]["action"] == "unpublished"
    assert body["review"][-1]["comment"] == REASON
    assert incident_json(client, incident)["status"] == "resolved"
    again = call(Role.ADMIN, {"reason": REASON})
    assert again.status_code == 409
