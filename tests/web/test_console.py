"""The staff console, driven through real HTTP requests against a real database."""

from __future__ import annotations

import json

from publisher.extensions import db
from publisher.models import ComponentStatus, Incident, IncidentStatus, Role
from publisher.services import users

from ..corpus import assert_harmless_html, lines
from ..staff import PASSWORD, make_user, sign_in


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(app, client):
    make_user(Role.COMMS_MANAGER, email="cora@example.com")
    wrong = client.post("/console/login", data={"email": "cora@example.com", "password": "nope"})
    unknown = client.post(
        "/console/login", data={"email": "nobody@example.com", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 422
    # The page is the same but for the address the form echoes back.
    echoed = wrong.get_data(as_text=True).replace("cora@example.com", "nobody@example.com")
    assert echoed == unknown.get_data(as_text=True)
    assert "do not match an account" in wrong.get_data(as_text=True)


def test_the_console_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert "/console/login?next=" in response.headers["Location"]


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, client):
    user = make_user(Role.RESPONDER)
    ok = client.post(
        "/console/login?next=/console/components", data={"email": user.email, "password": PASSWORD}
    )
    assert ok.headers["Location"].endswith("/console/components")
    other = app.test_client()
    evil = other.post(
        "/console/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD}
    )
    assert evil.headers["Location"].endswith("/console/")


def test_sign_out_ends_every_session_of_that_account(app):
    user = make_user(Role.COMMS_MANAGER)
    laptop, phone = sign_in(app.test_client(), user), sign_in(app.test_client(), user)
    assert phone.get("/console/").status_code == 200
    laptop.post("/console/logout")
    assert laptop.get("/console/").status_code == 302
    assert phone.get("/console/").status_code == 302


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(app):
    user = make_user(Role.SUPPORT_AGENT)
    here, elsewhere = sign_in(app.test_client(), user), sign_in(app.test_client(), user)
    response = here.post(
        "/console/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new one!"},
    )
    assert response.status_code == 302
    assert here.get("/console/").status_code == 200
    assert elsewhere.get("/console/").status_code == 302


def test_a_wrong_current_password_is_refused_with_a_message(app):
    client = sign_in(app.test_client(), make_user(Role.SUPPORT_AGENT))
    response = client.post(
        "/console/account/password",
        data={"current_password": "not it", "new_password": "whatever123"},
    )
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_disabling_an_account_ends_its_session_at_once(app):
    admin, agent = make_user(Role.ADMIN), make_user(Role.SUPPORT_AGENT)
    client = sign_in(app.test_client(), agent)
    users.update_account(admin, agent, enabled=False)
    assert client.get("/console/").status_code == 302
    again = app.test_client().post(
        "/console/login", data={"email": agent.email, "password": PASSWORD}
    )
    assert again.status_code == 422


def test_sign_in_is_rate_limited(app):
    app.config["RATELIMIT_ENABLED"] = True
    from publisher.extensions import limiter

    limiter.enabled = True
    limiter.reset()
    try:
        client = app.test_client()
        codes = [
            client.post(
                "/console/login", data={"email": "x@example.com", "password": "y"}
            ).status_code
            for _ in range(12)
        ]
    finally:
        limiter.enabled = False
    assert codes[:10] == [422] * 10
    assert codes[-1] == 429


