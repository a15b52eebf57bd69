"""The console: support intake, the triage inbox, the responder view, erasing personal data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    AuditEvent,
    FeedbackReport,
    FeedbackSource,
    IncidentFeedback,
    IncidentStatus,
    Role,
    RosterAssignment,
    RosterRole,
    TriageState,
    utcnow,
)
from publisher.services.feedback import customer_impact
from tests.corpus import assert_harmless_html, lines
from tests.staff import make_user, sign_in


def _reports():
    db.session.expire_all()
    return db.session.scalars(select(FeedbackReport).order_by(FeedbackReport.id)).all()


def _main(response) -> str:
    return response.get_data(as_text=True).split("<main", 1)[1]


def test_a_support_agent_logs_an_intake_linked_to_an_incident(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    page = client.get(f"/console/feedback/intake?incident={incident.public_id}")
    assert page.status_code == 200
    assert "Investigating Elevated errors." in page.get_data(as_text=True)  # what to tell
    response = client.post(
        "/console/feedback/intake",
        data={
            "via": "phone",
            "body": "Customer cannot pay",
            "incident": incident.public_id,
            "component": api.public_id,
            "region": "Europe",
            "customer_ref": "ACME-42",
            "ticket_url": "https://help.example.com/tickets/42",
            "email": "pat@example.com",
            "wants_updates": "y",
        },
    )
    assert response.status_code == 302
    [report] = _reports()
    assert report.source == FeedbackSource.SUPPORT and report.intake_via == "phone"
    assert report.incident_id == incident.id and report.state == TriageState.LINKED
    assert report.customer_ref == "ACME-42" and report.contact_email == "pat@example.com"
    assert customer_impact(incident.id).by_source == [("support", 1)]


def test_an_intake_keeps_the_language_the_agent_chose_for_the_customer(client, make):
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    polish = {"Accept-Language": "pl-PL,pl;q=0.9"}
    page = client.get("/console/feedback/intake", headers=polish).get_data(as_text=True)
    assert '<option selected value="pl">Polski</option>' in page  # the agent's own, at first
    assert '<option value="en">English</option>' in page
    for locale in ("pl", "en"):
        data = {"via": "phone", "body": "Cannot pay", "locale": locale}
        assert client.post("/console/feedback/intake", data=data).status_code == 302
    assert [r.locale for r in _reports()] == ["pl", "en"]


def test_the_intake_names_regions_in_the_agents_language(client, make, catalogues):
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    polish = {"Accept-Language": "pl-PL,pl;q=0.9"}
    page = client.get("/console/feedback/intake", headers=polish).get_data(as_text=True)
    assert '<option value="North America">Ameryka Północna</option>' in page
    assert '<option value="Asia Pacific">Azja i Pacyfik</option>' in page
    data = {"via": "phone", "body": "Cannot pay", "region": "North America"}
    client.post("/console/feedback/intake", data=data, headers=polish)
    [report] = _reports()
    assert report.region == "North America"  # stored as configured, shown translated
    inbox = client.get("/console/feedback", headers=polish).get_data(as_text=True)
    assert "Ameryka Północna" in inbox


def test_an_intake_without_an_incident_waits_in_the_inbox(client, make):
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    client.post("/console/feedback/intake", data={"via": "email", "body": "Emails are late"})
    [report] = _reports()
    assert report.incident_id is None and report.state == TriageState.NEW
    inbox = client.get("/console/feedback").get_data(as_text=True)
    assert "Emails are late" in inbox


def test_bad_intake_input_is_a_form_error(client, make):
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    cases = [
        {"via": "pigeon", "body": "x"},
        {"via": "ticket", "body": ""},
        {"via": "ticket", "body": "x", "ticket_url": "javascript:alert(1)"},
        {"via": "ticket", "body": "x", "ticket_url": "https://a b.example"},
        {"via": "ticket", "body": "x", "incident": "nosuch"},
        {"via": "ticket", "body": "x", "component": "nosuch"},
        {"via": "ticket", "body": "x", "email": "a@b.c\r\nBcc: x@y.z"},
        {"via": "ticket", "body": "x", "customer_ref": "r" * 201},
        {"via": "ticket", "body": "x", "locale": "xx"},
    ]
    for data in cases:
        response = client.post("/console/feedback/intake", data=data)
        assert response.status_code == 422, data
    assert _reports() == []


def test_a_responder_may_read_but_not_log_or_triage(client, make):
    sign_in(client, make_user(Role.RESPONDER))
    assert client.get("/console/feedback").status_code == 200
    assert client.get("/console/feedback/intake").status_code == 403
    assert client.post("/console/feedback/dismiss", data={"reports": [1]}).status_code == 403


def test_near_duplicates_are_grouped_and_undeclared_components_highlighted(client, make):
    api, web = make.component("API"), make.component("Web", position=1)
    make.incident(components=[web])
    for body in ("Login fails with error 500", "login fails, error 500 again", "Slow search"):
        client.post("/report", data={"component": api.public_id, "body": body})
    client.post("/report", data={"component": web.public_id, "body": "Login fails with 500"})
    reports = _reports()
    assert reports[1].group_id == reports[0].id  # similar text, same component, minutes apart
    assert reports[2].group_id is None and reports[3].group_id is None
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    inbox = client.get("/console/feedback").get_data(as_text=True)
    assert inbox.count("feedback-group--undeclared") == 2  # API has no incident, Web has one
    assert inbox.index("Slow search") < inbox.index("Login fails with 500")


def test_linking_a_group_moves_every_member_and_counts_them(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    for body in ("Checkout broken", "checkout broken for me too"):
        client.post("/report", data={"component": api.public_id, "body": body})
    lead = _reports()[0]
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    response = client.post(
        "/console/feedback/link", data={"reports": [lead.id], "incident": incident.public_id}
    )
    assert response.status_code == 302
    assert {r.state for r in _reports()} == {TriageState.LINKED}
    assert customer_impact(incident.id).total == 2
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "feedback.linked" in events


def test_dismissed_reports_leave_the_counts(client, make):
    incident = make.incident()
    client.post(f"/incidents/{incident.public_id}/affected", data={"answer": "yes"})
    [report] = _reports()
    sign_in(client, make_user(Role.SOCIAL_LEAD))
    client.post("/console/feedback/dismiss", data={"reports": [report.id]})
    assert _reports()[0].state == TriageState.DISMISSED
    assert customer_impact(incident.id).total == 0


def test_triage_refuses_nonsense(client, make):
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    for data in ({"reports": ["x"]}, {}, {"reports": [999999]}):
        response = client.post("/console/feedback/dismiss", data=data, follow_redirects=True)
        assert response.status_code == 200
    response = client.post(
        "/console/feedback/link", data={"reports": [1], "incident": "nosuch"}, follow_redirects=True
    )
    assert "Choose an incident" in response.get_data(as_text=True)


def test_the_responder_view_shows_counts_chart_quotes_and_wording(client, make):
    api, web = make.component("API"), make.component("Web", position=1)
    incident = make.incident(components=[api, web], started_at=utcnow() - timedelta(minutes=40))
    url = f"/incidents/{incident.public_id}/affected"
    client.post(url, data={"answer": "yes", "component": api.public_id, "region": "Europe"})
    client.post(url, data={"answer": "yes", "component": api.public_id, "body": "Timeouts"})
    client.post(url, data={"answer": "yes", "component": web.public_id, "region": "Asia Pacific"})
    client.post(url, data={"answer": "no"})
    sign_in(client, make_user(Role.RESPONDER))
    page = client.get(f"/console/incidents/{incident.public_id}/feedback")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "3 customers report being affected." in html
    assert "<svg" in html and 'role="img"' in html and "<title" in html
    assert html.count('class="feedback-chart__bar"') >= 1
    assert "Timeouts" in html and "Investigating Elevated errors." in html
    impact = customer_impact(incident.id)
    assert impact.by_component == [("API", 2), ("Web", 1)]
    assert dict(impact.by_region) == {"": 1, "Asia Pacific": 1, "Europe": 1}
    assert "style=" not in html.split("<main", 1)[1]


def test_only_the_incident_manager_sets_the_cadence(client, make):
    incident = make.incident()
    url = f"/console/incidents/{incident.public_id}/feedback/settings"
    comms = make_user(Role.COMMS_MANAGER)
    sign_in(client, comms)
    assert client.post(url, data={"cadence": "30"}).status_code == 403
    # Whoever holds the incident manager role on the roster may, whatever their global role.
    db.session.add(
        RosterAssignment(
            incident_id=incident.id, role=RosterRole.INCIDENT_MANAGER, user_id=comms.id
        )
    )
    db.session.commit()
    assert client.post(url, data={"cadence": "30", "show_public_count": "y"}).status_code == 302
    settings = db.session.get(IncidentFeedback, incident.id)
    db.session.refresh(settings)
    assert settings.digest_every_minutes == 30 and settings.show_public_count
    client.post(url, data={"cadence": "7"})
    db.session.refresh(settings)
    assert settings.digest_every_minutes == 30


def test_erasing_removes_personal_data_keeps_the_count_and_is_logged(client, make):
    incident = make.incident()
    client.post(
        f"/incidents/{incident.public_id}/affected",
        data={"answer": "yes", "email": "ada@example.com", "wants_updates": "y", "body": "Hi"},
    )
    [report] = _reports()
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    url = f"/console/feedback/reports/{report.id}/erase"
    assert client.post(url).status_code == 403
    client.post("/console/logout")
    sign_in(client, make_user(Role.ADMIN))
    assert client.post(url).status_code == 302
    [report] = _reports()
    assert report.contact_email is None and report.body == "" and report.erased_at
    assert customer_impact(incident.id).total == 1
    assert customer_impact(incident.id).want_updates == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "feedback.erased"))
    assert "contact_email" in event.after["fields"] and "ada@" not in str(event.after)
    assert client.post(url).status_code == 409


def test_the_incident_support_lead_may_erase_its_reports(client, make):
    incident = make.incident()
    client.post(f"/incidents/{incident.public_id}/affected", data={"answer": "yes"})
    [report] = _reports()
    agent = make_user(Role.SUPPORT_AGENT)
    db.session.add(
        RosterAssignment(incident_id=incident.id, role=RosterRole.SUPPORT_LEAD, user_id=agent.id)
    )
    db.session.commit()
    sign_in(client, agent)
    assert client.post(f"/console/feedback/reports/{report.id}/erase").status_code == 302


def test_hostile_reports_render_harmlessly_in_the_console(client, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    hostile = lines("xss.txt")[:40] + lines("unicode.txt")[:20] + lines("template.txt")[:10]
    for body in hostile:
        client.post(
            f"/incidents/{incident.public_id}/affected",
            data={"answer": "yes", "body": body, "component": api.public_id},
        )
        client.post("/report", data={"body": body})
    sign_in(client, make_user(Role.ADMIN))
    for path in (
        "/console/feedback",
        "/console/feedback?state=linked",
        f"/console/incidents/{incident.public_id}/feedback",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_harmless_html(_main(response))


def test_resolved_incidents_no_longer_take_affected_answers(client, make):
    incident = make.incident(
        updates=[(IncidentStatus.INVESTIGATING, "Looking"), (IncidentStatus.RESOLVED, "Fixed")]
    )
    response = client.post(f"/incidents/{incident.public_id}/affected", data={"answer": "yes"})
    assert response.status_code == 404
    page = client.get(f"/incidents/{incident.public_id}").get_data(as_text=True)
    assert "Are you affected?" not in page
