"""The postmortem in the console, through real HTTP: start, write, review, publish, export,
and follow-up actions tracked to done."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from markupsafe import escape

from publisher.extensions import db
from publisher.models import ActionStatus, FollowUpAction, Role, utcnow
from publisher.services import postmortems

from ..corpus import assert_harmless_html, lines
from ..staff import sign_in

HASH = re.compile(r'name="approve-expected_hash"[^>]*value="([0-9a-f]{64})"')


def page(client, incident) -> str:
    response = client.get(f"/console/incidents/{incident.public_id}/postmortem")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def due(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def owned_action(app, team, incident, title="T"):
    """A follow-up action the responder owns, and the responder signed in to the console."""
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    action = postmortems.add_action(
        team["pm"], postmortem, title=title, owner=team[Role.RESPONDER], due_on=utcnow().date()
    )
    owner = app.test_client()
    sign_in(owner, team[Role.RESPONDER])
    return owner, action


def test_a_problem_manager_takes_it_from_start_to_published(app, team, incident):
    pm, ian = app.test_client(), app.test_client()
    sign_in(pm, team["pm"])
    sign_in(ian, team[Role.INCIDENT_MANAGER])
    base = f"/console/incidents/{incident.public_id}/postmortem"

    assert "Start postmortem" in page(pm, incident)
    assert pm.post(base + "/start").status_code == 302
    text = page(pm, incident)
    assert "Rolled back deploy 4711" in text and "Customers who reported being affected: 6" in text

    saved = pm.post(
        base + "/edit",
        data={"internal_body": "Root cause: a bad deploy.", "public_body": "We are sorry."},
    )
    assert saved.status_code == 302
    assert pm.post(base + "/submit", data={"submit-comment": "Ready"}).status_code == 302
    reviewer_page = page(ian, incident)
    digest = HASH.search(reviewer_page).group(1)
    assert ian.post(base + "/approve", data={"approve-expected_hash": digest}).status_code == 302
    published = pm.post(base + "/publish", data={"publish-notify": "y"})
    assert published.status_code == 302

    public = pm.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "We are sorry." in public and "Root cause: a bad deploy." not in public
    assert "Postmortem" in page(pm, incident)


def test_the_author_sees_no_approve_button_and_cannot_approve(app, team, incident):
    ian = app.test_client()
    sign_in(ian, team[Role.INCIDENT_MANAGER])
    postmortem = postmortems.start_postmortem(team[Role.INCIDENT_MANAGER], incident)
    postmortems.submit(team[Role.INCIDENT_MANAGER], postmortem)
    text = page(ian, incident)
    assert "someone else must approve it" in text and "Approve this exact text" not in text
    response = ian.post(
        f"/console/incidents/{incident.public_id}/postmortem/approve",
        data={"approve-expected_hash": postmortems.content_hash(postmortem)},
    )
    assert response.status_code == 403


def test_a_reader_cannot_change_it(app, team, incident):
    postmortems.start_postmortem(team["pm"], incident)
    client = app.test_client()
    sign_in(client, team[Role.SUPPORT_AGENT])
    assert "Your role can read this postmortem but not change it." in page(client, incident)
    response = client.post(
        f"/console/incidents/{incident.public_id}/postmortem/edit",
        data={"internal_body": "vandalised"},
    )
    assert response.status_code == 403


def test_exports_as_markdown_and_as_a_printable_page(app, team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.add_action(
        team["pm"],
        postmortem,
        title="Alert on checkout errors",
        owner=team[Role.RESPONDER],
        due_on=utcnow().date(),
    )
    client = app.test_client()
    sign_in(client, team[Role.SOCIAL_LEAD])
    markdown = client.get(f"/console/incidents/{incident.public_id}/postmortem.md")
    assert markdown.status_code == 200
    assert markdown.mimetype == "text/markdown"
    assert "attachment" in markdown.headers["Content-Disposition"]
    body = markdown.get_data(as_text=True)
    assert body.startswith("# Postmortem: Checkout failing")
    assert "- [ ] Alert on checkout errors" in body

    printable = client.get(f"/console/incidents/{incident.public_id}/postmortem/print")
    html = printable.get_data(as_text=True)
    assert printable.status_code == 200
    assert "css/postmortem.css" in html and "<h1>Checkout failing</h1>" in html
    assert "Alert on checkout errors" in html and "<script" not in html


def test_the_incident_page_shows_how_many_actions_are_still_open(app, team, incident):
    client = app.test_client()
    sign_in(client, team[Role.RESPONDER])
    url = f"/console/incidents/{incident.public_id}"
    assert "No postmortem yet." in client.get(url).get_data(as_text=True)
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    for title in ("One", "Two", "Three"):
        postmortems.add_action(
            team["pm"], postmortem, title=title, owner=team["pm"], due_on=utcnow().date()
        )
    postmortems.set_status(team["pm"], postmortem.actions[0], "done")
    assert "2 follow-up actions are still open." in client.get(url).get_data(as_text=True)


def test_actions_are_added_and_tracked_to_done_in_the_console(app, team, incident):
    postmortems.start_postmortem(team["pm"], incident)
    pm = app.test_client()
    sign_in(pm, team["pm"])
    added = pm.post(
        f"/console/incidents/{incident.public_id}/postmortem/actions",
        data={
            "title": "Canary deploys for checkout",
            "owner": str(team[Role.RESPONDER].id),
            "due_on": due(5),
            "priority": "high",
            "tracker_url": "https://tracker.example/T-1",
        },
    )
    assert added.status_code == 302
    action = db.session.query(FollowUpAction).one()

    owner = app.test_client()
    sign_in(owner, team[Role.RESPONDER])
    mine = owner.get("/console/actions?owner=me").get_data(as_text=True)
    assert "Canary deploys for checkout" in mine
    done = owner.post(
        f"/console/actions/{action.id}/status",
        data={f"status{action.id}-status": "done", "next": "actions", "mine": "1"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/console/actions?owner=me"
    )
    db.session.expire_all()
    assert db.session.get(FollowUpAction, action.id).status == ActionStatus.DONE
    assert "Canary deploys" not in owner.get("/console/actions?owner=me").get_data(as_text=True)


def test_the_actions_page_lists_overdue_first_and_marks_them(app, team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    for title, days in (("Later", 9), ("Soon", 1)):
        postmortems.add_action(
            team["pm"],
            postmortem,
            title=title,
            owner=team["pm"],
            due_on=utcnow().date() + timedelta(days=days),
        )
    client = app.test_client()
    sign_in(client, team[Role.COMMS_MANAGER])
    with time_machine.travel(utcnow() + timedelta(days=3)):
        html = client.get("/console/actions").get_data(as_text=True)
    assert html.index("Soon") < html.index("Later")
    assert html.count("overdue</strong>") == 1


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("due_on", "not-a-date", "Not a valid date value."),
        ("tracker_url", "javascript:alert(1)", "http:// or https://"),
        ("title", "", "This field is required."),
    ],
)
def test_bad_action_input_is_a_form_error_not_a_500(app, team, incident, field, value, message):
    postmortems.start_postmortem(team["pm"], incident)
    pm = app.test_client()
    sign_in(pm, team["pm"])
    data = {"title": "T", "owner": str(team["pm"].id), "due_on": due(2), "priority": "low"}
    data[field] = value
    response = pm.post(f"/console/incidents/{incident.public_id}/postmortem/actions", data=data)
    assert response.status_code == 422
    assert str(escape(message)) in response.get_data(as_text=True)
    assert db.session.query(FollowUpAction).count() == 0


def test_wont_do_without_a_reason_is_refused_with_a_message(app, team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    action = postmortems.add_action(
        team["pm"], postmortem, title="T", owner=team["pm"], due_on=utcnow().date()
    )
    pm = app.test_client()
    sign_in(pm, team["pm"])
    response = pm.post(
        f"/console/actions/{action.id}/status",
        data={f"status{action.id}-status": "wont_do"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422  # asked again on the page, beside the reason field
    assert "Say why this will not be done." in html and "<details open>" in html
    db.session.expire_all()
    assert db.session.get(FollowUpAction, action.id).status == ActionStatus.OPEN


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_text_is_harmless_in_the_console_pages(app, team, incident, hostile):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.edit_postmortem(team["pm"], postmortem, internal_body=hostile, public_body=hostile)
    postmortems.add_action(
        team["pm"], postmortem, title=hostile[:300], owner=team["pm"], due_on=utcnow().date()
    )
    client = app.test_client()
    sign_in(client, team["pm"])
    for path in (
        f"/console/incidents/{incident.public_id}/postmortem",
        f"/console/incidents/{incident.public_id}/postmortem/print",
        "/console/actions",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert_harmless_html(response.get_data(as_text=True).split("<main", 1)[1])


def test_the_actions_list_offers_every_status_with_a_reason_field(app, team, incident):
    owner, action = owned_action(app, team, incident)
    html = owner.get("/console/actions?owner=me").get_data(as_text=True)
    options = re.findall(r'<option[^>]* value="([a-z_]+)"', html)
    assert options == ["open", "in_progress", "done", "wont_do"]
    assert f'<textarea id="status{action.id}-reason"' in html
    assert f'<label for="status{action.id}-reason">' in html
    someone_else = app.test_client()  # lists it too, but only its owner moves it from here
    sign_in(someone_else, team["pm"])
    listed = someone_else.get("/console/actions").get_data(as_text=True)
    assert '<th scope="row">T</th>' in listed
    assert f'id="status{action.id}-reason"' not in listed


def test_wont_do_from_the_actions_list_asks_for_the_reason_beside_the_selector(app, team, incident):
    owner, action = owned_action(app, team, incident, "Shard the queue")
    url, prefix = f"/console/actions/{action.id}/status", f"status{action.id}"
    data = {f"{prefix}-status": "wont_do", "next": "actions", "mine": "1"}

    asked = owner.post(url, data=data)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "Say why this will not be done." in html and "My follow-up actions" in html
    assert '<option selected value="wont_do">' in html  # the choice is kept
    assert f'id="{prefix}-reason-error"' in html and 'aria-invalid="true"' in html
    db.session.expire_all()
    assert db.session.get(FollowUpAction, action.id).status == ActionStatus.OPEN

    data[f"{prefix}-reason"] = "The queue is being replaced next quarter."
    done = owner.post(url, data=data)
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/console/actions?owner=me"
    )
    db.session.expire_all()
    saved = db.session.get(FollowUpAction, action.id)
    assert saved.status == ActionStatus.WONT_DO
    assert saved.status_reason == "The queue is being replaced next quarter."
    assert "Shard the queue" not in owner.get("/console/actions?owner=me").get_data(as_text=True)


def test_a_bad_status_from_the_actions_list_is_a_form_error(app, team, incident):
    owner, action = owned_action(app, team, incident)
    response = owner.post(
        f"/console/actions/{action.id}/status",
        data={f"status{action.id}-status": "burnt", "next": "actions"},
    )
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)