def test_forms_refuse_a_post_without_the_csrf_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(Role.ADMIN)
    client = app.test_client()
    response = client.post("/console/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_a_comms_manager_runs_an_incident_from_declaration_to_resolution(app, make):
    api, web = make.component("API"), make.component("Web", position=1)
    cora = make_user(Role.COMMS_MANAGER)
    client = sign_in(app.test_client(), cora)
    declared = client.post(
        "/console/incidents/new",
        data={
            "name": "Checkout failing",
            "impact": "major",
            "components": [api.id, web.id],
            "component_status": "partial_outage",
        },
    )
    assert declared.status_code == 302
    incident = db.session.query(Incident).filter_by(name="Checkout failing").one()
    public = client.get("/api/v2/incidents/unresolved.json").get_json()
    assert [i["name"] for i in public["incidents"]] == ["Checkout failing"]
    db.session.expire_all()
    assert api.status == ComponentStatus.PARTIAL_OUTAGE

    page = client.get(f"/console/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Checkout failing" in page and cora.name in page

    client.post(
        f"/console/incidents/{incident.public_id}/update",
        data={"status": "identified", "impact": "critical"},
    )
    client.post(
        f"/console/incidents/{incident.public_id}/timeline",
        data={"kind": "key_decision", "body": "Roll back release 42"},
    )
    client.post(f"/console/incidents/{incident.public_id}/resolve")
    db.session.expire_all()
    assert incident.status == IncidentStatus.RESOLVED
    assert api.status == web.status == ComponentStatus.OPERATIONAL

    exported = client.get(f"/console/incidents/{incident.public_id}/timeline.json").get_json()
    actions = [item["action"] for item in exported["timeline"]]
    assert actions[0] == "incident.declared"
    assert "incident.updated" in actions and "component.status_changed" in actions
    assert any(
        item["text"] == "Roll back release 42" and item["kind"] == "key_decision"
        for item in exported["timeline"]
    )
    markdown = client.get(f"/console/incidents/{incident.public_id}/timeline.md")
    assert "Roll back release 42" in markdown.get_data(as_text=True)
    assert "attachment" in markdown.headers["Content-Disposition"]


def test_the_roster_shows_the_incident_manager_holding_every_unassigned_role(app, make):
    im, agent = make_user(Role.INCIDENT_MANAGER), make_user(Role.SUPPORT_AGENT)
    client = sign_in(app.test_client(), im)
    client.post(
        "/console/incidents/new",
        data={"name": "Slow", "impact": "minor", "component_status": "degraded_performance"},
    )
    incident = db.session.query(Incident).filter_by(name="Slow").one()
    client.post(
        f"/console/incidents/{incident.public_id}/roster",
        data={"role": "support_lead", "user": agent.id},
    )
    client.post(
        f"/console/incidents/{incident.public_id}/roster",
        data={"role": "tech_lead", "user": agent.id, "label": "Database workstream"},
    )
    page = client.get(f"/console/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Database workstream" in page
    assert page.count("Incident manager (unassigned)") == 5
    mine = sign_in(app.test_client(), agent).get("/console/").get_data(as_text=True)
    assert "Customer support lead" in mine and "Technical lead" in mine


def test_a_responder_reads_an_incident_but_cannot_change_it(app, make):
    incident = make.incident()
    client = sign_in(app.test_client(), make_user(Role.RESPONDER))
    page = client.get(f"/console/incidents/{incident.public_id}")
    assert page.status_code == 200
    assert "can read this incident but not change it" in page.get_data(as_text=True)
    assert client.post(f"/console/incidents/{incident.public_id}/resolve").status_code == 403


def test_bad_form_input_gets_clear_messages_and_changes_nothing(app, make):
    client = sign_in(app.test_client(), make_user(Role.COMMS_MANAGER))
    empty = client.post("/console/incidents/new", data={"name": "", "impact": "severe"})
    assert empty.status_code == 422
    assert "aria-invalid" in empty.get_data(as_text=True)
    backwards = client.post(
        "/console/maintenance/new",
        data={
            "name": "Upgrade",
            "scheduled_for": "2030-01-02T10:00",
            "scheduled_until": "2030-01-02T09:00",
        },
    )
    assert backwards.status_code == 422
    assert "must end after it starts" in backwards.get_data(as_text=True)
    assert db.session.query(Incident).count() == 0


def test_unknown_ids_in_console_urls_are_404_not_500(app):
    client = sign_in(app.test_client(), make_user(Role.ADMIN))
    for url in [
        "/console/incidents/nope",
        "/console/incidents/%3Cscript%3E",
        "/console/catalogue/nope",
        "/console/incidents/x/timeline.json",
    ]:
        assert client.get(url).status_code == 404, url


def test_hostile_names_are_shown_as_text_in_the_console(app, make):
    admin = make_user(Role.ADMIN)
    client = sign_in(app.test_client(), admin)
    for n, hostile in enumerate(lines("xss.txt")):
        client.post(
            "/console/incidents/new",
            data={"name": hostile, "impact": "minor", "component_status": "operational"},
        )
        client.post("/console/catalogue", data={"name": f"{hostile} {n}", "group": 0})
    for incident in db.session.query(Incident).all():
        assert_harmless_html(
            client.get(f"/console/incidents/{incident.public_id}").get_data(as_text=True)
        )
    assert_harmless_html(client.get("/console/").get_data(as_text=True))
    assert_harmless_html(client.get("/console/catalogue").get_data(as_text=True))


def test_an_admin_manages_accounts_and_the_catalogue(app):
    admin = make_user(Role.ADMIN)
    client = sign_in(app.test_client(), admin)
    created = client.post(
        "/console/users",
        data={
            "email": "new@example.com",
            "name": "New",
            "role": "social_lead",
            "password": PASSWORD,
        },
    )
    assert created.status_code == 302
    duplicate = client.post(
        "/console/users",
        data={
            "email": "NEW@example.com",
            "name": "Again",
            "role": "social_lead",
            "password": PASSWORD,
        },
    )
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    client.post("/console/catalogue/groups", data={"name": "Core"})
    client.post("/console/catalogue", data={"name": "Search", "group": 0})
    components = client.get("/api/v2/components.json").get_json()["components"]
    assert {c["name"] for c in components} == {"Core", "Search"}


def test_an_admin_cannot_lock_themselves_out(app):
    admin = make_user(Role.ADMIN)
    client = sign_in(app.test_client(), admin)
    client.post(f"/console/users/{admin.id}", data={"role": "responder"})
    db.session.expire_all()
    assert admin.role == Role.ADMIN and admin.is_enabled


def test_a_token_is_shown_once_and_stored_only_as_a_hash(app):
    user = make_user(Role.COMMS_MANAGER)
    client = sign_in(app.test_client(), user)
    page = client.post("/console/account/tokens", data={"name": "deploy bot"})
    text = page.get_data(as_text=True)
    token = text.split("<code>")[1].split("</code>")[0]
    assert token.startswith("hrld_")
    assert token not in client.get("/console/account").get_data(as_text=True)
    from publisher.models import ApiToken

    stored = db.session.query(ApiToken).one()
    assert stored.token_hash != token and token not in json.dumps(stored.prefix * 2)


def test_a_comms_manager_changes_a_component_status_from_the_components_page(app, make):
    api = make.component("API")
    client = sign_in(app.test_client(), make_user(Role.COMMS_MANAGER))
    listed = client.get("/console/components").get_data(as_text=True)
    assert '<option value="operational" selected>Operational</option>' in listed

    path = f"/console/components/{api.public_id}/status"
    changed = client.post(path, data={"status": "partial_outage"}, follow_redirects=True)
    text = changed.get_data(as_text=True)
    assert "API is now: Partial outage." in text
    assert '<option value="partial_outage" selected>Partial outage</option>' in text
    refused = client.post(path, data={"status": "on_fire"}, follow_redirects=True)
    assert "Not a valid choice." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(api), api.id).status == ComponentStatus.PARTIAL_OUTAGE
