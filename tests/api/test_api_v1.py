"""The authenticated automation API (/api/v1): running incidents, roles and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.models import ComponentStatus, Role, utcnow
from publisher.services import tokens, users


def role_line(roster: list[dict], role: str) -> dict:
    return next(line for line in roster if line["role"] == role)


# ---------------------------------------------------------------- a whole incident


def test_a_script_runs_an_incident_from_declaration_to_resolution(login, api_component):
    im, comms = login(Role.INCIDENT_MANAGER), login(Role.COMMS_MANAGER)
    incident = im.declare(api_component)
    path = f"/incidents/{incident['id']}"
    changed = im("PATCH", path, json={"status": "identified", "impact": "critical"})
    assert changed.get_json()["status"] == "identified"
    assigned = im(
        "POST", path + "/roster", json={"role": "comms_manager", "user_email": comms.user.email}
    )
    assert assigned.status_code == 201
    note = comms(
        "POST", path + "/timeline", json={"body": "Rolled back the deploy.", "kind": "action"}
    )
    assert note.status_code == 201
    resolved = im("POST", path + "/resolve")
    assert resolved.status_code == 200
    assert resolved.get_json()["resolved_at"] is not None
    assert resolved.get_json()["components"][0]["status"] == ComponentStatus.OPERATIONAL
    items = im("GET", path + "/timeline").get_json()
    actions = [item["action"] for item in items]
    assert actions.index("incident.declared") < actions.index("roster.assigned")
    assert "Rolled back the deploy." in [item["text"] for item in items]
    assert [i for i in items if i["action"] == "incident.updated"][-1]["after"]["status"] == (
        "resolved"
    )


def test_a_declared_incident_is_described_with_its_roster_and_public_url(login, api_component):
    im = login(Role.INCIDENT_MANAGER)
    response = im(
        "POST",
        "/incidents",
        json={
            "name": "Slow logins",
            "impact": "minor",
            "components": [{"id": api_component.public_id, "status": "degraded_performance"}],
        },
    )
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/incidents/{body['id']}")
    assert body["url"] == f"http://status.test/incidents/{body['id']}"
    assert body["kind"] == "incident" and body["status"] == "investigating"
    assert body["components"] == [
        {"id": api_component.public_id, "name": "API", "status": "degraded_performance"}
    ]
    manager = role_line(body["roster"], "incident_manager")
    assert [h["user_email"] for h in manager["holders"]] == [im.user.email]
    assert role_line(body["roster"], "scribe")["held_by_incident_manager"] is True
    assert body["started_at"].endswith("+00:00")


def test_the_public_page_shows_an_incident_declared_through_the_api(login, client, api_component):
    incident = login(Role.COMMS_MANAGER).declare(api_component)
    unresolved = client.get("/api/v2/incidents/unresolved.json").get_json()
    assert incident["id"] in [i["id"] for i in unresolved["incidents"]]


def test_removing_a_role_gives_it_back_to_the_incident_manager(login, api_component):
    im, lead = login(Role.INCIDENT_MANAGER), login(Role.SOCIAL_LEAD)
    path = f"/incidents/{im.declare(api_component)['id']}/roster"
    assignment = im("POST", path, json={"role": "social_lead", "user_email": lead.user.email})
    assert role_line(im("GET", path).get_json(), "social_lead")["held_by_incident_manager"] is False
    assert im("DELETE", f"{path}/{assignment.get_json()['id']}").status_code == 204
    line = role_line(im("GET", path).get_json(), "social_lead")
    assert line["holders"] == [] and line["held_by_incident_manager"] is True


def test_the_incident_manager_assignment_cannot_be_removed(login, api_component):
    im = login(Role.INCIDENT_MANAGER)
    path = f"/incidents/{im.declare(api_component)['id']}/roster"
    manager = role_line(im("GET", path).get_json(), "incident_manager")["holders"][0]
    response = im("DELETE", f"{path}/{manager['id']}")
    assert response.status_code == 409 and response.get_json()["error"]


def test_resolving_twice_is_a_conflict(login, api_component):
    im = login(Role.INCIDENT_MANAGER)
    path = f"/incidents/{im.declare(api_component)['id']}/resolve"
    assert im("POST", path).status_code == 200
    second = im("POST", path)
    assert second.status_code == 409
    assert second.get_json() == {"error": "This incident is already resolved.", "status": 409}


def test_the_incident_list_shows_active_incidents_unless_asked_for_all(login, make, api_component):
    im = login(Role.INCIDENT_MANAGER)
    open_one, closed = im.declare(api_component), im.declare(api_component, name="Old")
    im("POST", f"/incidents/{closed['id']}/resolve")
    make.maintenance()
    active = [i["id"] for i in im("GET", "/incidents").get_json()]
    every = [i["id"] for i in im("GET", "/incidents?state=all").get_json()]
    assert active == [open_one["id"]]
    assert sorted(every) == sorted([open_one["id"], closed["id"]])
    assert im("GET", "/incidents?state=all&limit=1").get_json()[0]["id"] in every


def test_components_are_listed_and_their_status_can_be_set(login, api_component):
    comms = login(Role.COMMS_MANAGER)
    listed = comms("GET", "/components").get_json()
    assert listed[0]["id"] == api_component.public_id and listed[0]["status"] == "operational"
    path = f"/components/{api_component.public_id}"
    changed = comms("PATCH", path, json={"status": "major_outage"})
    assert changed.status_code == 200 and changed.get_json()["status"] == "major_outage"
    assert comms("GET", "/components").get_json()[0]["status"] == "major_outage"


def test_maintenance_is_scheduled_listed_and_moved_through_the_api(login, api_component):
    comms = login(Role.COMMS_MANAGER)
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    created = comms(
        "POST",
        "/maintenance",
        json={
            "name": "Database upgrade",
            "components": [api_component.public_id],
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=2)).isoformat(),
            "auto_transition": False,
        },
    )
    assert created.status_code == 201
    item = created.get_json()
    assert item["kind"] == "maintenance" and item["status"] == "scheduled"
    assert item["scheduled_for"] == start.isoformat() and item["auto_transition"] is False
    assert [m["id"] for m in comms("GET", "/maintenance").get_json()] == [item["id"]]
    moved = comms("PATCH", f"/maintenance/{item['id']}", json={"status": "in_progress"})
    assert moved.get_json()["components"][0]["status"] == "under_maintenance"
    comms("PATCH", f"/maintenance/{item['id']}", json={"status": "completed"})
    assert comms("GET", "/maintenance").get_json() == []


def test_a_maintenance_time_without_an_offset_is_refused(login, api_component):
    comms = login(Role.COMMS_MANAGER)
    response = comms(
        "POST",
        "/maintenance",
        json={
            "name": "Upgrade",
            "components": [api_component.public_id],
            "scheduled_for": "2030-01-01T10:00:00",
            "scheduled_until": "2030-01-01T12:00:00+00:00",
        },
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "scheduled_for"


# ---------------------------------------------------------------- who may do what


def test_a_responder_can_read_everything_but_change_nothing(login, make, api_component):
    im, responder = login(Role.INCIDENT_MANAGER), login(Role.RESPONDER)
    incident = im.declare(api_component)["id"]
    item = make.maintenance()
    for path in (
        "/incidents",
        f"/incidents/{incident}",
        f"/incidents/{incident}/roster",
        f"/incidents/{incident}/timeline",
        "/components",
        "/maintenance",
    ):
        assert responder("GET", path).status_code == 200, path
    writes = [
        ("POST", "/incidents", {"name": "x", "impact": "minor", "components": []}),
        ("PATCH", f"/incidents/{incident}", {"status": "identified"}),
        ("POST", f"/incidents/{incident}/resolve", None),
        ("POST", f"/incidents/{incident}/timeline", {"body": "I was here"}),
        (
            "POST",
            f"/incidents/{incident}/roster",
            {"role": "scribe", "user_email": responder.user.email},
        ),
        ("PATCH", f"/components/{api_component.public_id}", {"status": "major_outage"}),
        ("PATCH", f"/maintenance/{item.public_id}", {"status": "in_progress"}),
    ]
    for method, path, body in writes:
        response = responder(method, path, json=body)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"]


def test_a_support_agent_can_add_timeline_entries_but_not_run_the_incident(login, api_component):
    incident = login(Role.INCIDENT_MANAGER).declare(api_component)["id"]
    agent = login(Role.SUPPORT_AGENT)
    entry = agent(
        "POST",
        f"/incidents/{incident}/timeline",
        json={
            "body": "Three customers report failed logins.",
            "at": "2030-01-01T10:00:00+02:00",
        },
    )
    assert entry.status_code == 201
    assert entry.get_json()["at"] == "2030-01-01T08:00:00+00:00"
    assert entry.get_json()["kind"] == "note" and entry.get_json()["actor"] == "Support_Agent"
    assert agent("PATCH", f"/incidents/{incident}", json={"status": "identified"}).status_code == (
        403
    )


def test_a_comms_manager_can_declare_but_not_assign_roles(login, api_component):
    comms, lead = login(Role.COMMS_MANAGER), login(Role.SOCIAL_LEAD)
    incident = comms.declare(api_component, incident_manager_email=login(Role.ADMIN).user.email)
    response = comms(
        "POST",
        f"/incidents/{incident['id']}/roster",
        json={"role": "social_lead", "user_email": lead.user.email},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.INCIDENT_MANAGER])
def test_admins_and_incident_managers_can_assign_roles_in_any_incident(login, api_component, role):
    incident = login(Role.COMMS_MANAGER).declare(api_component)["id"]
    lead = login(Role.SOCIAL_LEAD)
    response = login(role)(
        "POST",
        f"/incidents/{incident}/roster",
        json={"role": "social_lead", "user_email": lead.user.email},
    )
    assert response.status_code == 201
    assert response.get_json()["user_email"] == lead.user.email


def test_the_incidents_own_incident_manager_can_assign_roles_whatever_their_global_role(
    login, api_component
):
    lead, agent = login(Role.SOCIAL_LEAD), login(Role.SUPPORT_AGENT)
    incident = login(Role.COMMS_MANAGER).declare(
        api_component, incident_manager_email=lead.user.email
    )["id"]
    path = f"/incidents/{incident}/roster"
    body = {"role": "tech_lead", "user_email": agent.user.email, "label": "Database"}
    assert agent("POST", path, json=body).status_code == 403
    assert lead("POST", path, json=body).status_code == 201
    assert role_line(lead("GET", path).get_json(), "tech_lead")["holders"][0]["label"] == (
        "Database"
    )


# ---------------------------------------------------------------- tokens


def test_requests_without_a_valid_token_get_a_401_json_answer(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer hrld_nope"}):
        response = client.get("/api/v1/incidents", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] and response.headers["WWW-Authenticate"]


def test_a_disabled_accounts_token_stops_working_at_once(login):
    admin, comms = login(Role.ADMIN), login(Role.COMMS_MANAGER)
    assert comms("GET", "/components").status_code == 200
    users.update_account(admin.user, comms.user, enabled=False)
    assert comms("GET", "/components").status_code == 401


def test_a_revoked_token_stops_working(login):
    comms = login(Role.COMMS_MANAGER)
    row, second = tokens.create_token(comms.user, "second")
    assert comms("GET", "/components", token=second).status_code == 200
    tokens.revoke_token(comms.user, row.id)
    assert comms("GET", "/components", token=second).status_code == 401
    assert comms("GET", "/components").status_code == 200


def test_the_openapi_document_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.get_json()["openapi"].startswith("3.1")
