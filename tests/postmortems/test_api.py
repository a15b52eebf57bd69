"""The postmortem and its actions through /api/v1, as a script would use them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.models import Role, utcnow

from ..staff import bearer


@pytest.fixture
def call(app, client, team):
    """`call(who, method, path, json=None)`: a bearer-token request in its own app context."""
    headers = {}

    def request(who, method: str, path: str, json=None, data=None):
        if who not in headers:
            headers[who] = bearer(team[who])
        with app.app_context():
            return client.open(
                "/api/v1" + path, method=method, json=json, data=data, headers=headers[who]
            )

    return request


def due(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def test_a_script_runs_the_whole_review_and_tracks_actions_to_done(call, client, incident):
    base = f"/incidents/{incident.public_id}/postmortem"
    started = call("pm", "POST", base)
    assert started.status_code == 201
    assert started.headers["Location"].endswith(base)
    assert "Customers who reported being affected: 6" in started.get_json()["internal_body"]

    version = started.get_json()["version"]
    edited = call(
        "pm", "PATCH", base, json={"public_body": "We are sorry.", "expected_version": version}
    )
    assert edited.status_code == 200, edited.get_json()
    assert call("pm", "POST", base + "/submit").status_code == 200
    digest = call(Role.INCIDENT_MANAGER, "GET", base).get_json()["content_hash"]
    approved = call(
        Role.INCIDENT_MANAGER, "POST", base + "/approve", json={"expected_hash": digest}
    )
    assert approved.get_json()["state"] == "approved"
    published = call("pm", "POST", base + "/publish", json={"notify": True})
    assert published.status_code == 200 and published.get_json()["published_at"]

    incidents = client.get("/api/v2/incidents.json").get_json()["incidents"]
    assert next(i for i in incidents if i["id"] == incident.public_id)["status"] == "postmortem"

    action = call(
        "pm",
        "POST",
        base + "/actions",
        json={
            "title": "Canary deploys",
            "owner_email": "responder@example.com",
            "due_on": due(3),
            "priority": "high",
            "tracker_url": "https://tracker.example/T-2",
        },
    )
    assert action.status_code == 201, action.get_json()
    action_id = action.get_json()["id"]
    mine = call(Role.RESPONDER, "GET", "/actions?owner=me").get_json()
    assert [a["id"] for a in mine] == [action_id]
    done = call(Role.RESPONDER, "POST", f"/actions/{action_id}/status", json={"status": "done"})
    assert done.get_json()["status"] == "done"
    assert call("pm", "GET", base).get_json()["open_actions"] == 0
    assert call("pm", "GET", "/actions").get_json() == []


def test_the_author_cannot_approve_their_own_through_the_api(call, incident):
    base = f"/incidents/{incident.public_id}/postmortem"
    call(Role.INCIDENT_MANAGER, "POST", base)
    call(Role.INCIDENT_MANAGER, "POST", base + "/submit")
    digest = call(Role.INCIDENT_MANAGER, "GET", base).get_json()["content_hash"]
    refused = call(Role.INCIDENT_MANAGER, "POST", base + "/approve", json={"expected_hash": digest})
    assert refused.status_code == 403
    stale = call(Role.ADMIN, "POST", base + "/approve", json={"expected_hash": "0" * 64})
    assert stale.status_code == 409


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "T", "owner_email": "responder@example.com", "due_on": "31/01/2030"}, "due_on"),
        (
            {"title": "T", "owner_email": "nobody@example.com", "due_on": "2030-01-31"},
            "owner_email",
        ),
        ({"title": "", "owner_email": "responder@example.com", "due_on": "2030-01-31"}, "title"),
        ({"title": "T", "owner_email": "responder@example.com", "due_on": 5}, "due_on"),
        (
            {
                "title": "T",
                "owner_email": "responder@example.com",
                "due_on": "2030-01-31",
                "tracker_url": "data:text/html,hi",
            },
            "tracker_url",
        ),
        ({"title": "T", "owner_email": "responder@example.com", "when": "soon"}, "when"),
    ],
)
def test_bad_action_bodies_are_422_naming_the_field(call, incident, body, field):
    base = f"/incidents/{incident.public_id}/postmortem"
    call("pm", "POST", base)
    response = call("pm", "POST", base + "/actions", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field


def test_requests_that_are_not_json_objects_are_400(call, incident):
    base = f"/incidents/{incident.public_id}/postmortem"
    call("pm", "POST", base)
    assert call("pm", "PATCH", base, data="not json").status_code == 400
    assert call("pm", "PATCH", base, json=["a"]).status_code == 400


def test_wont_do_without_a_reason_is_422(call, incident):
    base = f"/incidents/{incident.public_id}/postmortem"
    call("pm", "POST", base)
    body = {"title": "T", "owner_email": "responder@example.com", "due_on": due(1)}
    action_id = call("pm", "POST", base + "/actions", json=body).get_json()["id"]
    response = call(
        Role.RESPONDER, "POST", f"/actions/{action_id}/status", json={"status": "wont_do"}
    )
    assert response.status_code == 422 and response.get_json()["field"] == "reason"


def test_a_missing_postmortem_or_action_is_404(call, incident):
    assert call("pm", "GET", f"/incidents/{incident.public_id}/postmortem").status_code == 404
    assert call("pm", "POST", "/actions/999999/status", json={"status": "done"}).status_code == 404
    assert call("pm", "PATCH", "/actions/99999999999", json={"title": "x"}).status_code == 404


def test_editing_an_action_can_clear_its_tracker_link(call, incident):
    base = f"/incidents/{incident.public_id}/postmortem"
    call("pm", "POST", base)
    body = {
        "title": "T",
        "owner_email": "responder@example.com",
        "due_on": due(1),
        "tracker_url": "https://tracker.example/1",
    }
    action = call("pm", "POST", base + "/actions", json=body).get_json()
    edited = call("pm", "PATCH", f"/actions/{action['id']}", json={"tracker_url": None})
    assert edited.status_code == 200 and edited.get_json()["tracker_url"] is None
    kept = call("pm", "PATCH", f"/actions/{action['id']}", json={"title": "Renamed"}).get_json()
    assert kept["title"] == "Renamed" and kept["tracker_url"] is None
